"""Switchable faults, so the engine's retries, backoff and drift detection meet real trouble.

Faults live in the store (table `faults`), so `sync sandbox faults set ...` in one process
changes the behaviour of a sandbox serving from another. Each is optional:

- throttle:     a 429 storm: every matching call answers QuotaExceeded until a virtual time;
- server_error: JSON 500/503 errors with a probability;
- gateway:      non-JSON 502/504 bodies (an HTML page, as a load balancer sends) with a
                probability; python-amazon-sp-api turns these into empty "successes";
- slow:         responses delayed by a number of real seconds with a probability;
- feed_fatal:   every feed ends FATAL when it finishes processing (nothing in it applied);
- feed_message_errors: each feed message fails with an ERROR issue with a probability
                (the feed still ends DONE and its other messages apply).

Connections and answers (what makes a client unsure whether its write happened):

- dropped_connections: the connection is dropped with a probability, `before` the call is
                handled (nothing done), `after` it (done, answer lost) or `either`;
- lost_answers: the call is handled (a write is applied) and its answer is replaced by a 500
                InternalFailure or a 504 gateway page, as when a load balancer gives up on a
                backend that finished anyway;
- document_errors: transfers to and from the document URLs (the presigned S3 stand-ins) fail
                with a probability: a 500 or a dropped connection; an upload fails after its
                bytes were stored, a download before anything is sent;
- throttle_share: a share of the (matching) calls answer 429 QuotaExceeded, with no storm.

Probabilities draw from an RNG seeded by `seed` (default 0) and re-seeded whenever the fault
settings change, so a run is reproducible. `out_of_band_price` / `out_of_band_quantity` change
a listing at once, as a person in Seller Central would.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.core.marketplaces import BY_ID
from engine.core.money import MoneyError, currency, quantize, to_decimal
from engine.sandbox import listings
from engine.sandbox.account import Account
from engine.sandbox.clock import Clock
from engine.sandbox.store import Listing, Store

FAULT_NAMES = (
    "throttle",
    "server_error",
    "gateway",
    "slow",
    "feed_fatal",
    "feed_message_errors",
    "seed",
    "dropped_connections",
    "lost_answers",
    "document_errors",
    "throttle_share",
)
DROP_WHEN = ("before", "after", "either")
LOST_ANSWER_STATUSES = (500, 504)
DOCUMENT_METHODS = ("GET", "PUT")


class FaultError(ValueError):
    """Fault settings that make no sense (a probability of 2, an unknown status)."""


def _probability(value: object) -> float:
    try:
        p = float(str(value))
    except ValueError:
        raise FaultError(f"probability {value!r} is not a number") from None
    if not 0.0 <= p <= 1.0:
        raise FaultError(f"probability {value!r} must be between 0 and 1")
    return p


def _operations(operations: Iterable[str] | None) -> list[str] | None:
    return None if operations is None else sorted(set(operations))


def set_throttle_storm(
    store: Store, *, until: datetime | None = None, operations: Iterable[str] | None = None
) -> None:
    """Answer 429 QuotaExceeded to every (matching) call until `until` (virtual time)."""
    config: dict[str, Any] = {"operations": _operations(operations)}
    if until is not None:
        if until.tzinfo is None:
            raise FaultError("the end of a throttle storm must be timezone-aware")
        config["until"] = listings.iso(until)
    with store.write() as tx:
        tx.set_fault("throttle", config)


def set_server_errors(
    store: Store,
    probability: float | str,
    *,
    status: int = 500,
    operations: Iterable[str] | None = None,
) -> None:
    """JSON 500 InternalFailure or 503 ServiceUnavailable with a probability."""
    if status not in (500, 503):
        raise FaultError(f"server error status must be 500 or 503, got {status}")
    config = {
        "probability": _probability(probability),
        "status": status,
        "operations": _operations(operations),
    }
    with store.write() as tx:
        tx.set_fault("server_error", config)


def set_gateway_errors(
    store: Store,
    probability: float | str,
    *,
    statuses: Iterable[int] = (502, 504),
    operations: Iterable[str] | None = None,
) -> None:
    """Non-JSON (HTML) 502 / 504 responses with a probability."""
    chosen = sorted(set(statuses))
    if not chosen or not set(chosen) <= {502, 504}:
        raise FaultError(f"gateway statuses must be 502 and/or 504, got {chosen}")
    config = {
        "probability": _probability(probability),
        "statuses": chosen,
        "operations": _operations(operations),
    }
    with store.write() as tx:
        tx.set_fault("gateway", config)


def set_slow(
    store: Store,
    seconds: float | str,
    *,
    probability: float | str = 1.0,
    operations: Iterable[str] | None = None,
) -> None:
    """Delay responses by `seconds` of real time."""
    delay = float(str(seconds))
    if not 0.0 <= delay <= 120.0:
        raise FaultError(f"delay {seconds!r} must be between 0 and 120 seconds")
    config = {
        "seconds": delay,
        "probability": _probability(probability),
        "operations": _operations(operations),
    }
    with store.write() as tx:
        tx.set_fault("slow", config)


def set_feed_fatal(store: Store) -> None:
    """Feeds end FATAL instead of being processed."""
    with store.write() as tx:
        tx.set_fault("feed_fatal", {})


def set_feed_message_errors(store: Store, probability: float | str) -> None:
    """Each feed message fails with an ERROR issue with a probability."""
    with store.write() as tx:
        tx.set_fault("feed_message_errors", {"probability": _probability(probability)})


def set_dropped_connections(
    store: Store,
    probability: float | str,
    *,
    when: str = "either",
    operations: Iterable[str] | None = None,
) -> None:
    """Drop the connection of a (matching) call with a probability: `before` handling it,
    `after` (a write is applied, its answer never arrives) or `either` (a coin decides)."""
    if when not in DROP_WHEN:
        raise FaultError(f"when must be one of {', '.join(DROP_WHEN)}, got {when!r}")
    config = {
        "probability": _probability(probability),
        "when": when,
        "operations": _operations(operations),
    }
    with store.write() as tx:
        tx.set_fault("dropped_connections", config)


def set_lost_answers(
    store: Store,
    probability: float | str,
    *,
    statuses: Iterable[int] = LOST_ANSWER_STATUSES,
    operations: Iterable[str] | None = None,
) -> None:
    """Handle a (matching) call, then answer a 500 or a 504 gateway page instead of its
    real answer, with a probability."""
    chosen = sorted(set(statuses))
    if not chosen or not set(chosen) <= set(LOST_ANSWER_STATUSES):
        raise FaultError(f"lost-answer statuses must be 500 and/or 504, got {chosen}")
    config = {
        "probability": _probability(probability),
        "statuses": chosen,
        "operations": _operations(operations),
    }
    with store.write() as tx:
        tx.set_fault("lost_answers", config)


def set_document_errors(
    store: Store, probability: float | str, *, methods: Iterable[str] = DOCUMENT_METHODS
) -> None:
    """Document uploads (PUT) and/or downloads (GET) fail with a probability."""
    chosen = sorted({m.upper() for m in methods})
    if not chosen or not set(chosen) <= set(DOCUMENT_METHODS):
        raise FaultError(f"document methods must be GET and/or PUT, got {chosen}")
    config = {"probability": _probability(probability), "methods": chosen}
    with store.write() as tx:
        tx.set_fault("document_errors", config)


def set_throttle_share(
    store: Store, probability: float | str, *, operations: Iterable[str] | None = None
) -> None:
    """Answer 429 QuotaExceeded to a share of the (matching) calls."""
    config = {"probability": _probability(probability), "operations": _operations(operations)}
    with store.write() as tx:
        tx.set_fault("throttle_share", config)


def set_seed(store: Store, seed: int) -> None:
    with store.write() as tx:
        tx.set_fault("seed", {"seed": int(seed)})


def clear(store: Store, name: str | None = None) -> None:
    if name is not None and name not in FAULT_NAMES:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    with store.write() as tx:
        tx.clear_faults(name)


def active(store: Store) -> dict[str, dict[str, Any]]:
    with store.read() as tx:
        return tx.faults()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the fault layer does to one call: delay it, then maybe answer with an error
    status instead of the real response (`kind` says which fault)."""

    delay: float = 0.0
    status: int | None = None
    kind: str | None = None


