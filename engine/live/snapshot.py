"""The bulk read: a listings report per marketplace, a local cache, and what needs detail.

Refreshing must cost API calls in proportion to marketplaces and changed listings, not to
catalog size. So a refresh reads one GET_MERCHANT_LISTINGS_ALL_DATA report per marketplace
(a handful of calls, however many SKUs), compares each row with the row cached last time, and
asks for full detail (attributes, offers, issues; 20 SKUs a call) only for:

- listings whose row changed (price, quantity, status, channel, title or description),
- listings not in the cache (first refresh, or new live),
- listings with a sale, live or desired: the report does not show sale prices,
- listings the desired state wants to change: a write must start from current detail.

What the report cannot show (brand, bullets, min/max, list price edited in Seller Central)
is caught when the listing next gets detail for any of those reasons, or by a refresh with
no cache. The parsing and the decision are pure; the cache is one JSON file per marketplace.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from engine.desired.resource import Resource
from engine.live.backend import LiveListing
from engine.plan.diff import field_values
from engine.sandbox import jsonio

LISTINGS_REPORT = "GET_MERCHANT_LISTINGS_ALL_DATA"
REQUIRED_COLUMNS = ("seller-sku", "price", "quantity", "fulfillment-channel", "status")
# The columns whose change means the listing changed (asin1: relisted under another ASIN).
WATCHED_COLUMNS = (
    "item-name",
    "item-description",
    "price",
    "quantity",
    "fulfillment-channel",
    "status",
    "asin1",
)


class ReportFormatError(ValueError):
    """A report document that is not the listings report we asked for."""


@dataclass(frozen=True, slots=True)
class ReportRow:
    sku: str
    asin: str | None
    price: Decimal | None
    quantity: int | None
    fulfillment_channel: str  # MFN | FBA
    status: str
    digest: str  # over WATCHED_COLUMNS: equal digests, unchanged listing


def decode_report(data: bytes, charset: str | None = None) -> str:
    """Report bytes as text: the declared charset, else UTF-8 (with or without BOM)."""
    try:
        return data.decode(charset or "utf-8-sig")
    except (UnicodeDecodeError, LookupError) as err:
        raise ReportFormatError(f"the report is not {charset or 'UTF-8'} text: {err}") from None


def _price(text: str, line: int) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # some locales write 19,99
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ReportFormatError(f"line {line}: price {text!r} is not an amount") from None


def _quantity(text: str, line: int) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ReportFormatError(f"line {line}: quantity {text!r} is not a whole number")
    return int(text)


def parse_listings_report(text: str) -> dict[str, ReportRow]:
    """GET_MERCHANT_LISTINGS_ALL_DATA (tab-separated, a header line) -> rows by SKU."""
    reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ReportFormatError(
            f"the listings report has no column(s) {', '.join(missing)} (header: "
            f"{', '.join(header) or 'empty'})"
        )
    rows: dict[str, ReportRow] = {}
    for line, record in enumerate(reader, start=2):
        sku = (record.get("seller-sku") or "").strip()
        if not sku:
            raise ReportFormatError(f"line {line}: no seller-sku")
        watched = "\t".join((record.get(c) or "").strip() for c in WATCHED_COLUMNS)
        channel = (record.get("fulfillment-channel") or "").strip().upper()
        rows[sku] = ReportRow(
            sku=sku,
            asin=(record.get("asin1") or "").strip() or None,
            price=_price(record.get("price") or "", line),
            quantity=_quantity(record.get("quantity") or "", line),
            fulfillment_channel="FBA" if channel.startswith("AMAZON_") else "MFN",
            status=(record.get("status") or "").strip(),
            digest=hashlib.sha256(watched.encode("utf-8")).hexdigest()[:32],
        )
    return rows


@dataclass(frozen=True, slots=True)
class CachedListing:
    digest: str
    listing: LiveListing


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One marketplace's cached listings, as of `taken_at`."""

    marketplace: str
    taken_at: datetime
    entries: Mapping[str, CachedListing]  # by SKU

    def listings(self) -> dict[str, LiveListing]:
        return {e.listing.address: e.listing for e in self.entries.values()}


def needs_detail(
    rows: Mapping[str, ReportRow],
    cached: Snapshot | None,
    wanted: Mapping[str, Resource],
) -> list[str]:
    """SKUs (in report order) that need full detail; see the module docstring. `wanted` is
    the desired state of this marketplace, by SKU."""
    result = []
    entries = cached.entries if cached is not None else {}
    for sku, row in rows.items():
        entry = entries.get(sku)
        want = wanted.get(sku)
        if (
            entry is None
            or entry.digest != row.digest
            or entry.listing.resource.sale is not None
            or (want is not None and want.sale is not None)
            or (
                want is not None
                and field_values(want) != field_values(entry.listing.resource, want)
            )
        ):
            result.append(sku)
    return result


class SnapshotCache:
    """`<state_dir>/snapshots/listings-<MARKETPLACE>.json`, written atomically."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "snapshots"

    def path(self, marketplace: str) -> Path:
        return self.directory / f"listings-{marketplace}.json"

    def load(self, marketplace: str) -> Snapshot | None:
        path = self.path(marketplace)
        try:
            data = jsonio.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except jsonio.JSONError as err:
            raise ReportFormatError(f"{path}: corrupt snapshot ({err}); delete it") from None
        return Snapshot(
            marketplace=data["marketplace"],
            taken_at=datetime.fromisoformat(data["taken_at"]),
            entries={
                sku: CachedListing(e["digest"], LiveListing.from_dict(e["listing"]))
                for sku, e in data["entries"].items()
            },
        )

    def save(self, snapshot: Snapshot) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = {
            "marketplace": snapshot.marketplace,
            "taken_at": snapshot.taken_at.isoformat(),
            "entries": {
                sku: {"digest": e.digest, "listing": e.listing.to_dict()}
                for sku, e in snapshot.entries.items()
            },
        }
        path = self.path(snapshot.marketplace)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(jsonio.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
