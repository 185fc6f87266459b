"""SpApiBackend: the Backend over python-amazon-sp-api, for Amazon and the sandbox alike.

Everything goes through one `Invoker` (pacing, retries, the call record) and one client per
API, marketplace and thread (engine.live.clients). Reading in bulk is the report-and-detail
strategy of engine.live.bulk_read; writing is per item (engine.live.patches) below
`bulk_threshold` changes and JSON_LISTINGS_FEED (engine.live.feed) from there on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from engine.core import jsonio
from engine.core.changes import ResourceChange
from engine.core.errors import UserError
from engine.core.identity import BackendIdentity
from engine.core.orders import Order, iso
from engine.core.progress import NO_PROGRESS, Progress
from engine.core.resource import Resource, address, address_key
from engine.core.spapi_limits import GET_ORDER_2026, PRODUCT_DATA_PATCH, updates_product_data
from engine.live import documents
from engine.live.attributes import OFFER, ListingShapeError, market, resource_from_attributes
from engine.live.backend import LiveListing, LiveState, SnapshotMissing, WriteResult
from engine.live.bulk_read import (
    LISTINGS_REPORT,
    REPORT_LAG,
    CachedListing,
    ReportRow,
    Snapshot,
    SnapshotCache,
    SnapshotSaved,
    charset_of,
    decode_report,
    known_listing,
    parse_listings_report,
)
from engine.live.clients import (
    DEFINITIONS,
    FEEDS,
    INVENTORIES,
    LISTINGS,
    ORDERS,
    REPORTS,
    ClientPool,
    Connection,
    SpApiError,
    shared_ssl_context,
)
from engine.live.definitions import (
    REQUIREMENTS,
    CachedDefinition,
    DefinitionCache,
    DefinitionError,
    parse_schema,
)
from engine.live.feed import FEED_TYPE, build_documents, feed_message, results_from_report
from engine.live.invoke import AmbiguousFailure, Invoker
from engine.live.orders import INCLUDED_DATA, MAX_ORDERS_MARKETPLACES, parse_order
from engine.live.patches import (
    listing_patches,
    needs_offer,
    put_body,
    write_kind,
)
from engine.live.recording import CallRecorder, MemoryRecorder
from engine.live.throttle import AppLimiter, SystemTimer, Timer, TokenBuckets

DETAIL = "summaries,attributes,issues,offers,fulfillmentAvailability"
DETAIL_BATCH = 20  # searchListingsItems takes at most 20 identifiers
# Measured with Amazon's timings (the sandbox's `amazon` profile: feeds 5-45 min, listing
# writes visible after 1-15 min; engine/sandbox/timing.py cites the sources): a feed is live
# sooner than per-item writes at the published limits from about 5,880 changes, the median
# of seeds 1-3 (5,880, 6,515, 4,374): `.venv/bin/python bench/feed_crossover.py --timing
# amazon --sizes 1600,3200,6400,9600 --seeds 1,2,3`. (With the `fast` profile's 90-second
# feeds it was 660-680.)
DEFAULT_BULK_THRESHOLD = 5_880
HEALTH_REPORT = "GET_V2_SELLER_PERFORMANCE_REPORT"
ANSWER_LOST = "AnswerLost"  # the issue code of an UNKNOWN write result


def listing_from_item(marketplace: str, item: Mapping[str, Any]) -> LiveListing:
    """A Listings Items `Item` (with summaries and attributes) as a LiveListing."""
    mid = market(marketplace).marketplace_id
    summary = next((s for s in item.get("summaries") or () if s.get("marketplaceId") == mid), {})
    resource = resource_from_attributes(
        marketplace,
        str(item["sku"]),
        str(summary.get("productType", "")),
        item.get("attributes") or {},
    )
    return LiveListing(
        resource,
        tuple(summary.get("status") or ()),
        tuple(item.get("issues") or ()),
        summary.get("asin"),
    )


def _batches(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ListingsReadIncomplete(UserError):
    """A refresh that could not read a marketplace's listings completely (its report was
    cancelled where listings are known): nothing may be planned from it, and the cached
    snapshot is left as it was."""


class SpApiBackend:
    def __init__(
        self,
        connection: Connection,
        seller_id: str,
        *,
        state_dir: Path,
        now: Callable[[], datetime],
        kind: str = "spapi",
        timer: Timer | None = None,
        recorder: CallRecorder | None = None,
        bulk_threshold: int = DEFAULT_BULK_THRESHOLD,
        polling: documents.Polling = documents.DEFAULT_POLLING,
        invoker: Invoker | None = None,
        full_refresh: bool = False,
        on_snapshot: SnapshotSaved | None = None,
        preloaded: dict[str, Snapshot] | None = None,
        progress: Progress = NO_PROGRESS,
        app_limiter: AppLimiter | None = None,
    ) -> None:
        self.identity = BackendIdentity(kind, seller_id, connection.endpoint)
        self.seller_id = seller_id
        self.bulk_threshold = bulk_threshold
        # Detail for every row on refresh: catches out-of-band edits the report cannot show.
        self.full_refresh = full_refresh
        # Where a refresh and an orders read report how far they are (engine.core.progress).
        self.progress = progress
        self.recorder = recorder or MemoryRecorder()
        self._now = now
        self._timer = timer or SystemTimer()
        self._polling = polling
        self._pool = ClientPool(connection)
        self._timeout = connection.timeout
        self._http_client: httpx.Client | None = None
        self._http_lock = threading.Lock()
        # `preloaded`: cached snapshots already read (see engine.flows.plan.load_for_plan).
        self._cache = SnapshotCache(state_dir, on_snapshot, preloaded)
        self._notes: list[str] = []  # what the current read_listings has to say (see LiveState)
        self._definitions = DefinitionCache(state_dir)
        # `app_limiter`: the application-wide quota, after the seller's own buckets.
        self.invoker = invoker or Invoker(
            TokenBuckets(self._timer), self.recorder, self._timer, now, app_limiter=app_limiter
        )

    def close(self) -> None:
        self._pool.close()
        with self._http_lock:
            client, self._http_client = self._http_client, None
        if client is not None:
            client.close()

    @property
    def _http(self) -> httpx.Client:
        """The client for presigned report and feed URLs, made on first use: loading the CA
        bundle takes 20-45 ms, and a plan from the cached snapshot (`--no-refresh`)
        downloads nothing (bench/plan_bench.py)."""
        with self._http_lock:
            if self._http_client is None:
                self._http_client = httpx.Client(timeout=self._timeout, verify=shared_ssl_context())
            return self._http_client

    def operation(self, api: type, marketplace: str) -> documents.Operation:
        """A paced, retried, recorded call to `api` (a strict client class from
        engine.live.clients) for `marketplace`: what every SP-API request goes through."""
        return documents.Operation(
            self.invoker, self._pool.get(api, marketplace), marketplace, market(marketplace).region
        )

    # -- reading ----------------------------------------------------------------------------
    def read_listing(self, marketplace: str, sku: str) -> LiveListing | None:
        mid = market(marketplace).marketplace_id
        try:
            item = self.operation(LISTINGS, marketplace)(
                "getListingsItem",
                lambda c: c.get_listings_item(
                    self.seller_id, sku, marketplaceIds=[mid], includedData=DETAIL
                ),
            ).payload
        except SpApiError as err:
            if err.status == 404:
                return None
            raise
        return listing_from_item(marketplace, item)

    def _search_items(
        self,
        marketplace: str,
        skus: Sequence[str],
        included: str,
        progress: Progress = NO_PROGRESS,
    ) -> list[dict[str, Any]]:
        """Items for `skus`, 20 a call (searchListingsItems by SKU identifiers: no paging,
        so no 1000-result ceiling); `progress` advances by each batch's SKUs."""
        mid = market(marketplace).marketplace_id
        op = self.operation(LISTINGS, marketplace)
        items: list[dict[str, Any]] = []
        for batch in _batches(list(skus), DETAIL_BATCH):
            items.extend(
                op(
                    "searchListingsItems",
                    lambda c, batch=batch: c.search_listings_items(
                        self.seller_id,
                        marketplaceIds=[mid],
                        identifiers=",".join(batch),
                        identifiersType="SKU",
                        includedData=included,
                        pageSize=DETAIL_BATCH,
                    ),
                ).payload.get("items", [])
            )
            progress.advance(len(batch))
        return items

    def read_details(
        self, marketplace: str, skus: Sequence[str]
    ) -> tuple[dict[str, LiveListing], dict[str, str]]:
        """Full detail for `skus`: listings by SKU and, by address, why a listing could not
        be read as a Resource."""
        return self._details(marketplace, skus, NO_PROGRESS)

    def _details(
        self, marketplace: str, skus: Sequence[str], progress: Progress
    ) -> tuple[dict[str, LiveListing], dict[str, str]]:
        found: dict[str, LiveListing] = {}
        unreadable: dict[str, str] = {}
        for item in self._search_items(marketplace, skus, DETAIL, progress):
            try:
                listing = listing_from_item(marketplace, item)
            except ListingShapeError as err:
                unreadable[address(marketplace, str(item.get("sku")))] = str(err)
                continue
            found[listing.resource.sku] = listing
        return found, unreadable

    def read_listings(
        self,
        marketplaces: Sequence[str],
        *,
        refresh: bool,
        wanted: Mapping[str, Resource] | None = None,
        applied: Mapping[str, Mapping[str, Any]] | None = None,
        recent: Collection[str] = (),
    ) -> LiveState:
        listings: dict[str, LiveListing] = {}
        snapshots: dict[str, datetime] = {}
        unreadable: dict[str, str] = {}
        self._notes = []
        for code in marketplaces:
            if refresh:
                want = {r.sku: r for r in (wanted or {}).values() if r.marketplace == code}
                written = {address_key(a)[1] for a in recent if address_key(a)[0] == code}
                snapshot, bad = self._refresh(code, want, applied or {}, written)
                unreadable.update(bad)
            else:
                cached = self._cache.load(code)
                if cached is None:
                    raise SnapshotMissing(
                        f"no cached snapshot of {code} in {self._cache.path(code)}; "
                        "read live state with --refresh first"
                    )
                snapshot = cached
            listings.update(snapshot.listings())
            snapshots[code] = snapshot.taken_at
        return LiveState(listings, self._now(), snapshots, unreadable, tuple(self._notes))

    def _refresh(
        self,
        marketplace: str,
        wanted: Mapping[str, Resource],
        applied: Mapping[str, Mapping[str, Any]],
        recent: Collection[str] = (),
    ) -> tuple[Snapshot, dict[str, str]]:
        """One marketplace's snapshot from its listings report, with detail where needed;
        `recent`: SKUs sellersync wrote within REPORT_LAG, whose rows are not trusted (the
        report may predate the write) and which are read even when the report lacks them."""
        mid = market(marketplace).marketplace_id
        self.progress.stage(f"{marketplace}: listings report")
        try:
            document = documents.fetch_report_document(
                self.operation(REPORTS, marketplace),
                self._http,
                LISTINGS_REPORT,
                mid,
                self._timer,
                self._polling,
            )
        except documents.ReportCancelled as cancelled:
            rows = self._cancelled_means_empty(cancelled, marketplace, applied)
        else:
            text = decode_report(
                document.data,
                charset_of(document.content_type),
                f"the {LISTINGS_REPORT} report of {marketplace}",
            )
            rows = parse_listings_report(text) if text.strip() else {}
        taken_at = self._now()
        known: dict[str, LiveListing] = {}
        if not self.full_refresh:
            cached = self._cache.load(marketplace)
            old = cached.entries if cached is not None else {}
            for sku, row in rows.items():
                if sku in recent:
                    continue
                listing = known_listing(
                    marketplace,
                    row,
                    old.get(sku),
                    applied.get(address(marketplace, sku)),
                    wanted.get(sku),
                )
                if listing is not None:
                    known[sku] = listing
        unlisted = sorted(s for s in recent if s not in rows)
        missing = [*(s for s in rows if s not in known), *unlisted]
        self.progress.stage(f"{marketplace}: listing detail", len(missing))
        fresh, unreadable = self._details(marketplace, missing, self.progress)
        known.update(fresh)
        entries = {
            sku: CachedListing(row.digest, known[sku]) for sku, row in rows.items() if sku in known
        }
        # Written since the report's data: no row to cache a digest of, so none is kept.
        entries.update({sku: CachedListing("", fresh[sku]) for sku in unlisted if sku in fresh})
        if recent:
            self._notes.append(
                f"{marketplace}: {len(recent)} listing(s) written within the last "
                f"{REPORT_LAG.total_seconds() / 3600:g} h read one by one, not from the listings "
                "report (a report can lag the latest writes)"
            )
        snapshot = Snapshot(marketplace, taken_at, entries)
        self._cache.save(snapshot)
        return snapshot, unreadable

    def _cancelled_means_empty(
        self,
        cancelled: documents.ReportCancelled,
        marketplace: str,
        applied: Mapping[str, Mapping[str, Any]],
    ) -> dict[str, ReportRow]:
        """No rows, when nothing says `marketplace` has listings: Amazon cancels the report of
        a marketplace without listings. Where the cached snapshot or the values sellersync
        applied show listings, the cancellation is more likely throttling (Amazon cancels
        reports requested too often), and reading it as empty would plan to recreate every
        listing and overwrite the snapshot: refused, with the snapshot left as it was."""
        cached = self._cache.load(marketplace)
        in_cache = len(cached.entries) if cached is not None else 0
        in_applied = sum(1 for a in applied if address_key(a)[0] == marketplace)
        if in_cache or in_applied:
            where = f"{in_cache} in the cached snapshot" if in_cache else f"{in_applied} applied"
            raise ListingsReadIncomplete(
                f"{cancelled}; {marketplace} has listings ({where}), so this is not an empty "
                "catalogue: the cached snapshot was kept; wait 15 minutes and run the command "
                "again, or plan from the snapshot with --no-refresh"
            )
        self._notes.append(
            f"{marketplace}: Amazon cancelled the listings report and no listings are known "
            "there (no cached snapshot, nothing applied): read as no listings"
        )
        return {}

    def now(self) -> datetime:
        """The backend's current time (the sandbox's virtual clock when serving it)."""
        return self._now()

    @property
    def timer(self) -> Timer:
        """What the backend waits with: on the embedded sandbox, waiting moves its clock on,
        so an apply's verification polls take no real time there."""
        return self._timer

    def read_orders(
        self,
        marketplace: str,
        *,
        updated_after: datetime,
        updated_before: datetime | None = None,
        with_items: bool = True,
    ) -> list[Order]:
        """Orders last updated in [updated_after, updated_before] (searchOrders of Orders
        2026-01-01 by lastUpdatedAfter, following nextToken), each with its items unless
        `with_items` is False (they come inline: no call per order)."""
        return self.read_orders_of(
            (marketplace,),
            updated_after=updated_after,
            updated_before=updated_before,
            with_items=with_items,
        )

    def read_orders_of(
        self,
        marketplaces: Sequence[str],
        *,
        updated_after: datetime,
        updated_before: datetime | None = None,
        with_items: bool = True,
    ) -> list[Order]:
        """read_orders for several marketplaces of one region in one searchOrders listing
        (engine.live.orders.order_groups makes such groups)."""
        regions = {market(code).region for code in marketplaces}
        if len(regions) != 1 or len(marketplaces) > MAX_ORDERS_MARKETPLACES:
            raise ValueError(
                f"searchOrders takes 1 to {MAX_ORDERS_MARKETPLACES} marketplaces of one "
                f"region, got {', '.join(marketplaces)}"
            )
        query: dict[str, Any] = {
            "lastUpdatedAfter": iso(updated_after),
            "marketplaceIds": [market(code).marketplace_id for code in marketplaces],
            "includedData": list(INCLUDED_DATA),
        }
        if updated_before is not None:
            query["lastUpdatedBefore"] = iso(updated_before)
        op = self.operation(ORDERS, marketplaces[0])
        self.progress.stage(f"{', '.join(marketplaces)}: orders")
        found: list[Order] = []
        while True:
            # Every page repeats the query with the token (the model's Pagination note).
            # The library lifts `pagination` out of the body: its token is `next_token`.
            answer = op("searchOrders", lambda c, q=dict(query): c.search_orders(**q))
            page = [parse_order(data) for data in answer.payload.get("orders") or ()]
            found += page
            self.progress.advance(len(page))
            token = answer.next_token
            if not token:
                break
            query["paginationToken"] = token
        return found if with_items else [order.with_items(()) for order in found]

    def read_order(self, marketplace: str, amazon_order_id: str) -> Order:
        """One order with its items (getOrder of Orders 2026-01-01, one call): what the
        follow-mode watchdog reads to learn a suspect order's realized price and promotions,
        which ORDER_CHANGE notifications do not carry."""
        op = self.operation(ORDERS, marketplace)
        body = op(
            GET_ORDER_2026,
            lambda c: c.get_order(amazon_order_id, includedData=list(INCLUDED_DATA)),
        ).payload
        return parse_order(body.get("order"))

    def read_fba_inventory(self, marketplace: str) -> dict[str, int]:
        """Fulfillable FBA units by SKU (getInventorySummaries, following nextToken)."""
        mid = market(marketplace).marketplace_id
        op = self.operation(INVENTORIES, marketplace)
        stock: dict[str, int] = {}
        token: str | None = None
        while True:
            query: dict[str, Any] = {"details": True, "marketplaceIds": [mid]}
            if token:
                query["nextToken"] = token
            response = op(
                "getInventorySummaries",
                lambda c, q=query: c.get_inventory_summary_marketplace(**q),
            )
            for summary in response.payload.get("inventorySummaries") or ():
                details = summary.get("inventoryDetails") or {}
                units = details.get("fulfillableQuantity", summary.get("totalQuantity", 0))
                stock[str(summary["sellerSku"])] = int(units or 0)
            token = response.next_token
            if not token:
                return stock

    def read_account_health(self, marketplace: str) -> dict[str, Any]:
        """The seller performance report (GET_V2_SELLER_PERFORMANCE_REPORT, JSON)."""
        data = documents.fetch_report(
            self.operation(REPORTS, marketplace),
            self._http,
            HEALTH_REPORT,
            market(marketplace).marketplace_id,
            self._timer,
            self._polling,
        )
        result = jsonio.loads(data)
        if not isinstance(result, dict):
            raise documents.DocumentError("the account health report is not a JSON object")
        return result

    def product_type_definition(self, marketplace: str, product_type: str) -> CachedDefinition:
        """The LISTING schema of a product type in a marketplace: from the state folder's
        cache while it is trusted, else from getDefinitionsProductType (and its schema link,
        only for a version or checksum not cached yet). A product type Amazon does not know
        is an SpApiError with status 404."""
        mid = market(marketplace).marketplace_id
        now = self._now()
        cached = self._definitions.fresh(mid, product_type, now)
        if cached is not None:
            return cached
        found = self.operation(DEFINITIONS, marketplace)(
            "getDefinitionsProductType",
            lambda c: c.get_definitions_product_type(
                product_type,
                marketplaceIds=[mid],
                sellerId=self.seller_id,
                requirements=REQUIREMENTS,
                requirementsEnforced="ENFORCED",
            ),
        ).payload
        version = str((found.get("productTypeVersion") or {}).get("version", ""))
        link = found.get("schema") or {}
        expected = link.get("checksum")
        known = self._definitions.version(mid, product_type, version)
        if known is None or known.checksum != expected:
            response = self._http.get(str((link.get("link") or {}).get("resource", "")))
            if response.status_code != 200:
                raise DefinitionError(
                    f"the schema of {product_type} ({marketplace}) could not be downloaded: "
                    f"HTTP {response.status_code}"
                )
            schema = parse_schema(response.content, expected)
            known = CachedDefinition(product_type, mid, version, str(expected), schema, now)
            self._definitions.save(known)
        self._definitions.mark_latest(mid, product_type, version, now)
        return known

    # -- writing ----------------------------------------------------------------------------
    def _current_offers(self, marketplace: str, sku: str) -> list[dict[str, Any]]:
        mid = market(marketplace).marketplace_id
        item = self.operation(LISTINGS, marketplace)(
            "getListingsItem",
            lambda c: c.get_listings_item(
                self.seller_id, sku, marketplaceIds=[mid], includedData="attributes"
            ),
        ).payload
        return list((item.get("attributes") or {}).get(OFFER) or ())

    def write(self, change: ResourceChange) -> WriteResult:
        """One change as one listings call (after a read of the live offer when prices
        change). Refusals come back INVALID with Amazon's issues; a call that could not be
        made comes back FAILED (nothing reached Amazon, or Amazon refused it before doing
        anything: a 429); a call whose answer was lost (a 5xx, a timeout, a connection
        dropped after the request went out) comes back UNKNOWN: it is never sent again
        blindly, since it may have been applied (the caller looks at live first)."""
        code, sku = change.marketplace, change.sku
        mid = market(code).marketplace_id
        op = self.operation(LISTINGS, code)
        kind = write_kind(change)
        try:
            offers = self._current_offers(code, sku) if needs_offer(change) else None
        except (SpApiError, httpx.TransportError) as err:
            return _not_sent(change.address, err, "the live offer could not be read")
        try:
            if kind == "delete":
                response = op(
                    "deleteListingsItem",
                    lambda c: c.delete_listings_item(self.seller_id, sku, marketplaceIds=[mid]),
                    idempotent=False,
                )
            elif kind == "put":
                body = put_body(change.after)  # type: ignore[arg-type]
                response = op(
                    "putListingsItem",
                    lambda c: c.put_listings_item(
                        self.seller_id, sku, marketplaceIds=[mid], body=body
                    ),
                    idempotent=False,
                )
            else:
                patch = {
                    "productType": change.after.product_type,  # type: ignore[union-attr]
                    "patches": listing_patches(change, offers),
                }
                response = op(
                    "patchListingsItem",
                    lambda c: c.patch_listings_item(
                        self.seller_id, sku, marketplaceIds=[mid], body=patch
                    ),
                    idempotent=False,
                    app_quotas=(
                        (PRODUCT_DATA_PATCH,) if updates_product_data(patch["patches"]) else ()
                    ),
                )
        except AmbiguousFailure as err:
            return _answer_lost(change.address, str(err))
        except (SpApiError, httpx.TransportError) as err:
            return _failure(change.address, err)
        payload = response.payload
        return WriteResult(
            change.address,
            payload.get("status", "ACCEPTED"),
            submission_id=payload.get("submissionId"),
            issues=tuple(payload.get("issues") or ()),
            request_id=(response.headers or {}).get("x-amzn-RequestId"),
        )

    def write_bulk(self, changes: Sequence[ResourceChange]) -> list[WriteResult]:
        """Per item below `bulk_threshold` changes, else one feed (or more, chunked) per
        marketplace. Results come back in the order of `changes`."""
        if len(changes) < self.bulk_threshold:
            return [self.write(change) for change in changes]
        by_market: dict[str, list[ResourceChange]] = {}
        for change in changes:
            by_market.setdefault(change.marketplace, []).append(change)
        results: dict[str, WriteResult] = {}
        for code, group in by_market.items():
            for result in self._write_feed(code, group):
                results[result.address] = result
        return [results[change.address] for change in changes]

    def run_feed(
        self,
        marketplace: str,
        document: bytes,
        feed_type: str,
        content_type: str = "application/json; charset=UTF-8",
    ) -> tuple[str, str, bytes | None]:
        """Submit a feed and wait for it to end: (feed id, DONE or FATAL, processing report,
        None when a FATAL feed left none)."""
        feed_id = self._submit_feed(marketplace, document, feed_type, content_type)
        status, report = self._feed_result(marketplace, feed_id)
        return feed_id, status, report

    def _submit_feed(
        self,
        marketplace: str,
        document: bytes,
        feed_type: str,
        content_type: str = "application/json; charset=UTF-8",
    ) -> str:
        return documents.submit_feed(
            self.operation(FEEDS, marketplace),
            self._http,
            document,
            feed_type,
            market(marketplace).marketplace_id,
            self._now,
            self._timer,
            content_type=content_type,
        )

    def _feed_result(self, marketplace: str, feed_id: str) -> tuple[str, bytes | None]:
        return documents.feed_result(
            self.operation(FEEDS, marketplace), self._http, feed_id, self._timer, self._polling
        )

    def _write_feed(self, code: str, changes: Sequence[ResourceChange]) -> list[WriteResult]:
        """The changes of one marketplace as JSON_LISTINGS_FEED documents. What became of
        each change is the processing report's to say. Until a feed exists, a failure means
        nothing was sent (FAILED); once it may exist, a failure (the feed never finished, its
        report could not be fetched or read) leaves each change UNKNOWN, for live to decide:
        never a blanket FAILED for writes that may well have gone through."""
        mkt = market(code)
        priced = [c.sku for c in changes if needs_offer(c)]
        results: list[WriteResult] = []
        try:
            offers = {
                str(item["sku"]): list((item.get("attributes") or {}).get(OFFER) or ())
                for item in self._search_items(code, priced, "attributes")
            }
        except (SpApiError, httpx.TransportError) as err:
            why = "the live offers could not be read"
            results = [_not_sent(c.address, err, why) for c in changes if needs_offer(c)]
            changes = [c for c in changes if not needs_offer(c)]
            offers = {}
        numbered = dict(enumerate(changes, start=1))
        messages = [
            feed_message(mid, change, offers.get(change.sku) if needs_offer(change) else None)
            for mid, change in numbered.items()
        ]
        for document in build_documents(self.seller_id, mkt.locale, messages):
            chunk = {mid: numbered[mid] for mid in document.message_ids}
            try:
                feed_id = self._submit_feed(code, document.data, FEED_TYPE)
            except documents.FeedOutcomeUnknown as err:
                results.extend(_answer_lost(c.address, str(err)) for c in chunk.values())
                continue
            except (SpApiError, httpx.TransportError, documents.DocumentError) as err:
                results.extend(_failure(change.address, err) for change in chunk.values())
                continue
            try:
                status, data = self._feed_result(code, feed_id)
                report = (
                    jsonio.loads(data)
                    if data is not None
                    else {"issues": [_no_report(feed_id, status)]}
                )
                if not isinstance(report, dict):
                    raise documents.DocumentError(f"the report of feed {feed_id} is not an object")
            except (
                SpApiError,
                httpx.TransportError,
                documents.DocumentError,
                jsonio.JSONError,
            ) as err:
                results.extend(
                    _answer_lost(
                        change.address,
                        f"feed {feed_id} was submitted, and what it did is unknown: {err}",
                        submission_id=f"{feed_id}#{mid}",
                    )
                    for mid, change in chunk.items()
                )
                continue
            results.extend(
                results_from_report(report, chunk, feed_id, fatal=status in documents.FAILED_STATES)
            )
        return results


