"""SpApiBackend's report and feed paths against the running sandbox, end to end.

Reports and feeds advance on the sandbox's virtual clock; the backend's fake timer moves that
clock while it waits between polls. With the default polling (waits of 2, 4, 8, 16, 32 and
64 s) a job the sandbox finishes 90 s after creation is seen DONE on the 7th poll (at 126 s),
so each report or feed costs exactly 7 getReport / getFeed calls here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pytest

from engine.core.changes import ResourceChange, field_values
from engine.core.resource import Resource
from engine.live.backend import SnapshotMissing
from engine.live.documents import TRANSFER_BACKOFF
from engine.live.spapi import SpApiBackend
from engine.plan.diff import diff
from engine.sandbox import faults
from engine.sandbox.account import PROCESSING_DELAY
from engine.sandbox.listings_feed import SANDBOX_FAULT
from engine.sandbox.runtime import Sandbox
from engine.sandbox.seed import fba_quantity
from tests.live.conftest import calls_of
from tests.live.test_bulk_read import applied_values
from tests.sandbox.conftest import DE, make_resource

POLLS = 7  # see the module docstring
REPORT = {"createReport": 1, "getReport": POLLS, "getReportDocument": 1}
EMPTY_REPORT = {"createReport": 1, "getReport": POLLS}  # CANCELLED: no data, no document
FEED = {"createFeedDocument": 1, "createFeed": 1, "getFeed": POLLS, "getFeedDocument": 1}
JAPANESE_TITLE = "ソノラ ワイヤレスヘッドホン「スタジオ」 – 折りたたみ式"


def calls_since(backend: SpApiBackend, start: int) -> Counter[tuple[str, str]]:
    """API calls made after the first `start` ones, by (marketplace, operation)."""
    return Counter((c.marketplace, c.operation) for c in calls_of(backend)[start:])


def expected(**by_market: dict[str, int]) -> Counter[tuple[str, str]]:
    return Counter({(code, op): n for code, ops in by_market.items() for op, n in ops.items() if n})


def unchanged_by_seed(sandbox: Sandbox, resources: list[Resource]) -> list[Resource]:
    """The seeded Resources that the seed did not make deliberately different."""
    different = {(d["marketplace"], d["sku"]) for d in sandbox.status()["seed_differences"]}
    return [r for r in resources if (r.marketplace, r.sku) not in different]


def change_of(want: Resource, have: Resource) -> ResourceChange:
    (change,) = diff({want.address: want}, {have.address: have}).changes
    return change


# -- reading ---------------------------------------------------------------------------------


def test_cold_refresh_reads_a_report_per_marketplace_and_detail_for_every_row(
    backend, sandbox, resources
):
    state = backend.read_listings(["DE", "FR", "JP"], refresh=True)
    # 30 DE listings and the seed's unmanaged LEGACY one are 31 rows: 2 searches of 20.
    # The seed leaves JP empty, so Amazon cancels its report and nothing needs detail.
    assert calls_since(backend, 0) == expected(
        DE=REPORT | {"searchListingsItems": 2},
        FR=REPORT | {"searchListingsItems": 1},
        JP=EMPTY_REPORT,
    )
    assert len(state.listings) == 33 and state.unreadable == {}
    for resource in unchanged_by_seed(sandbox, resources):
        assert state.listings[resource.address].resource == resource
    assert set(state.snapshots) == {"DE", "FR", "JP"}
    assert state.listings['listing.DE["HP-003"]'].resource.sale.price == Decimal("44.99")


def test_warm_refresh_details_only_changed_rows_sales_and_wanted_changes(
    backend, sandbox, resources
):
    first = backend.read_listings(["DE"], refresh=True)
    faults.out_of_band_price(sandbox.account, "DE", "HP-010", "33.33")
    faults.out_of_band_quantity(sandbox.account, "DE", "HP-012", 55)
    untouched = first.listings['listing.DE["HP-020"]'].resource
    wanted = {untouched.address: replace(untouched, quantity=99)}
    start = len(calls_of(backend))

    second = backend.read_listings(["DE"], refresh=True, wanted=wanted)

    # Detail for HP-010 and HP-012 (changed rows), HP-003 (on sale), HP-020 (to be
    # changed): one search call.
    assert calls_since(backend, start) == expected(DE=REPORT | {"searchListingsItems": 1})
    listings = second.resources()
    assert listings['listing.DE["HP-010"]'].our_price == Decimal("33.33")
    assert listings['listing.DE["HP-012"]'].quantity == 55
    assert listings.keys() == first.listings.keys()
    assert second.snapshots["DE"] > first.snapshots["DE"]


def test_unchanged_catalog_refreshes_with_the_report_and_the_sale_only(backend):
    backend.read_listings(["FR"], refresh=True)
    start = len(calls_of(backend))
    backend.read_listings(["FR"], refresh=True)
    assert calls_since(backend, start) == expected(FR=REPORT)  # FR has no sale


def as_applied(resources: list[Resource]) -> dict[str, dict[str, object]]:
    """What the state store would hold had sellersync applied `resources`."""
    return {r.address: applied_values(r) for r in resources}


def test_cold_cache_uses_the_last_applied_values_where_the_report_agrees(
    backend, sandbox, resources
):
    # As on a CI runner: no snapshot cache, but the state store remembers what was applied.
    state = backend.read_listings(["DE"], refresh=True, applied=as_applied(resources))

    # Of 31 rows, detail only for HP-003 (on sale), the seed's priced-up, restocked and
    # suppressed listings (their rows disagree) and LEGACY (never applied): one search.
    assert calls_since(backend, 0) == expected(DE=REPORT | {"searchListingsItems": 1})
    assert len(state.listings) == 31
    for resource in unchanged_by_seed(sandbox, resources):
        if resource.marketplace == "DE":
            live = state.listings[resource.address].resource
            assert field_values(live) == field_values(resource)


def test_full_refresh_fetches_every_listings_detail(make_backend, resources):
    make_backend().read_listings(["DE"], refresh=True)
    backend = make_backend(full_refresh=True)
    backend.read_listings(["DE"], refresh=True, applied=as_applied(resources))
    assert calls_since(backend, 0) == expected(DE=REPORT | {"searchListingsItems": 2})


def test_no_refresh_reads_the_cache_with_no_call(backend, sandbox):
    refreshed = backend.read_listings(["DE", "FR"], refresh=True)
    faults.out_of_band_price(sandbox.account, "DE", "HP-010", "33.33")
    start = len(calls_of(backend))
    cached = backend.read_listings(["DE", "FR"], refresh=False)
    assert calls_since(backend, start) == Counter()
    assert cached.listings == refreshed.listings  # the cache, not the live change
    assert cached.snapshots == refreshed.snapshots


def test_no_refresh_without_a_cache_is_a_clear_error(backend):
    with pytest.raises(SnapshotMissing, match=r"no cached snapshot of DE .*--refresh"):
        backend.read_listings(["DE"], refresh=False)
    assert calls_of(backend) == []


def test_fba_inventory(backend, resources):
    (fba,) = [r for r in resources if r.fulfillment_channel == "FBA"]
    assert backend.read_fba_inventory("DE") == {fba.sku: fba_quantity(fba)}
    assert backend.read_fba_inventory("FR") == {}
    assert calls_since(backend, 0) == expected(
        DE={"getInventorySummaries": 1}, FR={"getInventorySummaries": 1}
    )


def test_account_health_is_the_served_report_with_exact_numbers(backend):
    health = backend.read_account_health("DE")
    (metrics,) = health["performanceMetrics"]
    assert metrics["marketplaceId"] == DE
    cancellation = metrics["preFulfillmentCancellationRate"]
    assert cancellation["targetValue"] == Decimal("0.025")
    assert cancellation["targetCondition"] == "LESS_THAN"
    assert metrics["orderDefectRate"]["mfn"]["targetValue"] == Decimal("0.01")
    assert health["accountStatuses"] == [{"marketplaceId": DE, "status": "NORMAL"}]
    assert calls_since(backend, 0) == expected(DE=REPORT)


# -- writing ---------------------------------------------------------------------------------


def feed_changes(backend: SpApiBackend) -> list[ResourceChange]:
    """A price change on the listing with a sale, a quantity change, a change Amazon
    refuses (a USD offer on amazon.de) and a new JP listing with a Japanese title."""
    found, _ = backend.read_details("DE", ["HP-003", "HP-005", "HP-011"])
    live = {sku: listing.resource for sku, listing in found.items()}
    new = replace(
        make_resource("JP", "HP-001", "2980", currency="JPY", language="ja"),
        title=JAPANESE_TITLE,
    )
    return [
        change_of(replace(live["HP-003"], our_price=Decimal("64.99")), live["HP-003"]),
        change_of(replace(live["HP-005"], quantity=77), live["HP-005"]),
        change_of(replace(live["HP-011"], currency="USD", product_type="SPEAKERS"), live["HP-011"]),
        *diff({new.address: new}, {}).changes,
    ]


def test_write_bulk_goes_through_one_feed_per_marketplace(make_backend, sandbox):
    backend = make_backend(bulk_threshold=4)
    changes = feed_changes(backend)
    before = {sku: backend.read_listing("DE", sku).resource for sku in ("HP-005", "HP-011")}
    start = len(calls_of(backend))

    results = backend.write_bulk(changes)

    # One read of the live offer for the price change (read-merge-replace), then a feed each.
    assert calls_since(backend, start) == expected(DE=FEED | {"searchListingsItems": 1}, JP=FEED)
    assert [r.address for r in results] == [c.address for c in changes]
    assert [r.status for r in results] == ["ACCEPTED", "ACCEPTED", "INVALID", "ACCEPTED"]
    (refusal,) = results[2].issues
    assert refusal["messageId"] == 3 and refusal["sku"] == "HP-011"
    assert "Currency USD is not the currency of amazon.de" in refusal["message"]
    de_feed = results[0].submission_id.split("#")[0]
    assert [r.submission_id for r in results[:3]] == [f"{de_feed}#{i}" for i in (1, 2, 3)]
    assert results[3].submission_id.endswith("#1") and not results[3].issues

    sandbox.advance(PROCESSING_DELAY)
    priced = backend.read_listing("DE", "HP-003").resource
    assert priced.our_price == Decimal("64.99") and priced.sale.price == Decimal("44.99")
    assert backend.read_listing("DE", "HP-005").resource.quantity == 77
    assert backend.read_listing("DE", "HP-011").resource == before["HP-011"]
    created = backend.read_listing("JP", "HP-001").resource
    assert created.title == JAPANESE_TITLE  # sent as UTF-8, not mangled to Latin-1
    assert created == changes[3].after


def test_a_fatal_feed_applies_nothing_and_fails_every_change(make_backend, sandbox):
    backend = make_backend(bulk_threshold=1)
    live = backend.read_listing("DE", "HP-005").resource
    faults.set_feed_fatal(sandbox.store)

    (result,) = backend.write_bulk([change_of(replace(live, quantity=77), live)])

    assert result.status == "FAILED"
    assert [i["code"] for i in result.issues] == [SANDBOX_FAULT]
    sandbox.advance(PROCESSING_DELAY)
    assert backend.read_listing("DE", "HP-005").resource.quantity == live.quantity


def test_a_feed_that_cannot_be_created_fails_its_changes(make_backend, sandbox):
    backend = make_backend(bulk_threshold=1, attempts=2)
    live = backend.read_listing("DE", "HP-005").resource
    faults.set_server_errors(sandbox.store, 1.0, status=503, operations=["createFeedDocument"])

    (result,) = backend.write_bulk([change_of(replace(live, quantity=77), live)])

    assert result.status == "FAILED"
    assert result.issues[0]["code"] == "ServiceUnavailable"
    assert [c.operation for c in calls_of(backend)][-2:] == ["createFeedDocument"] * 2


def test_failing_document_transfers_are_retried(make_backend, sandbox, timer):
    backend = make_backend(bulk_threshold=1)
    live = backend.read_listing("DE", "HP-005").resource
    faults.set_seed(sandbox.store, 1)
    faults.set_document_errors(sandbox.store, 0.5)  # uploads and downloads, 500 or dropped

    (result,) = backend.write_bulk([change_of(replace(live, quantity=77), live)])

    assert result.status == "ACCEPTED" and result.submission_id
    assert TRANSFER_BACKOFF in timer.slept  # a transfer failed and was tried again
    sandbox.advance(PROCESSING_DELAY)
    assert backend.read_listing("DE", "HP-005").resource.quantity == 77


def test_a_feed_whose_report_cannot_be_had_leaves_its_changes_unknown(make_backend, sandbox):
    """The feed went through; only its processing report is out of reach. Every change is
    UNKNOWN (live decides), not FAILED: a blanket failure here was a false one."""
    backend = make_backend(bulk_threshold=1)
    live = {sku: backend.read_listing("DE", sku).resource for sku in ("HP-005", "HP-006")}
    changes = [change_of(replace(r, quantity=70 + i), r) for i, r in enumerate(live.values())]
    faults.set_document_errors(sandbox.store, 1, methods=["GET"])

    results = backend.write_bulk(changes)

    assert [r.status for r in results] == ["UNKNOWN", "UNKNOWN"]
    feed = results[0].submission_id.split("#")[0]
    assert [r.submission_id for r in results] == [f"{feed}#1", f"{feed}#2"]
    message = results[0].issues[0]["message"]
    assert message.startswith(f"feed {feed} was submitted, and what it did is unknown: ")
    assert f"downloading the processing report of feed {feed} failed 5 times" in message
    faults.clear(sandbox.store)
    sandbox.advance(PROCESSING_DELAY)
    assert [backend.read_listing("DE", s).resource.quantity for s in live] == [70, 71]


def test_a_feed_whose_offers_cannot_be_read_sends_the_rest(make_backend, sandbox):
    backend = make_backend(bulk_threshold=1, attempts=2)
    priced_live = backend.read_listing("DE", "HP-003").resource
    stock_live = backend.read_listing("DE", "HP-005").resource
    changes = [
        change_of(replace(priced_live, our_price=Decimal("64.99")), priced_live),
        change_of(replace(stock_live, quantity=77), stock_live),
    ]
    faults.set_throttle_storm(sandbox.store, operations=["searchListingsItems"])

    priced, stock = backend.write_bulk(changes)

    assert priced.status == "FAILED" and priced.issues[0]["code"] == "NotSent"
    assert (
        "the live offers could not be read: Amazon kept answering searchListingsItems"
        in (priced.issues[0]["message"])
    )
    assert stock.status == "ACCEPTED" and stock.submission_id.endswith("#1")
