"""The server helper and the HTTP quirks python-amazon-sp-api brings."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from engine.sandbox.app import SandboxServer
from engine.sandbox.runtime import Sandbox
from tests.sandbox.conftest import DE, NOW, SELLER


def test_server_binds_localhost_only(sandbox):
    assert sandbox.url.startswith("http://127.0.0.1:")
    with pytest.raises(ValueError, match=r"127\.0\.0\.1 only"):
        SandboxServer(sandbox.app, host="0.0.0.0")


def test_start_stop_and_context_manager(sandbox):
    server = SandboxServer(sandbox.app)
    with server as url:
        assert httpx.get(url + "/sellers/v1/marketplaceParticipations").status_code == 401
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/sellers/v1/marketplaceParticipations", timeout=2)


def test_host_header_and_extra_marketplace_keys_are_tolerated(sandbox, raw):
    """The library sends Host = endpoint[8:] and adds MarketplaceId/MarketplaceIds/
    marketplace_ids next to marketplaceIds; none of it may change the answer."""
    response = raw.get(
        f"/listings/2021-08-01/items/{SELLER}/HP-002",
        params={
            "marketplaceIds": [DE],
            "MarketplaceIds": "ATVPDKIKX0DER",
            "MarketplaceId": "ATVPDKIKX0DER",
            "marketplace_ids": "ATVPDKIKX0DER",
            "includedData": "summaries,offers",
        },
        headers={"Host": "27.0.0.1:1234"},
    )
    assert response.status_code == 200
    assert response.json()["summaries"][0]["marketplaceId"] == DE


def test_repeated_and_comma_separated_marketplace_ids(sandbox, raw):
    for params in (
        {"marketplaceIds": f"{DE},A13V1IB3VIYZZH"},
        [("marketplaceIds", DE), ("marketplaceIds", "A13V1IB3VIYZZH")],
    ):
        item = raw.get(f"/listings/2021-08-01/items/{SELLER}/HP-002", params=params).json()
        assert [s["marketplaceId"] for s in item["summaries"]] == [DE, "A13V1IB3VIYZZH"]


def test_sku_with_slash_and_spaces_round_trips(sandbox, raw):
    from urllib.parse import quote

    from engine.sandbox.account import PROCESSING_DELAY
    from tests.sandbox.test_listings_api import offer_body

    sku = "HP 100/BLK"
    path = f"/listings/2021-08-01/items/{SELLER}/{quote(sku, safe='')}"
    assert (
        raw.put(path, params={"marketplaceIds": DE}, json=offer_body(9)).json()["status"]
        == "ACCEPTED"
    )
    sandbox.clock.advance(PROCESSING_DELAY)
    assert raw.get(path, params={"marketplaceIds": DE}).json()["sku"] == sku


def test_reopened_sandbox_resumes_virtual_time(tmp_path, resources):
    from engine.sandbox.clock import VirtualClock

    first = Sandbox.open(tmp_path, seed=(SELLER, resources), clock=VirtualClock.frozen_at(NOW))
    first.advance(timedelta(hours=3))
    first.store.close()
    again = Sandbox.open(tmp_path)  # no seed needed: the account is already there
    assert again.clock.now() == NOW + timedelta(hours=3)
    assert again.status()["seller_id"] == SELLER
    again.store.close()


def test_open_without_seed_on_empty_state_dir_fails(tmp_path):
    with pytest.raises(LookupError, match="no sandbox account"):
        Sandbox.open(tmp_path)


def test_concurrent_writes_and_reads_do_not_collide(sandbox):
    """Threads patching and reading at once (werkzeug serves each connection in a thread):
    every call answers 200, and each SKU ends with the last quantity written for it."""
    import threading

    from engine.sandbox.account import PROCESSING_DELAY

    token = sandbox.account.issue_token(time.time())
    failures: list[int] = []

    def worker(n: int) -> None:
        sku = f"HP-{10 + n:03d}"
        with httpx.Client(base_url=sandbox.url, headers={"x-amz-access-token": token}) as c:
            for q in range(15):
                patch = {
                    "productType": "HEADPHONES",
                    "patches": [
                        {
                            "op": "merge",
                            "path": "/attributes/fulfillment_availability",
                            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": q}],
                        }
                    ],
                }
                path = f"/listings/2021-08-01/items/{SELLER}/{sku}"
                for response in (
                    c.patch(path, params={"marketplaceIds": DE}, json=patch),
                    c.get(path, params={"marketplaceIds": DE}),
                ):
                    if response.status_code != 200:
                        failures.append(response.status_code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    sandbox.advance(PROCESSING_DELAY)
    with sandbox.store.read() as tx:
        assert tx.all_pending() == []
        for n in range(8):
            listing = tx.listing(SELLER, f"HP-{10 + n:03d}", DE)
            assert listing.attributes["fulfillment_availability"][0]["quantity"] == 14
