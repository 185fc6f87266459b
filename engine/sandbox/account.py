"""The sandbox seller account: Listings Items and Sellers operations over the store.

This is where Amazon's behaviour lives, independent of HTTP: writes are validated at once
(INVALID with issues, nothing saved), accepted writes are queued and become visible only
after a processing delay on the virtual clock (drawn from the sandbox's timing profile,
engine.sandbox.timing; under `amazon` a small share of them never shows), reads see the
processed state, and processing raises issues such as a potential pricing error. `app`
turns HTTP requests into these calls and `ApiError`s into SP-API error bodies.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from engine.core import jsonio
from engine.core.marketplaces import BY_ID, MARKETPLACES, Marketplace
from engine.sandbox import listings, pagetoken
from engine.sandbox.clock import Clock
from engine.sandbox.store import Listing, PendingWrite, Store, Tx
from engine.sandbox.timing import FAST, Timings

PROCESSING_DELAY = FAST.listing_visible.high  # the fast profile's, which tests rely on
TOKEN_LIFETIME_SECONDS = 3600
MAX_PAGE_SIZE = 20
DEFAULT_PAGE_SIZE = 10
PAGEABLE_RESULTS = 1000  # Amazon pages through the first 1000 SKUs of a search only


class ApiError(Exception):
    """An SP-API error response: HTTP status and one entry of the `errors` array."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        error = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"errors": [error]}


def invalid_input(message: str, details: str | None = None) -> ApiError:
    return ApiError(400, "InvalidInput", message, details)


@dataclass(frozen=True, slots=True)
class AccountInfo:
    seller_id: str
    store_name: str
    marketplaces: tuple[str, ...]


