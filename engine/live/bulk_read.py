"""The bulk read: a listings report per marketplace, a local cache, and what needs detail.

Refreshing must cost API calls in proportion to marketplaces and changed listings, not to
catalog size. So a refresh reads one GET_MERCHANT_LISTINGS_ALL_DATA report per marketplace
(a handful of calls, however many SKUs) and, for each row, looks for a listing it already
knows:

- the cached one, when the row is unchanged since it was cached;
- else a stand-in built from the values sellersync last applied there (the state store
  keeps them, so a CI runner that lost its cache still has them), when the row agrees with
  them: same price, quantity, channel, title and description, and Active.

Full detail (attributes, offers, issues; 20 SKUs a call) is fetched only where neither
exists, for listings with a sale, live or desired (the report does not show sale prices),
and for listings the desired state wants to change (a write must start from current detail).

A report can lag the latest writes by an hour or more (an inventory change showed in a
listings report "after an hour and 20 minutes":
https://github.com/amzn/selling-partner-api-docs/issues/1299), and Amazon gives no time its
data is as of. So no row is trusted for a listing sellersync wrote within REPORT_LAG before
the refresh (the state store's last-applied times say which): those get detail, and so do
such listings the report does not show at all (created since its data), so that a plan never
mistakes a report's old state for live.

The trade-off: what the report cannot show (brand, bullets, min/max or list price edited in
Seller Central) is caught only when the listing next gets detail for one of those reasons, or
by a full refresh (`full=True`), which fetches detail for every row. A stand-in knows no
status, issues or identifiers until then. The parsing and the decision are pure; the cache is
one JSON file per marketplace.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from engine.core import jsonio
from engine.core.changes import field_values
from engine.core.errors import UserError
from engine.core.fields import FIELDS, MANAGED_FIELDS, Kind
from engine.core.resource import VIEW_KEYS, Resource, address, build_resource
from engine.core.slots import constructor
from engine.live.attributes import market
from engine.live.backend import LiveListing

LISTINGS_REPORT = "GET_MERCHANT_LISTINGS_ALL_DATA"
# How far a listings report may lag the latest writes: more than the 80 minutes users have
# seen (see the module docstring), with margin.
REPORT_LAG = timedelta(hours=2)
ACTIVE = "Active"  # the report's status of a listing that is not suppressed or out of stock
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


class ReportFormatError(UserError, ValueError):
    """A report document that is not the listings report we asked for. Nothing was changed
    and Amazon's next report may be fine: a user error (exit 1, one line), not a crash."""


@dataclass(frozen=True, slots=True)
class ReportRow:
    sku: str
    asin: str | None
    price: Decimal | None
    quantity: int | None
    fulfillment_channel: str  # MFN | FBA
    status: str
    title: str
    description: str
    digest: str  # over WATCHED_COLUMNS: equal digests, unchanged listing


# How Amazon's merchant-listings reports really look (sources: amzn/selling-partner-api-models
# #3999 and #4140, German accounts: "fulfilment-channel", "Deprecated column" placeholders kept
# "to preserve the ordinals", extra "Minimum order quantity" / "Sell remainder" columns; #1199:
# the column set differs by marketplace; #5303: headers follow the report locale, Japanese for
# Japan unless preferredReportDocumentLocale says otherwise; selling-partner-api-docs #2086:
# Japanese reports in Shift_JIS with Japanese titles; models #545 / docs #3678: garbled
# Japanese when decoded as UTF-8; models #2966: CP1252 bytes in a listings report). So columns
# are found by name, through these aliases (compared after `_header_key`), and every other
# column, placeholders included, is ignored.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "item-name": ("item-name", "商品名"),
    "item-description": ("item-description", "商品の説明", "説明"),
    "seller-sku": ("seller-sku", "sku", "出品者sku"),
    "price": ("price", "価格"),
    "quantity": ("quantity", "数量"),
    "fulfillment-channel": (
        "fulfillment-channel",
        "fulfilment-channel",
        "フルフィルメント・チャネル",
        "フルフィルメント・チャンネル",
    ),
    "status": ("status", "ステータス"),
    "asin1": ("asin1", "asin-1"),
}
# Tried in order after a BOM and a declared charset: strict UTF-8 first (it rarely decodes
# anything else by accident), then Windows-31J, the Shift_JIS superset Japanese reports use.
FALLBACK_ENCODINGS = ("utf-8", "cp932")
_BOMS = (("utf-8-sig", b"\xef\xbb\xbf"), ("utf-16", b"\xff\xfe"), ("utf-16", b"\xfe\xff"))


def _header_key(name: str) -> str:
    """A header cell compared loosely: case, spaces and underscores do not matter."""
    return "-".join(name.strip().lower().replace("_", " ").split())