NO_FAULT = Outcome()


def _applies(config: dict[str, Any], operation: str) -> bool:
    ops = config.get("operations")
    return ops is None or operation in ops


class FaultInjector:
    """Decides, per call, which fault strikes; re-reads settings only when they change."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._version = -1
        self._faults: dict[str, dict[str, Any]] = {}
        self._rng = random.Random(0)

    def _refresh(self) -> dict[str, dict[str, Any]]:
        with self._store.read() as tx:
            version = tx.faults_version()
            if version == self._version:
                return self._faults
            faults = tx.faults()
        with self._lock:
            if version != self._version:
                self._faults = faults
                self._version = version
                self._rng = random.Random(int(faults.get("seed", {}).get("seed", 0)))
            return self._faults

    def decide(self, operation: str) -> Outcome:
        faults = self._refresh()
        if not faults:
            return NO_FAULT
        delay = 0.0
        with self._lock:
            slow = faults.get("slow")
            if (
                slow
                and _applies(slow, operation)
                and self._rng.random() < float(slow["probability"])
            ):
                delay = float(slow["seconds"])
            throttle = faults.get("throttle")
            if throttle and _applies(throttle, operation):
                until = listings.parse_when(throttle.get("until"))
                if until is None or self._clock.now() < until:
                    return Outcome(delay, 429, "throttle")
            share = faults.get("throttle_share")
            if (
                share
                and _applies(share, operation)
                and self._rng.random() < float(share["probability"])
            ):
                return Outcome(delay, 429, "throttle")
            if self._drops(faults, operation, "before"):
                return Outcome(delay, None, "drop")
            gateway = faults.get("gateway")
            if (
                gateway
                and _applies(gateway, operation)
                and self._rng.random() < float(gateway["probability"])
            ):
                return Outcome(delay, self._rng.choice(gateway["statuses"]), "gateway")
            errors = faults.get("server_error")
            if (
                errors
                and _applies(errors, operation)
                and self._rng.random() < float(errors["probability"])
            ):
                return Outcome(delay, int(errors["status"]), "server_error")
        return Outcome(delay) if delay else NO_FAULT

    def _drops(self, faults: dict[str, dict[str, Any]], operation: str, moment: str) -> bool:
        """Whether the connection of this call drops at `moment` (caller holds the lock)."""
        config = faults.get("dropped_connections")
        if not config or not _applies(config, operation):
            return False
        if self._rng.random() >= float(config["probability"]):
            return False
        when = config["when"]
        return when == moment or (
            when == "either" and self._rng.choice(("before", "after")) == moment
        )

    def after(self, operation: str) -> Outcome:
        """What becomes of the answer to a call just handled: NO_FAULT, or lost: kind
        `drop` (the connection drops) or `lost_answer` with the status sent instead."""
        faults = self._refresh()
        if not faults:
            return NO_FAULT
        with self._lock:
            if self._drops(faults, operation, "after"):
                return Outcome(kind="drop")
            lost = faults.get("lost_answers")
            if (
                lost
                and _applies(lost, operation)
                and self._rng.random() < float(lost["probability"])
            ):
                return Outcome(status=int(self._rng.choice(lost["statuses"])), kind="lost_answer")
        return NO_FAULT

    def document_fault(self, method: str) -> Outcome:
        """Whether a document transfer (`GET` or `PUT`) fails: NO_FAULT, or kind `drop` or
        `document_error` (status 500)."""
        config = self._refresh().get("document_errors")
        if not config or method.upper() not in config["methods"]:
            return NO_FAULT
        with self._lock:
            if self._rng.random() >= float(config["probability"]):
                return NO_FAULT
            if self._rng.random() < 0.5:
                return Outcome(kind="drop")
            return Outcome(status=500, kind="document_error")

    def feed_fatal(self) -> bool:
        """Whether a feed finishing now must end FATAL."""
        return "feed_fatal" in self._refresh()

    def feed_message_fails(self) -> bool:
        """Whether the feed message being processed now fails (draws from the seeded RNG)."""
        config = self._refresh().get("feed_message_errors")
        if not config:
            return False
        with self._lock:
            return self._rng.random() < float(config["probability"])


def drop_connection(environ: dict[str, Any]) -> None:
    """Drop the client's connection without an answer (the dropped_connections and
    document_errors faults): shut the socket werkzeug serves the request on down, and leave
    through werkzeug's handling of a dropped connection, so nothing more is written to it."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionResetError("the sandbox dropped the connection (a fault)")


