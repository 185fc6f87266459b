"""Resource.with_quantity and build_resource: the fast copy a plan makes of every MFN listing,
and the fast constructor of every rendered and cached listing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.core.resource import Resource, build_resource
from engine.core.sale import SalePrice

LISTING = Resource(
    marketplace="DE",
    sku="HP-100",
    product_type="HEADPHONES",
    currency="EUR",
    language="de_DE",
    fulfillment_channel="MFN",
    our_price=Decimal("49.99"),
    title="Kopfhörer",
    brand="Acme",
    bullet_points=("kabellos", "leicht"),
    description="Gute Kopfhörer",
    list_price=Decimal("59.99"),
    minimum_seller_allowed_price=Decimal("39.99"),
    maximum_seller_allowed_price=Decimal("69.99"),
    quantity=4,
    identifiers=(("ean", "4006381333931"),),
)


@given(st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)))
def test_with_quantity_is_replace(quantity: int | None) -> None:
    copy = LISTING.with_quantity(quantity)
    assert copy == replace(LISTING, quantity=quantity)
    assert copy.quantity == quantity
    assert LISTING.quantity == 4  # the original is untouched


def test_with_quantity_keeps_every_other_field() -> None:
    sale = SalePrice(
        Decimal("44.99"), datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    listing = replace(LISTING, sale=sale)
    copy = listing.with_quantity(0)
    for name in Resource.__dataclass_fields__:
        if name != "quantity":
            assert getattr(copy, name) is getattr(listing, name), name


def test_build_resource_is_the_constructor() -> None:
    values = [getattr(LISTING, name) for name in Resource.__dataclass_fields__]
    built = build_resource(*values)
    assert type(built) is Resource
    assert built == Resource(*values)
    assert hash(built) == hash(LISTING)