def _plausible(text: str) -> bool:
    """False for text a wrong legacy decoding would give: private-use or C1 control
    characters (cp932 maps its user-defined bytes to private use, so CP1252 umlauts read as
    cp932 come out there instead of failing)."""
    return not any("\ue000" <= ch <= "\uf8ff" or "\x80" <= ch <= "\x9f" for ch in text)


# Charset labels Python does not know, or knows as a narrower code page: Shift_JIS as labelled
# by Java and Windows is Windows-31J (cp932), which adds NEC and IBM characters to it.
_CHARSET_ALIASES = {"windows-31j": "cp932", "shift_jis": "cp932", "x-sjis": "cp932"}


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


def decode_report(data: bytes, charset: str | None = None, what: str = "the report") -> str:
    """Report bytes as text: by BOM, else the declared charset, else strict UTF-8, else
    cp932 (when that reads as plausible text); else a ReportFormatError naming `what`."""
    for encoding, bom in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as err:
                raise ReportFormatError(
                    f"{what} is not the {encoding} its BOM says: {err}"
                ) from None
    if charset:
        try:
            return data.decode(_CHARSET_ALIASES.get(charset.lower(), charset))
        except (UnicodeDecodeError, LookupError) as err:
            raise ReportFormatError(f"{what} is not {charset} text as declared: {err}") from None
    for encoding in FALLBACK_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _plausible(text):
            return text
    raise ReportFormatError(
        f"{what} is not UTF-8 or cp932 (Shift_JIS) text and declares no charset; "
        "run the command again, and report it if it persists"
    )


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


def _column_positions(header: list[str]) -> dict[str, int]:
    """Our column name -> its position in `header`, by alias; the first match wins."""
    by_key: dict[str, int] = {}
    for position, name in enumerate(header):
        by_key.setdefault(_header_key(name), position)
    found: dict[str, int] = {}
    for column, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if _header_key(alias) in by_key:
                found[column] = by_key[_header_key(alias)]
                break
    return found