class Account:
    """One seeded seller account in a store, seen through a virtual clock."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        timings: Timings | None = None,
        processing_delay: timedelta | None = None,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.store = store
        self.clock = clock
        self.timings = timings or Timings()
        # A fixed delay for every write, overriding the profile (tests that need an exact
        # one set `processing_delay`).
        self._fixed_delay = processing_delay
        self._new_id = new_id
        self._info: AccountInfo | None = None
        # (store data version, marketplace codes) of the last read (see `info`)
        self._participating: tuple[int, tuple[str, ...]] | None = None
        self._tokens: dict[str, float] = {}
        self._tokens_lock = threading.Lock()

    @property
    def processing_delay(self) -> timedelta:
        """The longest an accepted listing write takes to show: waiting this long after
        writing sees every write that is going to show."""
        if self._fixed_delay is not None:
            return self._fixed_delay
        return self.timings.profile.listing_visible.high

    @processing_delay.setter
    def processing_delay(self, value: timedelta) -> None:
        self._fixed_delay = value

    def _visible_after(self) -> timedelta:
        if self._fixed_delay is not None:
            return self._fixed_delay
        return self.timings.listing_visible()

    # -- account facts ----------------------------------------------------------------------
    @property
    def info(self) -> AccountInfo:
        """The account's facts. Its marketplace participations are cached until the store's
        data version moves: `sync sandbox participation` and `reset` change them, from another
        process too, while a server runs, and every commit moves the version."""
        seller_id, store_name = self._identity()
        return AccountInfo(seller_id, store_name, self._marketplace_codes())

    def _marketplace_codes(self) -> tuple[str, ...]:
        version = self.store.data_version()  # before the read: a later change moves it again
        cached = self._participating
        if cached is not None and cached[0] == version:
            return cached[1]
        with self.store.read() as tx:
            codes = tuple(jsonio.loads(tx.meta("marketplaces") or "[]"))
        self._participating = (version, codes)
        return codes

    def _identity(self) -> tuple[str, str]:
        if self._info is None:
            with self.store.read() as tx:
                seller_id = tx.meta("seller_id")
                if seller_id is None:
                    raise LookupError(f"{self.store.path} holds no seeded account")
                self._info = AccountInfo(
                    seller_id=seller_id,
                    store_name=tx.meta("store_name") or "",
                    marketplaces=(),
                )
        return self._info.seller_id, self._info.store_name

    def page_tokens(self) -> pagetoken.Codec:
        """Reads and writes this seller's page tokens at the current virtual time."""
        return pagetoken.Codec(pagetoken.key_for(self.seller_id), self.clock.now())

    @property
    def seller_id(self) -> str:
        return self._identity()[0]

    def set_participation(self, code: str, participating: bool) -> tuple[str, ...]:
        """Join (`participating`) or leave the marketplace `code`, as a seller does in Seller
        Central; returns the marketplaces participated in afterwards. Listings in a marketplace
        left stay stored but out of reach: every call naming it is refused, as for any
        marketplace the seller does not participate in. `reset` restores the seeded set.
        LookupError for a marketplace Amazon does not have; ValueError when there is nothing
        to change, or when it would leave the account without a marketplace."""
        if code not in MARKETPLACES:
            raise LookupError(
                f"unknown marketplace {code!r}; known: {', '.join(sorted(MARKETPLACES))}"
            )
        with self.store.write() as tx:
            codes = list(jsonio.loads(tx.meta("marketplaces") or "[]"))
            if participating == (code in codes):
                state = "already participates" if participating else "does not participate"
                raise ValueError(f"the sandbox account {state} in {code}")
            if not participating and codes == [code]:
                raise ValueError(
                    f"{code} is the sandbox account's only marketplace; a seller account "
                    "participates in at least one"
                )
            codes = [*codes, code] if participating else [c for c in codes if c != code]
            tx.set_meta("marketplaces", jsonio.dumps(codes))
        return tuple(codes)

    def check_seller(self, seller_id: str) -> None:
        if seller_id != self.seller_id:
            raise ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The sellerId in the path does not belong to the selling partner that "
                "authorized this access token.",
            )

    def marketplaces(self, ids: Sequence[str]) -> list[Marketplace]:
        """The requested marketplaces, validated: known to Amazon and participated in."""
        if not ids:
            raise invalid_input("Missing required parameter 'marketplaceIds'.")
        participating = {MARKETPLACES[c].marketplace_id for c in self.info.marketplaces}
        result = []
        for mid in dict.fromkeys(ids):
            mkt = BY_ID.get(mid)
            if mkt is None:
                raise invalid_input(f"Invalid marketplace identifier '{mid}'.")
            if mid not in participating:
                raise invalid_input(
                    f"The selling partner does not participate in marketplace '{mid}'."
                )
            result.append(mkt)
        return result

    # -- access tokens (LWA) ----------------------------------------------------------------
    def issue_token(self, wall_now: float) -> str:
        """A new access token valid for an hour of real time (LWA semantics: clients cache
        tokens in real seconds, so expiry cannot follow a fast virtual clock)."""
        token = "Atza|sandbox-" + secrets.token_urlsafe(32)
        expires = wall_now + TOKEN_LIFETIME_SECONDS
        with self.store.write() as tx:
            tx.forget_expired_tokens(wall_now)
            tx.add_token(token, expires)
        with self._tokens_lock:
            self._tokens[token] = expires
        return token

    def token_state(self, token: str, wall_now: float) -> str:
        """'valid', 'expired' or 'unknown'; tokens issued by another process on the same
        state directory are valid here too."""
        expires = self.token_expiry(token)
        if expires is None:
            return "unknown"
        return "valid" if wall_now < expires else "expired"

    def token_expiry(self, token: str) -> float | None:
        """When (real time) an access token this account issued expires; None if unknown."""
        with self._tokens_lock:
            expires = self._tokens.get(token)
        if expires is None:
            with self.store.read() as tx:
                expires = tx.token_expiry(token)
            if expires is None:
                return None
            with self._tokens_lock:
                self._tokens[token] = expires
        return expires

    # -- asynchronous processing ------------------------------------------------------------
    def process_due(self) -> int:
        """Apply every accepted write whose processing time has come; returns how many."""
        now = self.clock.now()
        with self.store.read() as tx:
            if not tx.has_due(now):
                return 0
        with self.store.write() as tx:
            due = tx.due(now)
            for write in due:
                self._apply(tx, write)
            tx.drop_pending(w.id for w in due)
        return len(due)

    def _apply(self, tx: Tx, write: PendingWrite) -> None:
        current = tx.listing(write.seller_id, write.sku, write.marketplace_id)
        result = _project(current, write)
        if self.timings.profile.report_lag.high > timedelta(0):  # reports may lag: keep it
            tx.remember_listing(
                write.seller_id, write.sku, write.marketplace_id, current, write.visible_at
            )
        if result is None:
            if current is not None:
                tx.delete_listing(write.seller_id, write.sku, write.marketplace_id)
            return
        tx.save_listing(result)
        tx.set_issues(
            write.seller_id, write.sku, write.marketplace_id, listings.evaluate(result.attributes)
        )

    def _projected(self, tx: Tx, sku: str, marketplace_id: str) -> Listing | None:
        """The listing as it will be once every queued write for it is processed."""
        listing = tx.listing(self.seller_id, sku, marketplace_id)
        for write in tx.pending_for(self.seller_id, sku, marketplace_id):
            listing = _project(listing, write)
        return listing

    # -- reads ------------------------------------------------------------------------------
    def get_item(
        self, seller_id: str, sku: str, marketplace_ids: Sequence[str], included: Sequence[str]
    ) -> dict[str, Any]:
        self.check_seller(seller_id)
        mkts = self.marketplaces(marketplace_ids)
        wanted = _included(included, listings.ITEM_INCLUDED_DATA, ["summaries"])
        self.process_due()
        with self.store.read() as tx:
            found = [li for m in mkts if (li := tx.listing(seller_id, sku, m.marketplace_id))]
            issues = {
                li.marketplace_id: tx.issues(seller_id, sku, li.marketplace_id) for li in found
            }
        if not found:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"SKU '{sku}' not found in marketplace {', '.join(m.marketplace_id for m in mkts)}",
            )
        return listings.item_view(sku, found, issues, wanted, self.clock.now())

    def search(
        self, seller_id: str, marketplace_ids: Sequence[str], args: Mapping[str, list[str]]
    ) -> dict[str, Any]:
        self.check_seller(seller_id)
        mkts = self.marketplaces(marketplace_ids)
        query = _SearchQuery.parse(args)
        self.process_due()
        mids = [m.marketplace_id for m in mkts]
        by_sku = query.identifiers if query.identifiers_type == "SKU" else None
        with self.store.read() as tx:
            rows = tx.listings(seller_id, mids, by_sku)  # SKUs given: read only those
            severities = tx.issue_severities(seller_id)
            issues_by_key = {
                (li.sku, li.marketplace_id): tx.issues(seller_id, li.sku, li.marketplace_id)
                for li in rows
                if (li.sku, li.marketplace_id) in severities
            }
        by_sku: dict[str, list[Listing]] = {}
        for li in rows:
            by_sku.setdefault(li.sku, []).append(li)
        matches = [
            (sku, group)
            for sku, group in by_sku.items()
            if query.matches(sku, group, issues_by_key)
        ]
        matches.sort(key=query.sort_key, reverse=query.descending)
        total = len(matches)
        tokens = self.page_tokens()
        offset = query.offset(tokens)
        page = matches[offset : offset + query.page_size]
        now = self.clock.now()
        result: dict[str, Any] = {
            "numberOfResults": total,
            "items": [
                listings.item_view(
                    sku,
                    group,
                    {
                        li.marketplace_id: issues_by_key.get((sku, li.marketplace_id), [])
                        for li in group
                    },
                    query.included,
                    now,
                )
                for sku, group in page
            ],
        }
        pagination: dict[str, str] = {}
        end = offset + query.page_size
        if end < min(total, PAGEABLE_RESULTS):
            pagination["nextToken"] = query.token(tokens, end)
        if offset > 0:
            pagination["previousToken"] = query.token(tokens, max(0, offset - query.page_size))
        if pagination:
            result["pagination"] = pagination
        return result

    def participations(self) -> dict[str, Any]:
        with self.store.read() as tx:
            suspended = {
                mid
                for (_sku, mid), sev in tx.issue_severities(self.seller_id).items()
                if "ERROR" in sev
            }
        info = self.info
        payload = []
        for code in info.marketplaces:
            m = MARKETPLACES[code]
            payload.append(
                {
                    "marketplace": {
                        "id": m.marketplace_id,
                        "name": "Amazon." + m.domain.removeprefix("amazon."),
                        "countryCode": m.country,
                        "defaultCurrencyCode": m.currency,
                        "defaultLanguageCode": m.locale,
                        "domainName": "www." + m.domain,
                    },
                    "storeName": info.store_name,
                    "participation": {
                        "isParticipating": True,
                        "hasSuspendedListings": m.marketplace_id in suspended,
                    },
                }
            )
        return {"payload": payload}

    # -- writes -----------------------------------------------------------------------------
    def put_item(
        self,
        seller_id: str,
        sku: str,
        marketplace_ids: Sequence[str],
        body: object,
        *,
        mode: str | None = None,
        included: Sequence[str] = (),
    ) -> dict[str, Any]:
        self.check_seller(seller_id)
        mkts = self.marketplaces(marketplace_ids)
        _check_mode(mode)
        wanted = _included(included, listings.SUBMISSION_INCLUDED_DATA, ["issues"])
        if not isinstance(body, dict):
            raise invalid_input("The request body must be a JSON object.")
        product_type = body.get("productType")
        attributes = body.get("attributes")
        requirements = body.get("requirements", "LISTING")
        if not isinstance(product_type, str) or not product_type:
            raise invalid_input("'productType' is required.")
        if not isinstance(attributes, dict):
            raise invalid_input("'attributes' is required and must be an object.")
        if requirements not in listings.REQUIREMENTS:
            raise invalid_input(
                f"'requirements' must be one of {', '.join(listings.REQUIREMENTS)}."
            )
        per_mkt = {
            m.marketplace_id: listings.for_marketplace(attributes, m.marketplace_id) for m in mkts
        }
        issues = listings.unknown_product_type(product_type) or [
            {**i, "marketplaceIds": [m.marketplace_id]}
            for m in mkts
            for i in listings.submission_issues(
                product_type, per_mkt[m.marketplace_id], m, requirements
            )
        ]
        payloads = {
            mid: {"productType": product_type, "attributes": attrs}
            for mid, attrs in per_mkt.items()
        }
        return self._submit(seller_id, sku, "put", payloads, issues, mode, wanted)

    def patch_item(
        self,
        seller_id: str,
        sku: str,
        marketplace_ids: Sequence[str],
        body: object,
        *,
        mode: str | None = None,
        included: Sequence[str] = (),
    ) -> dict[str, Any]:
        self.check_seller(seller_id)
        mkts = self.marketplaces(marketplace_ids)
        _check_mode(mode)
        wanted = _included(included, listings.SUBMISSION_INCLUDED_DATA, ["issues"])
        try:
            product_type, patches = listings.check_patch_request(body)
        except listings.PatchStructureError as err:
            raise invalid_input(str(err)) from None
        issues = listings.unknown_product_type(product_type) or listings.patch_path_issues(patches)
        payloads: dict[str, dict[str, Any]] = {}
        if not issues:
            self.process_due()
            with self.store.read() as tx:
                for m in mkts:
                    base = self._projected(tx, sku, m.marketplace_id)
                    if base is None:
                        issues.append(
                            listings.issue(
                                "SKU_NOT_FOUND",
                                f"SKU '{sku}' does not exist in marketplace {m.marketplace_id}; "
                                "create it with putListingsItem before patching it.",
                                "ERROR",
                                [],
                                ["INVALID_ATTRIBUTE"],
                            )
                            | {"marketplaceIds": [m.marketplace_id]}
                        )
                        continue
                    after = listings.apply_patches(base.attributes, patches, m.marketplace_id)
                    issues.extend(
                        {**i, "marketplaceIds": [m.marketplace_id]}
                        for i in listings.patch_issues(product_type, after, patches, m)
                    )
                    payloads[m.marketplace_id] = {"productType": product_type, "patches": patches}
        return self._submit(seller_id, sku, "patch", payloads, issues, mode, wanted)

    def delete_item(
        self, seller_id: str, sku: str, marketplace_ids: Sequence[str]
    ) -> dict[str, Any]:
        self.check_seller(seller_id)
        mkts = self.marketplaces(marketplace_ids)
        payloads: dict[str, dict[str, Any]] = {m.marketplace_id: {} for m in mkts}
        return self._submit(seller_id, sku, "delete", payloads, [], None, set())

    def _submit(
        self,
        seller_id: str,
        sku: str,
        kind: str,
        payloads: Mapping[str, dict[str, Any]],
        issues: list[dict[str, Any]],
        mode: str | None,
        wanted: set[str],
    ) -> dict[str, Any]:
        """Queue a validated write (or only report on it): INVALID when any issue is an
        ERROR, VALID for a validation preview, otherwise ACCEPTED and processed later."""
        submission_id = self._new_id()
        invalid = any(i["severity"] == "ERROR" for i in issues)
        identifiers: list[dict[str, str]] = []
        if mode == "VALIDATION_PREVIEW":
            status = "INVALID" if invalid else "VALID"
            if kind == "put" and not invalid:
                for mid, payload in payloads.items():
                    issues.extend(
                        {**i, "marketplaceIds": [mid]}
                        for i in listings.evaluate(payload["attributes"])
                    )
        elif invalid:
            status = "INVALID"
        else:
            status = "ACCEPTED"
            now = self.clock.now()
            with self.store.write() as tx:
                visibility = tx.faults().get("write_visibility")  # engine.sandbox.faults
                for mid, payload in payloads.items():
                    self._queue(tx, submission_id, sku, mid, kind, payload, now, visibility)
        if "identifiers" in wanted and status != "INVALID":
            with self.store.read() as tx:
                for mid in payloads:
                    current = tx.listing(seller_id, sku, mid)
                    asin = current.asin if current else listings.synthetic_asin(sku)
                    identifiers.append({"marketplaceId": mid, "asin": asin})
        response: dict[str, Any] = {"sku": sku, "status": status, "submissionId": submission_id}
        if "issues" in wanted:
            response["issues"] = issues
        if "identifiers" in wanted:
            response["identifiers"] = identifiers
        return response

    def _queue(
        self,
        tx: Tx,
        submission_id: str,
        sku: str,
        marketplace_id: str,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
        visibility: dict[str, Any] | None,
    ) -> None:
        """Queue one accepted write, visible after the timing profile's delay (a small share
        never shows, see engine.sandbox.timing), unless the write_visibility fault delays it
        by hours, drops it, or takes it back later (a `revert` write carrying the listing as
        it was)."""
        mode = None if visibility is None else visibility["mode"]
        if mode == "never" or self.timings.listing_lost():
            return  # ACCEPTED, and never shows
        extra = timedelta(hours=float(visibility["hours"])) if visibility else timedelta(0)
        delayed = extra if mode == "delayed" else timedelta(0)
        visible_at = now + self._visible_after() + delayed
        if mode == "reverted":
            before = self._projected(tx, sku, marketplace_id)
            tx.add_pending(
                submission_id=submission_id,
                seller_id=self.seller_id,
                sku=sku,
                marketplace_id=marketplace_id,
                kind="revert",
                payload={"before": None if before is None else _listing_json(before)},
                submitted_at=now,
                visible_at=visible_at + extra,
            )
        tx.add_pending(
            submission_id=submission_id,
            seller_id=self.seller_id,
            sku=sku,
            marketplace_id=marketplace_id,
            kind=kind,
            payload=payload,
            submitted_at=now,
            visible_at=visible_at,
        )

    def _direct_marketplace(self, marketplace_code: str) -> Marketplace:
        mkt = MARKETPLACES.get(marketplace_code)
        codes = self.info.marketplaces
        if mkt is None or marketplace_code not in codes:
            raise LookupError(
                f"marketplace {marketplace_code!r} is not one of the sandbox account's "
                f"({', '.join(codes)})"
            )
        return mkt

    def delete_listing_directly(self, sku: str, marketplace_code: str) -> None:
        """Delete a listing at once, outside SP-API (as a person in Seller Central would)."""
        mkt = self._direct_marketplace(marketplace_code)
        self.process_due()
        with self.store.write() as tx:
            if tx.listing(self.seller_id, sku, mkt.marketplace_id) is None:
                raise LookupError(f"no listing {sku!r} in {marketplace_code}")
            tx.delete_listing(self.seller_id, sku, mkt.marketplace_id)

    # -- direct edits (Seller Central stand-in) ---------------------------------------------
    def edit_listing(
        self,
        sku: str,
        marketplace_code: str,
        edit: Callable[[Listing], Listing],
    ) -> Listing:
        """Change a listing at once, outside SP-API (as a person in Seller Central would);
        queued writes still apply on top later."""
        mkt = self._direct_marketplace(marketplace_code)
        self.process_due()
        with self.store.write() as tx:
            current = tx.listing(self.seller_id, sku, mkt.marketplace_id)
            if current is None:
                raise LookupError(f"no listing {sku!r} in {marketplace_code}")
            changed = replace(edit(current), updated_at=self.clock.now())
            tx.save_listing(changed)
            tx.set_issues(
                self.seller_id, sku, mkt.marketplace_id, listings.evaluate(changed.attributes)
            )
        return changed


