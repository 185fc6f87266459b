"""A listings report Amazon CANCELLED (requested too often, or no data) is never read as an
empty catalogue where listings are known; report variants read as the standard report."""

from __future__ import annotations

import pytest

from engine.core.errors import UserError
from engine.live.spapi import ListingsReadIncomplete
from engine.sandbox import faults
from tests.live.conftest import calls_of
from tests.live.test_spapi_bulk import as_applied
from tests.sandbox.conftest import (  # noqa: F401  (fixture)
    open_sandbox,
)


def test_a_cancelled_report_keeps_the_snapshot_and_refuses_to_read(sandbox, backend):
    before = backend.read_listings(["DE"], refresh=True)
    assert before.listings
    snapshot_file = backend._cache.path("DE")
    kept = snapshot_file.read_bytes()
    faults.set_report_cancelled(sandbox.store)
    with pytest.raises(ListingsReadIncomplete) as caught:
        backend.read_listings(["DE"], refresh=True)
    message = str(caught.value)
    assert isinstance(caught.value, UserError) and "\n" not in message
    assert message.startswith("Amazon cancelled the GET_MERCHANT_LISTINGS_ALL_DATA report of DE")
    assert f"{len(before.listings)} in the cached snapshot" in message
    assert "the cached snapshot was kept" in message
    assert snapshot_file.read_bytes() == kept
    # the kept snapshot is still there to plan from without a refresh
    assert backend.read_listings(["DE"], refresh=False).listings == before.listings


def test_a_cancelled_report_is_refused_where_listings_were_applied(sandbox, backend):
    live = backend.read_listings(["DE"], refresh=True)
    applied = as_applied([listing.resource for listing in live.listings.values()])
    backend._cache.path("DE").unlink()  # a CI runner that lost its cache
    faults.set_report_cancelled(sandbox.store)
    with pytest.raises(ListingsReadIncomplete, match=rf"\({len(applied)} applied\)"):
        backend.read_listings(["DE"], refresh=True, applied=applied)
    assert not backend._cache.path("DE").exists()


def test_a_cancelled_report_with_nothing_known_reads_as_empty_and_says_so(sandbox, backend):
    faults.set_report_cancelled(sandbox.store)
    state = backend.read_listings(["DE"], refresh=True)
    assert state.listings == {}
    assert len(state.notes) == 1 and state.notes[0].startswith("DE: Amazon cancelled")
    assert "read as no listings" in state.notes[0]
    faults.clear(sandbox.store, "report_cancelled")
    assert backend.read_listings(["DE"], refresh=True).notes == ()


@pytest.mark.parametrize("variant", ["de_legacy", "jp_cp932"])
def test_report_variants_read_as_the_standard_report(sandbox, backend, variant):
    backend.read_listings(["DE"], refresh=True)
    first = _detail_calls(backend)
    expected = backend.read_listings(["DE"], refresh=True)  # a warm refresh, for comparison
    warm = _detail_calls(backend) - first
    faults.set_report_variant(sandbox.store, variant)
    varied = backend.read_listings(["DE"], refresh=True)
    assert varied.resources() == expected.resources()
    if variant == "de_legacy":
        # the same cells under other headers: rows match their cached digests as before
        assert _detail_calls(backend) - first - warm == warm
    faults.clear(sandbox.store, "report_variant")


def _detail_calls(backend) -> int:
    return sum(1 for c in calls_of(backend) if c.operation == "searchListingsItems")
