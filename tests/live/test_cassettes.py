"""Backend exchanges replayed from cassettes: no server needed, nothing secret stored.

Cassettes in `cassettes/` (top level) were recorded against the sandbox with
`pytest tests/live/test_cassettes.py --record-mode=rewrite`; by default (record mode
"none") they are replayed and the backend talks to a port nothing listens on. Requests
match on method, path, query and body, never host or port. Credentials, access tokens and
refresh tokens are filtered before anything is written; the last test scans every cassette.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.core import jsonio
from engine.live.clients import Connection
from engine.live.recording import MemoryRecorder
from engine.live.spapi import SpApiBackend
from engine.plan.diff import diff
from engine.sandbox.app import SANDBOX_CREDENTIALS
from engine.sandbox.runtime import Sandbox
from tests.live.conftest import FakeTimer
from tests.sandbox.conftest import SELLER

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
NOBODY = "http://127.0.0.1:9"  # replay: the discard port, nothing answers there
SECRET_FIELDS = ("access_token", "refresh_token")
SECRET_PATTERNS = (
    re.compile(r"Atz[ra]\|[\w.|-]+"),  # LWA refresh (Atzr|) and access (Atza|) tokens
    re.compile(re.escape(SANDBOX_CREDENTIALS.client_secret)),
    re.compile(re.escape(SANDBOX_CREDENTIALS.refresh_token)),
    re.compile(r"(?i)x-amz-access-token|authorization:"),
)


def _scrub_tokens(response: dict[str, Any]) -> dict[str, Any]:
    """LWA answers carry the access and refresh tokens: blank them before recording."""
    body = response["body"]["string"]
    if b"access_token" in body:
        data = jsonio.loads(body)
        for field in SECRET_FIELDS:
            if field in data:
                data[field] = "FILTERED"
        response["body"]["string"] = jsonio.dumps(data).encode("utf-8")
    return response


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "match_on": ["method", "path", "query", "body"],
        "filter_headers": ["authorization", "x-amz-access-token"],
        "filter_post_data_parameters": ["client_id", "client_secret", "refresh_token"],
        "before_record_response": _scrub_tokens,
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture
def cassette_backend(
    request: pytest.FixtureRequest, record_mode: str, tmp_path: Path
) -> Iterator[SpApiBackend]:
    """Replaying: a backend pointed at nobody. Recording: the demo sandbox, served."""
    box: Sandbox | None = None
    endpoint = NOBODY
    now = None
    if record_mode != "none":
        box = request.getfixturevalue("open_sandbox")(rate_limits=False)
        endpoint, now = box.url, box.clock.now
    clock = request.getfixturevalue("clock")
    backend = SpApiBackend(
        Connection(SANDBOX_CREDENTIALS.as_spapi_credentials(), endpoint=endpoint),
        SELLER,
        state_dir=tmp_path / "state",
        now=now or clock.now,
        kind="sandbox",
        timer=FakeTimer(clock),  # recording: polls wait on the sandbox's virtual clock
        recorder=MemoryRecorder(),
    )
    yield backend
    backend.close()


@pytest.mark.vcr
def test_replayed_read(cassette_backend):
    listing = cassette_backend.read_listing("DE", "HP-003")
    assert listing is not None
    assert listing.resource.sale is not None
    assert listing.resource.sale.price == Decimal("44.99")
    found, _ = cassette_backend.read_details("DE", [f"HP-{i:03d}" for i in range(25)])
    assert len(found) == 25


@pytest.mark.vcr
def test_replayed_price_write_reads_the_offer_first(cassette_backend):
    live = cassette_backend.read_listing("DE", "HP-003").resource
    want = replace(live, our_price=Decimal("64.99"))
    result = cassette_backend.write(diff({want.address: want}, {live.address: live}).changes[0])
    assert result.status == "ACCEPTED"
    operations = [c.operation for c in cassette_backend.recorder.calls]
    assert operations == ["getListingsItem", "getListingsItem", "patchListingsItem"]


@pytest.mark.vcr
def test_replayed_refresh_through_the_listings_report(cassette_backend):
    state = cassette_backend.read_listings(["DE"], refresh=True)
    assert len(state.listings) == 31
    assert state.listings['listing.DE["HP-003"]'].resource.sale is not None
    assert cassette_backend.recorder.count() == {
        "createReport": 1,
        "getReport": 7,
        "getReportDocument": 1,
        "searchListingsItems": 2,
    }


@pytest.mark.vcr
def test_replayed_feed_write(cassette_backend):
    live = cassette_backend.read_listing("DE", "HP-005").resource
    want = replace(live, quantity=77, title="Sonora HP-005 – Kopfhörer „Studio“")
    cassette_backend.bulk_threshold = 1
    (result,) = cassette_backend.write_bulk(
        diff({want.address: want}, {live.address: live}).changes
    )
    assert result.status == "ACCEPTED" and result.submission_id.endswith("#1")
    operations = cassette_backend.recorder.count()
    assert (operations["createFeed"], operations["getFeed"], operations["getFeedDocument"]) == (
        1,
        7,
        1,
    )


def test_cassettes_hold_no_secrets():
    files = sorted(CASSETTES.glob("**/*.yaml"))
    assert files, f"no cassettes in {CASSETTES}"
    for path in files:
        text = path.read_text(encoding="utf-8")
        for pattern in SECRET_PATTERNS:
            assert not pattern.search(text), f"{path.name}: matches {pattern.pattern}"
