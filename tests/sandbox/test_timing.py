"""Timing profiles: `fast` is what tests get unless they ask; `amazon` draws Amazon's delays,
the same ones for the same seed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from engine.sandbox.account import PROCESSING_DELAY
from engine.sandbox.jobs import PROCESSING_TIME, QUEUE_TIME
from engine.sandbox.timing import AMAZON, FAST, Span, Timings, profile_named
from tests.sandbox.conftest import DE, SELLER, quantity_patch

MINUTE = timedelta(minutes=1)


def quantity_body(quantity: int) -> dict:
    patch = quantity_patch("HP-002", quantity)
    return {"productType": patch["productType"], "patches": patch["patches"]}


def pending_delays(box) -> list[timedelta]:
    with box.store.read() as tx:
        return [p.visible_at - p.submitted_at for p in tx.all_pending()]


def test_tests_get_the_fast_profile_without_asking(sandbox):
    assert sandbox.timings.profile is FAST
    assert sandbox.status()["timing"] == "fast"
    assert sandbox.account.processing_delay == PROCESSING_DELAY == timedelta(seconds=30)
    assert timedelta(seconds=30) == QUEUE_TIME
    assert timedelta(seconds=60) == PROCESSING_TIME
    sandbox.account.patch_item(SELLER, "HP-002", [DE], quantity_body(7))
    assert pending_delays(sandbox) == [PROCESSING_DELAY]


def test_amazon_listing_writes_show_after_1_to_15_minutes(open_sandbox):
    box = open_sandbox(rate_limits=False, timing=AMAZON, timing_seed=7)
    for quantity in range(40):
        box.account.patch_item(SELLER, "HP-002", [DE], quantity_body(quantity))
    delays = pending_delays(box)
    assert 30 <= len(delays) <= 40  # a small share is lost (1 %), most are queued
    assert all(MINUTE <= d <= 15 * MINUTE for d in delays)
    assert len(set(delays)) > 20  # drawn, not fixed
    assert box.account.processing_delay == 15 * MINUTE  # the longest a write can take


def test_amazon_delays_are_the_same_for_the_same_seed():
    def draws(seed: int) -> list[object]:
        timings = Timings(AMAZON, seed)
        return [
            (timings.listing_visible(), timings.listing_lost(), timings.feed(), timings.report())
            for _ in range(50)
        ]

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)


def test_amazon_feed_and_report_durations_stay_in_their_ranges():
    timings = Timings(AMAZON, 11)
    feeds = [sum(timings.feed(), timedelta(0)) for _ in range(500)]
    reports = [sum(timings.report(), timedelta(0)) for _ in range(500)]
    assert all(5 * MINUTE <= f <= 45 * MINUTE for f in feeds)
    assert all(MINUTE <= r <= 10 * MINUTE for r in reports)
    assert max(feeds) - min(feeds) > 15 * MINUTE  # spread over the range, not a constant


def test_a_share_of_accepted_writes_never_shows():
    timings = Timings(replace(AMAZON, listing_lost_share=0.25), 5)
    lost = sum(timings.listing_lost() for _ in range(4000))
    assert 850 <= lost <= 1150
    assert not any(Timings(FAST, 5).listing_lost() for _ in range(1000))


def test_lost_write_is_accepted_but_never_visible(open_sandbox):
    box = open_sandbox(rate_limits=False, timing=replace(AMAZON, listing_lost_share=0.999))
    answer = box.account.patch_item(SELLER, "HP-002", [DE], quantity_body(77))
    assert answer["status"] == "ACCEPTED"
    assert pending_delays(box) == []
    box.advance(timedelta(hours=2))
    with box.store.read() as tx:
        listing = tx.listing(SELLER, "HP-002", DE)
    quantity = listing.attributes["fulfillment_availability"][0]["quantity"]
    assert quantity != 77


def test_amazon_feed_is_not_done_before_five_minutes(open_sandbox):
    box = open_sandbox(rate_limits=False, timing=AMAZON, timing_seed=2)
    feed_id = box.app.bulk.feeds.create("JSON_LISTINGS_FEED", [DE], {})
    box.advance(5 * MINUTE - timedelta(seconds=1))
    assert box.app.bulk.feeds.get(feed_id).status in ("IN_QUEUE", "IN_PROGRESS")
    box.advance(45 * MINUTE)
    assert box.app.bulk.feeds.get(feed_id).status in ("DONE", "FATAL")


def test_amazon_cancels_a_report_requested_again_too_soon(open_sandbox):
    box = open_sandbox(rate_limits=False, timing=AMAZON, timing_seed=1)
    reports = box.app.bulk.reports
    body = {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [DE]}
    first = reports.create_report(body)["reportId"]
    box.advance(2 * MINUTE)
    again = reports.create_report(body)["reportId"]
    box.advance(10 * MINUTE)  # both have finished; the first is 12 minutes old
    later = reports.create_report(body)["reportId"]
    box.advance(10 * MINUTE)
    statuses = [reports.describe(i)["processingStatus"] for i in (first, again, later)]
    assert statuses == ["DONE", "CANCELLED", "DONE"]
    assert "reportDocumentId" not in reports.describe(again)


def test_fast_never_cancels_a_repeated_report(sandbox):
    reports = sandbox.app.bulk.reports
    body = {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [DE]}
    ids = [reports.create_report(body)["reportId"] for _ in range(3)]
    sandbox.advance(QUEUE_TIME + PROCESSING_TIME)
    assert {reports.describe(i)["processingStatus"] for i in ids} == {"DONE"}


def test_profiles_by_name_and_spans_are_checked():
    assert profile_named("amazon") is AMAZON and profile_named("fast") is FAST
    with pytest.raises(ValueError, match="unknown timing profile 'slow'"):
        profile_named("slow")
    with pytest.raises(ValueError, match="low <= mode <= high"):
        Span.minutes(5, 1, 10)
