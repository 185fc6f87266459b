"""Sandbox fixtures: Resources built directly, a frozen clock, a running sandbox, and
python-amazon-sp-api clients pointed at it (no monkeypatching of the library)."""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sp_api.api import Feeds, Inventories, ListingsItems, Reports, Sellers
from sp_api.auth import access_token_client

from engine.core.resource import Resource
from engine.core.sale import SalePrice
from engine.sandbox.account import PROCESSING_DELAY
from engine.sandbox.clock import VirtualClock
from engine.sandbox.jobs import PROCESSING_TIME, QUEUE_TIME
from engine.sandbox.runtime import Sandbox

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SELLER = "A2SANDBOXTEST"
SHARED = Path(__file__).resolve().parents[3] / "shared"
MODELS = SHARED / "spapi-models" / "models"
DE = "A1PA6795UKMFR9"
FR = "A13V1IB3VIYZZH"
US = "ATVPDKIKX0DER"
JP = "A1VC38T7YXB528"
JOB_DONE = QUEUE_TIME + PROCESSING_TIME  # a feed or report created now is finished by then
APPLIED = JOB_DONE + PROCESSING_DELAY  # and a feed's accepted messages are visible by then


def make_resource(
    marketplace: str,
    sku: str,
    price: str,
    *,
    currency: str = "EUR",
    language: str = "de",
    quantity: int | None = 10,
    fba: bool = False,
    sale: SalePrice | None = None,
    list_price: str | None = None,
) -> Resource:
    return Resource(
        marketplace=marketplace,
        sku=sku,
        product_type="HEADPHONES",
        currency=currency,
        language=language,
        fulfillment_channel="FBA" if fba else "MFN",
        our_price=Decimal(price),
        title=f"Sonora {sku}",
        brand="Sonora",
        bullet_points=("Light", "Foldable"),
        description=f"The {sku}.",
        list_price=None if list_price is None else Decimal(list_price),
        sale=sale,
        minimum_seller_allowed_price=Decimal("5.00") if currency != "JPY" else Decimal("500"),
        maximum_seller_allowed_price=Decimal("400.00") if currency != "JPY" else Decimal("60000"),
        quantity=None if fba else quantity,
        identifiers=(("ean", f"40063813{zlib.crc32(sku.encode()) % 100000:05d}"),),
    )


def demo_resources() -> list[Resource]:
    """30 DE listings (enough to page), a few FR/JP ones, one FBA, one on sale."""
    sale = SalePrice(
        Decimal("44.99"),
        datetime(2026, 11, 20, tzinfo=UTC),
        datetime(2026, 11, 30, tzinfo=UTC),
    )
    result = [
        make_resource("DE", f"HP-{i:03d}", f"{19 + i}.99", quantity=i % 7 + 1) for i in range(30)
    ]
    result[3] = make_resource("DE", "HP-003", "59.99", sale=sale, list_price="79.99")
    result[4] = make_resource("DE", "HP-004", "24.99", fba=True)
    result += [
        make_resource("FR", "HP-001", "21.99", language="fr"),
        make_resource("FR", "HP-002", "22.99", language="fr"),
        make_resource("JP", "HP-001", "2980", currency="JPY", language="ja"),
    ]
    return result


@pytest.fixture
def resources() -> list[Resource]:
    return demo_resources()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock.frozen_at(NOW)


@pytest.fixture(autouse=True)
def _clean_spapi_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The library's token cache is process-global and keyed by refresh token only, and
    SP_API_DEFAULT_MARKETPLACE would override the marketplace we pass."""
    monkeypatch.delenv("SP_API_DEFAULT_MARKETPLACE", raising=False)
    access_token_client.cache.clear()
    yield
    access_token_client.cache.clear()


@pytest.fixture
def open_sandbox(
    tmp_path: Path, resources: list[Resource], clock: VirtualClock
) -> Iterator[Callable[..., Sandbox]]:
    opened: list[Sandbox] = []

    def factory(**options: Any) -> Sandbox:
        box = Sandbox.open(tmp_path / "state", seed=(SELLER, resources), clock=clock, **options)
        box.start()
        opened.append(box)
        return box

    yield factory
    for box in opened:
        box.stop()
        box.store.close()


@pytest.fixture
def sandbox(open_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """A running sandbox with rate limits off (tests about limits turn them on)."""
    return open_sandbox(rate_limits=False)


@pytest.fixture
def listings_client(sandbox: Sandbox) -> Callable[[str], Any]:
    def make(code: str = "DE") -> Any:
        return ListingsItems(**sandbox.client_kwargs(code))

    return make


@pytest.fixture
def sellers_client(sandbox: Sandbox) -> Any:
    return Sellers(**sandbox.client_kwargs("DE"))


@pytest.fixture
def raw(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A plain HTTP client with a valid access token, for exact bodies and statuses."""
    token = httpx.post(
        sandbox.url + "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": sandbox.credentials.refresh_token,
            "client_id": sandbox.credentials.client_id,
            "client_secret": sandbox.credentials.client_secret,
        },
    ).json()["access_token"]
    with httpx.Client(base_url=sandbox.url, headers={"x-amz-access-token": token}) as client:
        yield client


@pytest.fixture
def feeds_client(sandbox: Sandbox) -> Any:
    return Feeds(**sandbox.client_kwargs("DE"))


@pytest.fixture
def reports_client(sandbox: Sandbox) -> Any:
    return Reports(**sandbox.client_kwargs("DE"))


@pytest.fixture
def inventory_client(sandbox: Sandbox) -> Any:
    return Inventories(**sandbox.client_kwargs("DE"))


def listings_feed(*messages: dict[str, Any], seller: str = SELLER) -> dict[str, Any]:
    """A JSON_LISTINGS_FEED document with messages numbered from 1."""
    return {
        "header": {"sellerId": seller, "version": "2.0", "issueLocale": "de_DE"},
        "messages": [{"messageId": i, **m} for i, m in enumerate(messages, start=1)],
    }


def required_facts(language_tag: str = "de_DE") -> dict[str, Any]:
    """The attributes besides a title and an offer that the sandbox's product type
    definitions require of a new listing (engine/sandbox/product_types/common.json)."""
    return {
        "brand": [{"value": "Sonora", "language_tag": language_tag}],
        "condition_type": [{"value": "new_new"}],
    }


def quantity_patch(sku: str, quantity: int) -> dict[str, Any]:
    return {
        "sku": sku,
        "operationType": "PATCH",
        "productType": "HEADPHONES",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
            }
        ],
    }


def submit_feed(client: Any, document: dict[str, Any] | bytes, marketplace: str = DE) -> str:
    """Upload a document as python-amazon-sp-api needs it (UTF-8 bytes, SPAPI-NOTES) and
    create a JSON_LISTINGS_FEED from it; returns the feedId."""
    content = (
        document
        if isinstance(document, bytes)
        else json.dumps(document, ensure_ascii=False).encode("utf-8")
    )
    created = client.create_feed_document(io.BytesIO(content), "application/json; charset=UTF-8")
    feed = client.create_feed(
        "JSON_LISTINGS_FEED", created.payload["feedDocumentId"], marketplaceIds=[marketplace]
    )
    return feed.payload["feedId"]


def finished_feed(sandbox: Sandbox, client: Any, feed_id: str) -> tuple[dict[str, Any], Any]:
    """Advance until the feed is processed; its getFeed payload and its parsed result."""
    sandbox.advance(JOB_DONE)
    feed = client.get_feed(feed_id).payload
    document = feed.get("resultFeedDocumentId")
    return feed, None if document is None else json.loads(client.get_feed_document(document))