def _listing_json(listing: Listing) -> dict[str, Any]:
    return {
        "product_type": listing.product_type,
        "asin": listing.asin,
        "attributes": listing.attributes,
        "created_at": listings.iso(listing.created_at),
        "fba_quantity": listing.fba_quantity,
    }


def _project(listing: Listing | None, write: PendingWrite) -> Listing | None:
    """The result of processing one queued write on top of a listing (None = no listing)."""
    if write.kind == "delete":
        return None
    if write.kind == "revert":  # the write_visibility fault: back to the listing before
        before = write.payload["before"]
        if before is None:
            return None
        return Listing(
            seller_id=write.seller_id,
            sku=write.sku,
            marketplace_id=write.marketplace_id,
            product_type=before["product_type"],
            asin=before["asin"],
            attributes=before["attributes"],
            created_at=listings.parse_when(before["created_at"]) or write.visible_at,
            updated_at=write.visible_at,
            fba_quantity=before["fba_quantity"],
        )
    if write.kind == "put":
        attrs = write.payload["attributes"]
        return Listing(
            seller_id=write.seller_id,
            sku=write.sku,
            marketplace_id=write.marketplace_id,
            product_type=write.payload["productType"],
            asin=listing.asin if listing else listings.synthetic_asin(write.sku),
            attributes=attrs,
            created_at=listing.created_at if listing else write.visible_at,
            updated_at=write.visible_at,
            fba_quantity=(
                listing.fba_quantity
                if listing and listing.fba_quantity is not None
                else (0 if listings.is_fba(attrs) else None)
            ),
        )
    if listing is None:
        return None
    attrs = listings.apply_patches(
        listing.attributes, write.payload["patches"], write.marketplace_id
    )
    fba = listing.fba_quantity
    if fba is None and listings.is_fba(attrs):
        fba = 0
    return replace(listing, attributes=attrs, updated_at=write.visible_at, fba_quantity=fba)