# -- out-of-band edits ------------------------------------------------------------------------


def _with_offer(listing: Listing, change: dict[str, Any]) -> Listing:
    attrs = {k: [dict(v) for v in vs] for k, vs in listing.attributes.items()}
    offers = attrs.get("purchasable_offer") or []
    main = next((o for o in offers if o.get("audience", "ALL") == "ALL"), None)
    if main is None:
        raise LookupError(f"listing {listing.sku!r} has no consumer offer to reprice")
    main.update(change)
    return replace(listing, attributes=attrs)


def out_of_band_price(account: Account, marketplace: str, sku: str, price: object) -> Listing:
    """Set our_price directly, as if changed in Seller Central (visible at once)."""
    try:
        amount = to_decimal(price)
    except MoneyError as err:
        raise FaultError(str(err)) from None
    if amount <= 0:
        raise FaultError(f"price {price!r} must be greater than 0")

    def edit(listing: Listing) -> Listing:
        code = next(
            (o.get("currency") for o in listing.attributes.get("purchasable_offer") or ()), None
        )
        exact = amount if code is None else quantize(amount, currency(str(code)))
        if exact != amount:
            raise FaultError(f"price {price!r} has more decimals than {code} allows")
        return _with_offer(listing, {"our_price": [{"schedule": [{"value_with_tax": exact}]}]})

    return account.edit_listing(sku, marketplace, edit)