def _no_report(feed_id: str, status: str) -> dict[str, str]:
    return {
        "code": "FeedFatal" if status == documents.FATAL else "FeedCancelled",
        "severity": "ERROR",
        "message": f"feed {feed_id} ended {status} without a processing report: Amazon applied "
        "nothing in it",
    }


def _answer_lost(address: str, why: str, submission_id: str | None = None) -> WriteResult:
    """A write that went out and whose outcome is unknown: live decides (UNKNOWN)."""
    return WriteResult(
        address,
        "UNKNOWN",
        submission_id=submission_id,
        issues=({"code": ANSWER_LOST, "message": why},),
    )


def _not_sent(address: str, err: Exception, why: str) -> WriteResult:
    """A write never sent because the read it needs first kept failing (FAILED)."""
    detail = " ".join(str(err).split()) or type(err).__name__
    return WriteResult(
        address, "FAILED", issues=({"code": "NotSent", "message": f"{why}: {detail}"},)
    )


def _failure(address: str, err: Exception) -> WriteResult:
    """A write that got no acceptance: INVALID when Amazon refused it for good (a 4xx other
    than 429), else FAILED with what went wrong as its one issue."""
    if isinstance(err, SpApiError):
        return WriteResult(
            address,
            "FAILED" if err.transient else "INVALID",
            issues=tuple(err.errors),
            request_id=err.request_id,
        )
    code = "FeedError" if isinstance(err, documents.DocumentError) else "TransportError"
    return WriteResult(
        address, "FAILED", issues=({"code": code, "message": str(err) or type(err).__name__},)
    )