def _check_mode(mode: str | None) -> None:
    if mode not in (None, "", "VALIDATION_PREVIEW"):
        raise invalid_input(f"Invalid 'mode' {mode!r}; the only mode is VALIDATION_PREVIEW.")


def _included(values: Sequence[str], allowed: Sequence[str], default: list[str]) -> set[str]:
    if not values:
        return set(default)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise invalid_input(
            f"Invalid includedData value(s): {', '.join(unknown)}. Allowed: {', '.join(allowed)}."
        )
    return set(values)


def csv_values(values: Sequence[str]) -> list[str]:
    """An SP-API array query parameter: comma-delimited, possibly repeated."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def size_arg(args: Mapping[str, list[str]], name: str, default: int, maximum: int) -> int:
    """A page size query parameter: 1 to `maximum`, `default` when absent (400 InvalidInput
    otherwise)."""
    text = (args.get(name) or [str(default)])[0]
    try:
        size = int(text)
    except ValueError:
        raise invalid_input(f"'{name}' must be an integer, got {text!r}.") from None
    if not 1 <= size <= maximum:
        raise invalid_input(f"'{name}' must be between 1 and {maximum}.")
    return size


def time_arg(args: Mapping[str, list[str]], name: str) -> datetime | None:
    """An optional date-time query parameter (400 InvalidInput when it does not parse)."""
    values = args.get(name)
    if not values:
        return None
    parsed = listings.parse_when(values[0])
    if parsed is None:
        raise invalid_input(f"'{name}' must be an ISO 8601 date-time, got {values[0]!r}.")
    return parsed


@dataclass(frozen=True, slots=True)
class _SearchQuery:
    """The parsed, validated query of a searchListingsItems call."""

    included: frozenset[str]
    page_size: int
    page_token: str | None
    identifiers: tuple[str, ...]
    identifiers_type: str | None
    with_status: frozenset[str]
    without_status: frozenset[str]
    with_severity: frozenset[str]
    created_after: datetime | None
    created_before: datetime | None
    updated_after: datetime | None
    updated_before: datetime | None
    family_sku: str | None
    sort_by: str
    descending: bool
    digest: str

    @classmethod
    def parse(cls, args: Mapping[str, list[str]]) -> _SearchQuery:
        page_size = size_arg(args, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        identifiers = tuple(csv_values(args.get("identifiers", [])))
        id_type = (args.get("identifiersType") or [None])[0]
        if bool(identifiers) != bool(id_type):
            raise invalid_input("'identifiers' and 'identifiersType' must be given together.")
        if len(identifiers) > 20:
            raise invalid_input("At most 20 'identifiers' can be given.")
        if id_type is not None and id_type not in (
            "ASIN",
            "EAN",
            "FNSKU",
            "GTIN",
            "ISBN",
            "JAN",
            "MINSAN",
            "SKU",
            "UPC",
        ):
            raise invalid_input(f"Invalid 'identifiersType' {id_type!r}.")
        statuses = {"BUYABLE", "DISCOVERABLE"}
        with_status = frozenset(csv_values(args.get("withStatus", [])))
        without_status = frozenset(csv_values(args.get("withoutStatus", [])))
        severity = frozenset(csv_values(args.get("withIssueSeverity", [])))
        if not (with_status | without_status) <= statuses:
            raise invalid_input("'withStatus'/'withoutStatus' take BUYABLE and DISCOVERABLE.")
        if not severity <= {"WARNING", "ERROR"}:
            raise invalid_input("'withIssueSeverity' takes WARNING and ERROR.")
        sort_by = (args.get("sortBy") or ["lastUpdatedDate"])[0]
        if sort_by not in ("sku", "createdDate", "lastUpdatedDate"):
            raise invalid_input(f"Invalid 'sortBy' {sort_by!r}.")
        order = (args.get("sortOrder") or ["DESC"])[0]
        if order not in ("ASC", "DESC"):
            raise invalid_input(f"Invalid 'sortOrder' {order!r}.")
        family = (args.get("variationParentSku") or args.get("packageHierarchySku") or [None])[0]
        return cls(
            included=frozenset(
                _included(
                    csv_values(args.get("includedData", [])),
                    listings.ITEM_INCLUDED_DATA,
                    ["summaries"],
                )
            ),
            page_size=page_size,
            page_token=(args.get("pageToken") or [None])[0],
            identifiers=identifiers,
            identifiers_type=id_type,
            with_status=with_status,
            without_status=without_status,
            with_severity=severity,
            created_after=time_arg(args, "createdAfter"),
            created_before=time_arg(args, "createdBefore"),
            updated_after=time_arg(args, "lastUpdatedAfter"),
            updated_before=time_arg(args, "lastUpdatedBefore"),
            family_sku=family,
            sort_by=sort_by,
            descending=order == "DESC",
            digest=pagetoken.fingerprint(args, ignore=("pageToken", "pageSize")),
        )

    def token(self, tokens: pagetoken.Codec, offset: int) -> str:
        return tokens.encode({"o": offset, "q": self.digest})

    def offset(self, tokens: pagetoken.Codec) -> int:
        if not self.page_token:
            return 0
        try:
            data = tokens.decode(self.page_token)
            offset, digest = int(data["o"]), str(data["q"])
        except pagetoken.TokenError as err:
            raise invalid_input(pagetoken.problem("pageToken", err)) from None
        except (ValueError, KeyError, TypeError):
            raise invalid_input("Invalid 'pageToken'.") from None
        if digest != self.digest or not 0 <= offset < PAGEABLE_RESULTS:
            raise invalid_input(
                "Invalid 'pageToken': it belongs to a different query or is out of range."
            )
        return offset

    def matches(
        self,
        sku: str,
        group: Sequence[Listing],
        issues: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]],
    ) -> bool:
        if self.family_sku is not None:
            return False  # the sandbox has no variation families or package hierarchies
        if self.identifiers and not self._identified(sku, group):
            return False
        group_issues = [i for li in group for i in issues.get((sku, li.marketplace_id), ())]
        if self.with_severity and not any(
            i.get("severity") in self.with_severity for i in group_issues
        ):
            return False
        status = {
            s
            for li in group
            for s in listings.statuses(li, issues.get((sku, li.marketplace_id), ()))
        }
        if self.with_status and not self.with_status <= status:
            return False
        if self.without_status and self.without_status & status:
            return False
        created = min(li.created_at for li in group)
        updated = max(li.updated_at for li in group)
        return not (
            (self.created_after and created < self.created_after)
            or (self.created_before and created > self.created_before)
            or (self.updated_after and updated < self.updated_after)
            or (self.updated_before and updated > self.updated_before)
        )

    def _identified(self, sku: str, group: Sequence[Listing]) -> bool:
        wanted = set(self.identifiers)
        if self.identifiers_type == "SKU":
            return sku in wanted
        if self.identifiers_type == "ASIN":
            return any(li.asin in wanted for li in group)
        kind = (self.identifiers_type or "").lower()
        return any(
            isinstance(v, dict)
            and str(v.get("type", "")).lower() == kind
            and v.get("value") in wanted
            for li in group
            for v in li.attributes.get("externally_assigned_product_identifier") or ()
        )

    def sort_key(self, entry: tuple[str, Sequence[Listing]]) -> tuple[Any, str]:
        sku, group = entry
        if self.sort_by == "sku":
            return (sku, sku)
        if self.sort_by == "createdDate":
            return (min(li.created_at for li in group), sku)
        return (max(li.updated_at for li in group), sku)