def parse_listings_report(text: str) -> dict[str, ReportRow]:
    """GET_MERCHANT_LISTINGS_ALL_DATA (tab-separated, a header line) -> rows by SKU. Columns
    are found by header name and alias (COLUMN_ALIASES); unknown and placeholder columns
    are ignored."""
    lines = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [cell.lstrip("\ufeff") for cell in next(lines, [])]
    positions = _column_positions(header)
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise ReportFormatError(
            f"the listings report has no column(s) {', '.join(missing)} (header: "
            f"{', '.join(header) or 'empty'})"
        )
    rows: dict[str, ReportRow] = {}
    for line, cells in enumerate(lines, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line (some reports end with one)

        def cell(column: str, cells: list[str] = cells) -> str:
            position = positions.get(column)
            return cells[position].strip() if position is not None and position < len(cells) else ""

        sku = cell("seller-sku")
        if not sku:
            raise ReportFormatError(f"line {line}: no seller-sku")
        watched = [cell(c) for c in WATCHED_COLUMNS]
        channel = cell("fulfillment-channel").upper()
        rows[sku] = ReportRow(
            sku=sku,
            asin=cell("asin1") or None,
            price=_price(cell("price"), line),
            quantity=_quantity(cell("quantity"), line),
            fulfillment_channel="FBA" if channel.startswith("AMAZON_") else "MFN",
            status=cell("status"),
            title=watched[0],
            description=watched[1],
            digest=hashlib.sha256("\t".join(watched).encode("utf-8")).hexdigest()[:32],
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
        code = self.marketplace
        return {address(code, sku): e.listing for sku, e in self.entries.items()}


def stand_in(marketplace: str, row: ReportRow, applied: Mapping[str, Any]) -> LiveListing | None:
    """The listing as last applied, when the report row agrees with that on everything the
    row shows; else None (something changed there since, so only detail can tell what)."""
    if any(name not in applied for name in MANAGED_FIELDS):
        return None  # recorded by a sellersync that managed fewer fields
    if row.status != ACTIVE or any(
        seen != applied[name]
        for name, seen in (
            ("our_price", row.price),
            ("quantity", row.quantity),
            ("fulfillment_channel", row.fulfillment_channel),
            ("title", row.title),
            ("description", row.description),
        )
    ):
        return None
    mkt = market(marketplace)
    fields = {name: applied[name] for name in MANAGED_FIELDS}
    resource = Resource(
        marketplace=marketplace,
        sku=row.sku,
        currency=mkt.currency,  # Amazon takes an offer only in the marketplace's currency
        language=mkt.language,
        **fields,
    )
    return LiveListing(resource, asin=row.asin)


def known_listing(
    marketplace: str,
    row: ReportRow,
    cached: CachedListing | None,
    applied: Mapping[str, Any] | None,
    want: Resource | None,
) -> LiveListing | None:
    """The listing `row` stands for, if it can be known without detail (see the module
    docstring); None when it needs detail."""
    if cached is not None and cached.digest == row.digest:
        listing: LiveListing | None = cached.listing
    elif applied is not None:
        listing = stand_in(marketplace, row, applied)
    else:
        listing = None
    if listing is None or listing.resource.sale is not None:
        return None
    if want is not None and (
        want.sale is not None or field_values(want) != field_values(listing.resource, want)
    ):
        return None
    return listing


SnapshotSaved = Callable[[str, datetime, Path, str], None]  # marketplace, taken_at, path, sha256


class SnapshotCache:
    """`<state_dir>/snapshots/listings-<MARKETPLACE>.json`, written atomically.

    One row per listing, its columns in `SNAPSHOT_COLUMNS` order, every text (money
    included, as exact decimal strings) an index into one string table: keys repeated per
    listing made the file twice the size, and a string or Decimal per occurrence made 1M
    cached listings take 15 s and 1.4 GiB to read. `on_save` hears of every snapshot
    written (the CLI records it in the state store's snapshot index, so a plan's live
    state can be traced to the file and digest it read)."""

    def __init__(
        self,
        state_dir: Path,
        on_save: SnapshotSaved | None = None,
        preloaded: dict[str, Snapshot] | None = None,
    ) -> None:
        self.directory = state_dir / "snapshots"
        self._on_save = on_save
        # Snapshots read ahead (`read_all`), handed out once each by `load`. The mapping is
        # taken over, not copied: a snapshot handed out is dropped from it, so the caller's
        # reference does not keep a million cached listings alive through the plan.
        self._preloaded = preloaded if preloaded is not None else {}

    def path(self, marketplace: str) -> Path:
        return self.directory / f"listings-{marketplace}.json"

    def read_all(self, marketplaces: Iterable[str]) -> dict[str, Snapshot]:
        """The snapshots that can be read now, ahead of planning. One that is missing,
        corrupt or in an older format is left out: `load` meets it again when the plan asks
        for it, and says what is wrong then."""
        found: dict[str, Snapshot] = {}
        for code in marketplaces:
            try:
                snapshot = self.load(code)
            except ReportFormatError:
                continue
            if snapshot is not None:
                found[code] = snapshot
        return found

    def load(self, marketplace: str) -> Snapshot | None:
        preloaded = self._preloaded.pop(marketplace, None)
        if preloaded is not None:
            return preloaded
        path = self.path(marketplace)
        try:
            data = jsonio.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except jsonio.JSONError as err:
            raise ReportFormatError(f"{path}: corrupt snapshot ({err}); delete it") from None
        if data.get("format") != SNAPSHOT_FORMAT or data.get("columns") != list(SNAPSHOT_COLUMNS):
            # Written by an older sellersync: it is only a cache, so it counts as none (a
            # refresh rewrites it; --no-refresh says there is no snapshot to plan from).
            return None
        return Snapshot(
            marketplace=data["marketplace"],
            taken_at=datetime.fromisoformat(data["taken_at"]),
            entries=_decode_rows(data["rows"], data["strings"]),
        )

    def save(self, snapshot: Snapshot) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        strings = _StringTable()
        data: dict[str, Any] = {
            "format": SNAPSHOT_FORMAT,
            "marketplace": snapshot.marketplace,
            "taken_at": snapshot.taken_at.isoformat(),
            "columns": list(SNAPSHOT_COLUMNS),
            "rows": list(map(_row_encoder(strings), snapshot.entries.values())),
            "strings": strings.texts,
        }
        path = self.path(snapshot.marketplace)
        tmp = path.with_suffix(".json.tmp")
        content = jsonio.dumps(data).encode("utf-8")
        tmp.write_bytes(content)
        os.replace(tmp, path)
        if self._on_save is not None:
            digest = hashlib.sha256(content).hexdigest()
            self._on_save(snapshot.marketplace, snapshot.taken_at, path, digest)


SNAPSHOT_FORMAT = 2
# A listing's own columns, then its Resource's, in Resource.to_dict order. Texts are string
# table indices (None stays null), bullet_points a list of them, money columns index exact
# decimal strings (how each field is stored is its kind's snapshot cell, engine.core.fields);
# status, issues, sale and identifiers are as in LiveListing.to_dict.
_LISTING_COLUMNS = ("sku", "digest", "asin", "status", "issues")
SNAPSHOT_COLUMNS = (*_LISTING_COLUMNS, *(key for key in VIEW_KEYS if key != "sku"))
# How each Resource column is stored, besides the managed fields' kinds.
_RESOURCE_CELLS: dict[str, str] = {
    "marketplace": "text",
    "sku": "text",
    "currency": "text",
    "language": "text",
    "identifiers": "identifiers",
    **{f.name: f.kind.snapshot for f in FIELDS},
}
_KINDS = {f.name: f.kind for f in FIELDS}
# (column, cell, kind) of each Resource attribute, in the dataclass's field order: the
# positional arguments that build a Resource from a row.
_RESOURCE_COLUMNS = tuple(
    (SNAPSHOT_COLUMNS.index(f.name), _RESOURCE_CELLS[f.name], _KINDS.get(f.name))
    for f in dataclass_fields(Resource)
)


class _StringTable:
    """Each distinct text once, referred to by its index."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._index: dict[str, int] = {}

    def ref(self, text: str | None) -> int | None:
        if text is None:
            return None
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self.texts)
            self.texts.append(text)
        return index


def _row_encoder(strings: _StringTable) -> Callable[[CachedListing], list[Any]]:
    """What turns a listing into its row: each Resource column stored as its cell says."""
    ref = strings.ref

    def refs(texts: list[str]) -> list[int | None]:
        return [ref(text) for text in texts]

    by_cell: dict[str, Callable[[Any], Any]] = {"text": ref, "amount": ref, "texts": refs}
    columns = tuple(
        (name, by_cell.get(_RESOURCE_CELLS[name]))
        for name in SNAPSHOT_COLUMNS[len(_LISTING_COLUMNS) :]
    )

    def encode(entry: CachedListing) -> list[Any]:
        listing = entry.listing.to_dict()
        r = listing["resource"]
        row = [ref(r["sku"]), ref(entry.digest), ref(listing["asin"]), listing["status"]]
        row.append(listing["issues"])
        row += [r[name] if cell is None else cell(r[name]) for name, cell in columns]
        return row

    return encode


class _Amounts(dict[int | None, Decimal | None]):
    """String table index -> Decimal, made on first use (None -> None): a lookup per money
    column costs less than a function call."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__({None: None})
        self._texts = texts

    def __missing__(self, index: int) -> Decimal:
        amount = self[index] = Decimal(self._texts[index])
        return amount


# Every cached listing is decoded per plan: built through engine.core.slots, at half the cost.
_build_live_listing = constructor(LiveListing)
_build_cached_listing = constructor(CachedListing)
_DECODE_CHUNK = 1_000  # rows decoded column by column at a time (small: cache-friendly)


def _decode_rows(rows: list[list[Any]], texts: list[str]) -> dict[str, CachedListing]:
    """Rows back into listings, by SKU. Equal amounts share one Decimal (they are
    immutable), as equal texts share one string. A million rows are decoded per plan, so
    they are decoded a column at a time, each column in one `map` or comprehension (over the
    string table, mostly), and Resources are built positionally, in their dataclass's field
    order."""
    money = _Amounts(texts)
    statuses: dict[tuple[str, ...], tuple[str, ...]] = {}  # a handful of distinct ones
    entries: dict[str, CachedListing] = {}
    for start in range(0, len(rows), _DECODE_CHUNK):
        columns = list(zip(*rows[start : start + _DECODE_CHUNK], strict=True))
        skus, digests, asins, status_column, issue_column = columns[: len(_LISTING_COLUMNS)]
        resources = map(
            build_resource,
            *(
                _decode_column(columns[i], cell, kind, texts, money)
                for i, cell, kind in _RESOURCE_COLUMNS
            ),
        )
        status_tuples = list(map(tuple, status_column))
        listings = map(
            _build_live_listing,
            resources,
            map(statuses.setdefault, status_tuples, status_tuples),
            map(tuple, issue_column),
            [None if asin is None else texts[asin] for asin in asins],
        )
        cached = map(_build_cached_listing, map(texts.__getitem__, digests), listings)
        entries.update(zip(map(texts.__getitem__, skus), cached, strict=True))
    return entries


def _decode_column(
    column: tuple[Any, ...], cell: str, kind: Kind | None, texts: list[str], money: _Amounts
) -> Iterable[Any]:
    """One column's stored cells as Resource values."""
    if cell == "text":
        return map(texts.__getitem__, column)
    if cell == "amount":
        return map(money.__getitem__, column)
    if cell == "texts":
        return [tuple([texts[i] for i in indices]) for indices in column]
    if cell == "json" and kind is not None:
        decode = kind.from_json  # mostly null (no sale): no call for those
        return [None if value is None else decode(value) for value in column]
    if cell == "identifiers":
        return [tuple(sorted(pairs.items())) if pairs else () for pairs in column]
    return column  # plain