def out_of_band_quantity(account: Account, marketplace: str, sku: str, quantity: int) -> Listing:
    """Set the merchant-fulfilled quantity directly (FBA stock cannot be edited this way)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise FaultError(f"quantity {quantity!r} must be a whole number of at least 0")

    def edit(listing: Listing) -> Listing:
        if listings.mfn_quantity(listing.attributes) is None:
            raise FaultError(f"listing {sku!r} is not merchant-fulfilled")
        return replace(listing, attributes=listings.with_mfn_quantity(listing.attributes, quantity))

    return account.edit_listing(sku, marketplace, edit)


def price_of(listing: Listing) -> Decimal | None:
    """The live our_price of a listing's consumer offer."""
    offer = listings.main_offer(listing.attributes)
    return None if offer is None else listings.first_price(offer, "our_price")


# -- what Amazon does besides error statuses (issue 19, item 6) -------------------------------
# Each fault below is its own entry in the `faults` table, set by its own function, and read
# by the one place of the sandbox it changes. A comment names where Amazon documents the
# behaviour or where its users report it.

# LWA's token endpoint (api.amazon.com/auth/o2/token) answers OAuth errors: 500 server_error
# and 503 temporarily_unavailable when it is down (reported in amzn/selling-partner-api-docs
# #869: "received 500 internal server error" from /auth/o2/token), 400 invalid_grant when the
# seller revoked the app's authorization (RFC 6749 section 5.2).
TOKEN_ENDPOINT_ERRORS = {
    "server_error": 500,
    "temporarily_unavailable": 503,
    "invalid_grant": 400,
}
# Access tokens live an hour (amzn/selling-partner-api-models #263); a token used past that
# gets 403 "The access token you provided has expired", and one whose authorization was
# revoked gets 403 "... is revoked, malformed or invalid" (reported in
# jakobowsky/new-sp-api #1), after which the refresh token is refused too.
TOKEN_INVALIDATIONS = ("expired", "revoked")
# Feeds wait IN_QUEUE or IN_PROGRESS for hours under load: "feeds can take up to eight hours
# to process" (Feeds API use case guide, quoted in amzn/selling-partner-api-models #657);
# 40 hours IN_QUEUE in #4354; IN_PROGRESS with no end in #1680. Amazon also ends feeds
# CANCELLED by itself, e.g. when the account may no longer sell there (#788;
# jlevers/selling-partner-api #555).
STUCK_STATUSES = ("IN_QUEUE", "IN_PROGRESS")
# A region's endpoint answering 503 to everything for hours (amzn/selling-partner-api-models
# #4850, Europe, "503 errors all the time whole day"; #4667).
REGIONS = ("NA", "EU", "FE")
# A 200 whose body is not the JSON it should be: blank payloads in Europe (#4850), and the
# library's JSONDecodeError on bodies it could not parse (saleweaver/python-amazon-sp-api
# #811, #1550). `truncated` cuts the body short, `malformed` breaks its syntax.
BAD_JSON_MODES = ("truncated", "malformed")
# A GZIP report document that does not decompress (amzn/selling-partner-api-models #844):
# `truncated` ends early (a dropped download), `corrupt` has bytes changed (CRC fails).
BAD_GZIP_MODES = ("truncated", "corrupt")
# An ACCEPTED listings write that shows only much later, never (amzn/selling-partner-api-
# models #2201: "The API return successful, but ... the seller center did not change";
# selling-partner-api-docs #3698: "ACCEPTED ... after 30 minutes the price is never
# updated"), or that Amazon takes back later, e.g. when a listing is suppressed or another
# contribution wins the attribute (amzn/selling-partner-api-models #4028).
WRITE_VISIBILITY_MODES = ("delayed", "never", "reverted")

