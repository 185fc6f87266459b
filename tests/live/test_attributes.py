"""Desired Resource -> SP-API attributes (the put and seed path) -> Resource is exact."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.core import jsonio
from engine.core.sale import SalePrice
from engine.live.attributes import (
    ListingShapeError,
    resource_attributes,
    resource_from_attributes,
)
from tests.sandbox.conftest import make_resource

SALE = SalePrice(
    Decimal("44.99"), datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
)


@pytest.mark.parametrize(
    "resource",
    [
        make_resource("DE", "HP-1", "19.99", quantity=3),
        make_resource("DE", "HP-2", "24.99", fba=True),
        make_resource("JP", "HP-3", "2980", currency="JPY", language="ja", quantity=0),
        make_resource("DE", "HP-4", "59.99", sale=SALE, list_price="79.99"),
        make_resource("BE", "HP-5", "21.00", language="fr"),
        replace(
            make_resource("JP", "HP-6", "4980", currency="JPY", language="ja"),
            title="ソノラ ヘッドホン",
            bullet_points=("軽量", "折りたたみ式"),
            description="Kopfhörer – „leicht“ ✓",
        ),
    ],
    ids=["mfn", "fba", "jpy", "sale", "fr_BE", "non-latin"],
)
def test_round_trip_is_exact(resource):
    # Through JSON as the wire carries it: numbers come back as Decimal or int.
    wire = jsonio.loads(jsonio.dumps(resource_attributes(resource)))
    back = resource_from_attributes(resource.marketplace, resource.sku, "HEADPHONES", wire)
    assert back == resource
    assert back.to_dict() == resource.to_dict()


def test_fba_quantity_is_amazons_not_ours():
    attrs = resource_attributes(make_resource("DE", "HP-2", "24.99", fba=True))
    assert attrs["fulfillment_availability"][0]["fulfillment_channel_code"] == "AMAZON_EU"
    assert resource_from_attributes("DE", "HP-2", "X", attrs).quantity is None


def test_prices_are_quantized_to_the_currency():
    attrs = jsonio.loads(jsonio.dumps(resource_attributes(make_resource("DE", "A", "19.99"))))
    attrs["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] = Decimal(
        "19.990"
    )
    back = resource_from_attributes("DE", "A", "HEADPHONES", attrs)
    assert f"{back.our_price:f}" == "19.99"


def test_other_marketplaces_offers_are_ignored():
    attrs = resource_attributes(make_resource("DE", "A", "19.99"))
    fr = resource_attributes(make_resource("FR", "A", "29.99", language="fr"))
    attrs["purchasable_offer"] = fr["purchasable_offer"] + attrs["purchasable_offer"]
    assert resource_from_attributes("DE", "A", "X", attrs).our_price == Decimal("19.99")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda a: a.pop("purchasable_offer"), "no consumer offer"),
        (lambda a: a["purchasable_offer"][0].pop("our_price"), "no our_price"),
        (
            lambda a: a["purchasable_offer"][0]["our_price"][0]["schedule"][0].update(
                value_with_tax="cheap"
            ),
            "'cheap' is not an amount",
        ),
        (
            lambda a: a["purchasable_offer"][0]["discounted_price"][0]["schedule"][0].update(
                end_at="soon"
            ),
            "'soon' is not a date-time",
        ),
    ],
)
def test_unreadable_listings_say_what_and_where(edit, message):
    attrs = resource_attributes(make_resource("DE", "HP-4", "59.99", sale=SALE))
    edit(attrs)
    with pytest.raises(ListingShapeError, match=message):
        resource_from_attributes("DE", "HP-4", "HEADPHONES", attrs)
