"""A listings report can lag the latest writes (issue 15 item 2): a refresh does not trust
it for listings sellersync wrote within REPORT_LAG, and reads those one by one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from engine.core.resource import address
from engine.live.bulk_read import REPORT_LAG
from engine.sandbox.timing import AMAZON, FAST, Span
from tests.sandbox.conftest import DE, SELLER

LAGGING = replace(FAST, name="lagging", report_lag=Span.fixed(timedelta(hours=1)))
REPRICED = address("DE", "HP-002")
CREATED = address("DE", "NEW-7")


@pytest.fixture
def sandbox(open_sandbox):
    """The sandbox with listings reports an hour behind its writes."""
    return open_sandbox(rate_limits=False, timing=LAGGING)


def _price_patch(attributes: dict, price: str) -> dict:
    offer = dict(attributes["purchasable_offer"][0])
    offer["our_price"] = [{"schedule": [{"value_with_tax": Decimal(price)}]}]
    return {
        "productType": "HEADPHONES",
        "patches": [{"op": "replace", "path": "/attributes/purchasable_offer", "value": [offer]}],
    }


def _written_elsewhere_meanwhile(sandbox, backend) -> None:
    """HP-002 repriced and NEW-7 created (as an apply would), both processed by now."""
    account = sandbox.account
    attributes = account.get_item(SELLER, "HP-002", [DE], ["attributes"])["attributes"]
    body = {"productType": "HEADPHONES", "requirements": "LISTING", "attributes": attributes}
    patch = _price_patch(attributes, "55.55")
    assert account.patch_item(SELLER, "HP-002", [DE], patch)["status"] == "ACCEPTED"
    assert account.put_item(SELLER, "NEW-7", [DE], body)["status"] == "ACCEPTED"
    sandbox.advance(timedelta(minutes=1))


def test_a_lagging_report_is_not_trusted_for_listings_written_recently(sandbox, backend):
    backend.read_listings(["DE"], refresh=True)  # caches HP-002 at its old price
    _written_elsewhere_meanwhile(sandbox, backend)

    trusting = backend.read_listings(["DE"], refresh=True)  # the hazard, shown
    assert trusting.listings[REPRICED].resource.our_price == Decimal("21.99")
    assert CREATED not in trusting.listings

    state = backend.read_listings(["DE"], refresh=True, recent={REPRICED, CREATED})

    assert state.listings[REPRICED].resource.our_price == Decimal("55.55")
    assert CREATED in state.listings
    assert any("read one by one" in note for note in state.notes)


def test_the_allowance_covers_the_lag_users_report():
    assert AMAZON.report_lag.high < REPORT_LAG  # the sandbox's longest lag, from users' reports