EDGE_FAULT_NAMES = (
    "token_endpoint",
    "token_invalidated",
    "feed_stuck",
    "feed_cancelled",
    "region_down",
    "bad_json",
    "bad_gzip",
    "write_visibility",
)
FAULT_NAMES = (*FAULT_NAMES, *EDGE_FAULT_NAMES)

# Reports as Amazon really sends them (issue 15). Amazon cancels a report requested too often
# as well as one with no data; listings reports from German accounts have shown
# "fulfilment-channel", "Deprecated column" placeholders and extra columns
# (amzn/selling-partner-api-models #3999, #4140); Japanese ones come in Shift_JIS (cp932)
# with Japanese headers (selling-partner-api-docs #2086). See engine.sandbox.listing_reports.
REPORT_VARIANTS = ("de_legacy", "jp_cp932")
FAULT_NAMES = (*FAULT_NAMES, "report_cancelled", "report_variant")


def set_report_cancelled(store: Store) -> None:
    """Every report requested from now on ends CANCELLED, whether it has data or not."""
    with store.write() as tx:
        tx.set_fault("report_cancelled", {})


def set_report_variant(store: Store, variant: str) -> None:
    """Merchant listings reports come as `variant` (REPORT_VARIANTS) in every marketplace."""
    _choice(variant, REPORT_VARIANTS, "report variant")
    with store.write() as tx:
        tx.set_fault("report_variant", {"variant": variant})


def _hours(value: float | str) -> float:
    try:
        hours = float(str(value))
    except ValueError:
        raise FaultError(f"hours {value!r} is not a number") from None
    if not 0.0 < hours <= 24.0 * 30:
        raise FaultError(f"hours {value!r} must be more than 0 and at most 720 (30 days)")
    return hours


