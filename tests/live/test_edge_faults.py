"""Issue 19, item 6: the sandbox's faults for what Amazon does besides error statuses. Each
test shows the sandbox doing it (the raw answer) and the SP-API backend coming out of it
either with the right result or with a one-line user error, never a crash."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from engine.core.errors import UserError
from engine.live.bulk_read import ReportFormatError
from engine.live.clients import SpApiError
from engine.live.documents import DocumentUnreadable
from engine.plan.diff import diff
from engine.sandbox import faults
from engine.sandbox.account import PROCESSING_DELAY
from engine.sandbox.jobs import PROCESSING_TIME, QUEUE_TIME
from tests.live.conftest import calls_of
from tests.sandbox.conftest import (  # noqa: F401  (fixture)
    DE,
    SELLER,
    feeds_client,
    listings_feed,
    quantity_patch,
    submit_feed,
)

ITEM = f"/listings/2021-08-01/items/{SELLER}/HP-002"


def _change(backend, sku: str, **values):
    live = backend.read_listing("DE", sku).resource
    (change,) = diff({live.address: replace(live, **values)}, {live.address: live}).changes
    return change


# -- the token endpoint, and tokens that stop working mid-run ---------------------------------


@pytest.mark.parametrize(
    ("error", "status"), [("server_error", 500), ("temporarily_unavailable", 503)]
)
def test_a_token_endpoint_that_is_down_is_a_user_error_not_a_credentials_one(
    sandbox, make_backend, error, status
):
    faults.set_token_endpoint_errors(sandbox.store, 1, error=error)
    answer = httpx.post(
        f"{sandbox.url}/auth/o2/token",
        data={"grant_type": "refresh_token", **_lwa_form(sandbox)},
    )
    assert (answer.status_code, answer.json()["error"]) == (status, error)

    with pytest.raises(UserError) as caught:
        make_backend().read_listing("DE", "HP-002")
    message = str(caught.value)
    assert f"HTTP {status} {error}" in message
    assert "it is unavailable, not the credentials: run the command again" in message
    assert "\n" not in message


def test_tokens_revoked_mid_run_end_in_a_refusal_saying_to_reauthorise(sandbox, make_backend):
    backend = make_backend()
    assert backend.read_listing("DE", "HP-002") is not None  # a token is cached now
    faults.invalidate_tokens(sandbox.store, "revoked", wall_now=time.time() + 1)

    with pytest.raises(UserError) as caught:
        backend.read_listing("DE", "HP-002")
    assert "is revoked, malformed or invalid" in str(caught.value)
    assert "re-authorise the app for this seller" in str(caught.value)
    refused = httpx.post(
        f"{sandbox.url}/auth/o2/token", data={"grant_type": "refresh_token", **_lwa_form(sandbox)}
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_tokens_that_expire_mid_run_are_refused_as_expired(sandbox, make_backend, raw):
    backend = make_backend()
    assert raw.get(ITEM, params={"marketplaceIds": DE}).status_code == 200
    assert backend.read_listing("DE", "HP-002") is not None  # a token is cached now
    faults.invalidate_tokens(sandbox.store, "expired", wall_now=time.time() + 1)
    answer = raw.get(ITEM, params={"marketplaceIds": DE})
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["details"] == "The access token you provided has expired."
    with pytest.raises(UserError, match="access token expired before it was used"):
        backend.read_listing("DE", "HP-002")
    faults.clear(sandbox.store, "token_invalidated")
    assert make_backend().read_listing("DE", "HP-002") is not None


def _lwa_form(sandbox) -> dict[str, str]:
    credentials = sandbox.credentials
    return {
        "refresh_token": credentials.refresh_token,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }


# -- feeds that wait for hours, and feeds Amazon cancels ---------------------------------------


@pytest.mark.parametrize("status", ["IN_QUEUE", "IN_PROGRESS"])
def test_a_feed_stuck_for_half_an_hour_is_waited_for_and_applies(sandbox, make_backend, status):
    backend = make_backend(bulk_threshold=1)
    faults.set_feed_stuck(sandbox.store, status, 0.5)
    change = _change(backend, "HP-005", quantity=77)

    (result,) = backend.write_bulk([change])

    assert result.status == "ACCEPTED"
    polls = [c for c in calls_of(backend) if c.operation == "getFeed"]
    assert len(polls) > 7  # more than an unhindered feed's seven polls
    sandbox.advance(PROCESSING_DELAY)
    assert backend.read_listing("DE", "HP-005").resource.quantity == 77


def test_a_feed_stuck_for_hours_shows_its_status_meanwhile(sandbox, feeds_client):  # noqa: F811
    faults.set_feed_stuck(sandbox.store, "IN_QUEUE", 8)
    feed_id = submit_feed(feeds_client, listings_feed(quantity_patch("HP-005", 3)))
    sandbox.advance(QUEUE_TIME + timedelta(hours=7))
    assert feeds_client.get_feed(feed_id).payload["processingStatus"] == "IN_QUEUE"
    sandbox.advance(timedelta(hours=1))
    assert feeds_client.get_feed(feed_id).payload["processingStatus"] == "IN_PROGRESS"
    sandbox.advance(PROCESSING_TIME)
    assert feeds_client.get_feed(feed_id).payload["processingStatus"] == "DONE"


def test_a_feed_amazon_cancels_fails_its_changes_and_applies_nothing(sandbox, make_backend):
    backend = make_backend(bulk_threshold=1)
    before = backend.read_listing("DE", "HP-005").resource.quantity
    faults.set_feed_cancelled(sandbox.store)

    (result,) = backend.write_bulk([_change(backend, "HP-005", quantity=77)])

    assert result.status == "FAILED"
    assert (
        "ended CANCELLED without a processing report: Amazon applied nothing"
        in (result.issues[0]["message"])
    )
    sandbox.advance(PROCESSING_DELAY)
    assert backend.read_listing("DE", "HP-005").resource.quantity == before


# -- a region down --------------------------------------------------------------------------


def test_a_region_down_answers_503_there_only_and_reads_fail_after_bounded_retries(
    sandbox, make_backend, raw
):
    faults.set_region_down(sandbox.store, ["EU"])
    down = raw.get(ITEM, params={"marketplaceIds": DE})
    assert (down.status_code, down.json()["errors"][0]["code"]) == (503, "ServiceUnavailable")
    backend = make_backend(attempts=3)
    with pytest.raises(SpApiError) as caught:
        backend.read_listing("DE", "HP-002")
    assert caught.value.status == 503 and caught.value.transient
    assert [c.operation for c in calls_of(backend)] == ["getListingsItem"] * 3
    backend.read_listing("JP", "SPK-1")  # the FE region still answers
    assert calls_of(backend)[-1].status in (200, 404)


# -- a 200 whose JSON is broken ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["truncated", "malformed"])
def test_a_broken_200_is_asked_again_and_the_read_succeeds(sandbox, make_backend, raw, mode):
    faults.set_bad_json(sandbox.store, 1, mode=mode, operations=["getListingsItem"])
    broken = raw.get(ITEM, params={"marketplaceIds": DE})
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()
    faults.set_seed(sandbox.store, 3)
    faults.set_bad_json(sandbox.store, 0.5, mode=mode, operations=["getListingsItem"])
    backend = make_backend()
    listing = backend.read_listing("DE", "HP-002")
    assert listing is not None and listing.resource.sku == "HP-002"
    statuses = [c.retries for c in calls_of(backend) if c.operation == "getListingsItem"]
    assert statuses and max(statuses) >= 1  # at least one broken answer was asked again


# -- truncated or corrupt GZIP reports ---------------------------------------------------------


@pytest.mark.parametrize("mode", ["truncated", "corrupt"])
def test_a_broken_gzip_report_is_a_one_line_user_error(open_sandbox, make_backend, mode):
    box = open_sandbox(rate_limits=False, gzip_threshold=0)
    faults.set_bad_gzip(box.store, mode)
    backend = make_backend(box=box)
    with pytest.raises(DocumentUnreadable) as caught:
        backend.read_listings(["DE"], refresh=True)
    assert isinstance(caught.value, UserError)
    assert str(caught.value).startswith("a document downloaded from Amazon is not valid GZIP")
    assert "run the command again" in str(caught.value)
    faults.clear(box.store, "bad_gzip")
    assert backend.read_listings(["DE"], refresh=True).listings


def test_a_report_that_is_not_text_is_a_user_error():
    from engine.live.bulk_read import decode_report

    with pytest.raises(ReportFormatError) as caught:
        decode_report(b"\xff\xfe\xfa not utf-8")
    assert isinstance(caught.value, UserError)


# -- writes that show late, never, or are taken back -------------------------------------------


def test_a_write_that_shows_only_hours_later(sandbox, backend):
    faults.set_write_visibility(sandbox.store, "delayed", 3)
    assert backend.write(_change(backend, "HP-005", quantity=41)).status == "ACCEPTED"
    sandbox.advance(PROCESSING_DELAY + timedelta(hours=2))
    assert backend.read_listing("DE", "HP-005").resource.quantity != 41
    sandbox.advance(timedelta(hours=1))
    assert backend.read_listing("DE", "HP-005").resource.quantity == 41


def test_a_write_that_never_shows(sandbox, backend):
    faults.set_write_visibility(sandbox.store, "never")
    before = backend.read_listing("DE", "HP-005").resource.quantity
    assert backend.write(_change(backend, "HP-005", quantity=41)).status == "ACCEPTED"
    sandbox.advance(timedelta(days=2))
    assert backend.read_listing("DE", "HP-005").resource.quantity == before


def test_a_write_taken_back_hours_later(sandbox, backend):
    faults.set_write_visibility(sandbox.store, "reverted", 6)
    live = backend.read_listing("DE", "HP-002").resource
    assert backend.write(_change(backend, "HP-002", our_price=Decimal("61.99"))).status == (
        "ACCEPTED"
    )
    sandbox.advance(PROCESSING_DELAY)
    assert backend.read_listing("DE", "HP-002").resource.our_price == Decimal("61.99")
    sandbox.advance(timedelta(hours=6))
    assert backend.read_listing("DE", "HP-002").resource.our_price == live.our_price


# -- out-of-band edits of texts, and deletions -------------------------------------------------


def test_out_of_band_text_edits_and_deletions_are_what_the_backend_reads(sandbox, backend):
    faults.out_of_band_text(sandbox.account, "DE", "HP-002", "title", "Edited by hand")
    faults.out_of_band_text(sandbox.account, "DE", "HP-002", "bullet_points", ["one", "two"])
    edited = backend.read_listing("DE", "HP-002").resource
    assert edited.title == "Edited by hand" and edited.bullet_points == ("one", "two")
    faults.out_of_band_delete(sandbox.account, "DE", "HP-002")
    assert backend.read_listing("DE", "HP-002") is None
    with pytest.raises(LookupError):
        faults.out_of_band_delete(sandbox.account, "DE", "HP-002")
    with pytest.raises(faults.FaultError):
        faults.out_of_band_text(sandbox.account, "DE", "HP-003", "colour", "red")