def _choice(value: str, allowed: Iterable[str], what: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise FaultError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def set_token_endpoint_errors(
    store: Store, probability: float | str, *, error: str = "server_error"
) -> None:
    """The LWA token endpoint answers `error` (an OAuth error code) with a probability."""
    _choice(error, TOKEN_ENDPOINT_ERRORS, "token endpoint error")
    config = {"probability": _probability(probability), "error": error}
    with store.write() as tx:
        tx.set_fault("token_endpoint", config)


def invalidate_tokens(store: Store, how: str, *, wall_now: float) -> None:
    """Every access token issued before `wall_now` (real time, as tokens are) is refused from
    now on, as `expired` or `revoked`; tokens issued later work. `revoked` also makes the
    token endpoint refuse the refresh token (invalid_grant) until cleared."""
    _choice(how, TOKEN_INVALIDATIONS, "token invalidation")
    with store.write() as tx:
        tx.set_fault("token_invalidated", {"how": how, "issued_before": float(wall_now)})


def set_feed_stuck(store: Store, status: str, hours: float | str) -> None:
    """Feeds created from now on stay `status` (IN_QUEUE or IN_PROGRESS) for `hours` more
    (virtual time) before processing goes on as usual."""
    _choice(status, STUCK_STATUSES, "stuck status")
    with store.write() as tx:
        tx.set_fault("feed_stuck", {"status": status, "hours": _hours(hours)})


def set_feed_cancelled(store: Store) -> None:
    """Feeds end CANCELLED (by Amazon, with no result document): nothing in them applied."""
    with store.write() as tx:
        tx.set_fault("feed_cancelled", {})


def set_region_down(store: Store, regions: Iterable[str]) -> None:
    """Every call naming a marketplace of `regions` answers 503 ServiceUnavailable."""
    chosen = sorted(set(regions))
    if not chosen:
        raise FaultError("name at least one region to take down")
    for region in chosen:
        _choice(region, REGIONS, "region")
    with store.write() as tx:
        tx.set_fault("region_down", {"regions": chosen})


def set_bad_json(
    store: Store,
    probability: float | str,
    *,
    mode: str = "truncated",
    operations: Iterable[str] | None = None,
) -> None:
    """Successful (2xx) JSON answers come back `truncated` or `malformed` with a probability;
    the call itself took effect (a write was applied)."""
    _choice(mode, BAD_JSON_MODES, "bad JSON mode")
    config = {
        "probability": _probability(probability),
        "mode": mode,
        "operations": _operations(operations),
    }
    with store.write() as tx:
        tx.set_fault("bad_json", config)


def set_bad_gzip(store: Store, mode: str = "truncated") -> None:
    """GZIP documents (reports) download `truncated` or `corrupt`."""
    _choice(mode, BAD_GZIP_MODES, "bad GZIP mode")
    with store.write() as tx:
        tx.set_fault("bad_gzip", {"mode": mode})


def set_write_visibility(store: Store, mode: str, hours: float | str | None = None) -> None:
    """Listings writes accepted from now on: `delayed` show after `hours` (virtual time);
    `never` are answered ACCEPTED and dropped; `reverted` apply as usual and are taken back
    `hours` later (the listing goes back to what it was before the write)."""
    _choice(mode, WRITE_VISIBILITY_MODES, "write visibility mode")
    config: dict[str, Any] = {"mode": mode}
    if mode != "never":
        if hours is None:
            raise FaultError(f"a {mode} write needs the hours it takes")
        config["hours"] = _hours(hours)
    with store.write() as tx:
        tx.set_fault("write_visibility", config)


def token_endpoint_refusal(injector: FaultInjector) -> tuple[int, str] | None:
    """(status, OAuth error) the token endpoint answers now, or None to issue a token."""
    faults = injector._refresh()
    if faults.get("token_invalidated", {}).get("how") == "revoked":
        return 400, "invalid_grant"
    config = faults.get("token_endpoint")
    if not config:
        return None
    with injector._lock:
        if injector._rng.random() >= float(config["probability"]):
            return None
    return TOKEN_ENDPOINT_ERRORS[config["error"]], str(config["error"])


def token_invalidation(injector: FaultInjector, issued_at: float) -> str | None:
    """`expired` or `revoked` for an access token issued (real time) at `issued_at`."""
    config = injector._refresh().get("token_invalidated")
    if not config or issued_at >= float(config["issued_before"]):
        return None
    return str(config["how"])


def feed_delay(injector: FaultInjector) -> tuple[timedelta, timedelta]:
    """(extra time IN_QUEUE, extra time IN_PROGRESS) for a feed created now."""
    config = injector._refresh().get("feed_stuck")
    if not config:
        return timedelta(0), timedelta(0)
    extra = timedelta(hours=float(config["hours"]))
    return (extra, timedelta(0)) if config["status"] == "IN_QUEUE" else (timedelta(0), extra)


def feed_cancelled(injector: FaultInjector) -> bool:
    return "feed_cancelled" in injector._refresh()


def region_down(injector: FaultInjector, marketplace_ids: Iterable[str]) -> str | None:
    """The region that is down among the marketplaces a call names, if any."""
    config = injector._refresh().get("region_down")
    if not config:
        return None
    for marketplace_id in marketplace_ids:
        known = BY_ID.get(marketplace_id)
        if known is not None and known.region in config["regions"]:
            return known.region
    return None


def mangle_json(injector: FaultInjector, operation: str, text: str) -> str | None:
    """The broken body to send in place of `text`, or None to send it as it is."""
    config = injector._refresh().get("bad_json")
    if not config or not _applies(config, operation) or not text:
        return None
    with injector._lock:
        if injector._rng.random() >= float(config["probability"]):
            return None
    if config["mode"] == "truncated":
        return text[: len(text) // 2]
    return text.replace(":", " ", 1) if ":" in text else text + ","


def mangle_gzip(injector: FaultInjector, content: bytes) -> bytes | None:
    """The broken bytes to send in place of a GZIP document, or None when no fault is on."""
    config = injector._refresh().get("bad_gzip")
    if not config:
        return None
    if config["mode"] == "truncated":
        return content[: max(1, len(content) // 2)]
    middle = len(content) // 2
    return (
        content[:middle]
        + bytes(b ^ 0xFF for b in content[middle : middle + 8])
        + (content[middle + 8 :])
    )


# -- out-of-band edits of texts, and deletions ------------------------------------------------
# Sellers and their colleagues edit titles and bullet points in Seller Central, and delete
# listings there, outside any tool (the reason drift detection exists; see docs/spapi.md).

TEXT_FIELDS = {
    "title": "item_name",
    "brand": "brand",
    "description": "product_description",
    "bullet_points": "bullet_point",
}


def out_of_band_text(
    account: Account, marketplace: str, sku: str, field: str, value: str | list[str]
) -> Listing:
    """Set a text attribute directly (title, brand, description, or bullet_points as a list),
    as a person in Seller Central would; the language tag stays what the listing had."""
    name = TEXT_FIELDS.get(field)
    if name is None:
        raise FaultError(f"text field must be one of {', '.join(TEXT_FIELDS)}, got {field!r}")
    values = [value] if isinstance(value, str) else list(value)
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise FaultError(f"{field} needs non-empty text")

    def edit(listing: Listing) -> Listing:
        attrs = {k: [dict(v) for v in vs] for k, vs in listing.attributes.items()}
        old = attrs.get(name) or attrs.get("item_name") or [{}]
        shape = {k: v for k, v in old[0].items() if k in ("language_tag", "marketplace_id")}
        attrs[name] = [{**shape, "value": text} for text in values]
        return replace(listing, attributes=attrs)

    return account.edit_listing(sku, marketplace, edit)


def out_of_band_delete(account: Account, marketplace: str, sku: str) -> None:
    """Delete a listing directly, as a person in Seller Central would."""
    account.delete_listing_directly(sku, marketplace)
