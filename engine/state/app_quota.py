"""The application-wide quota: one token bucket per (SP-API application, operation), shared by
every process of that application through the PostgreSQL state store.

Amazon limits some operations per application as well as per selling partner (for example
patchListingsItem 500 requests a second and getListingsItem 100 over every account one
application serves; engine.core.spapi_limits.APP_LIMITS cites the source). Each process
already paces itself per seller (engine.live.throttle); this is the second bucket a call must
pass, after its seller's.

The bucket is one row of `app_rate_buckets`, and taking a token is one statement: an
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` that refills the row from the time elapsed on
the database's clock (`clock_timestamp()`), takes a token and returns what is left. The row
lock PostgreSQL takes for the update serialises concurrent callers, so N processes on any
number of hosts together never take more than `burst + rate × t` tokens in t seconds, and no
host's clock is involved. A caller that finds the bucket empty still takes its token (the count
goes below zero: a reservation) and sleeps until that token is due, so waiting callers queue
in the order they asked instead of all retrying at once.

SQLite has no shared clock and lives in one state directory, so there is no application-wide
limiter on it (see `wanted`); each process's per-seller buckets are all there is.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from engine.config.model import StateStore
from engine.core.spapi_limits import APP_LIMITS, Limit
from engine.state.db import StateDB, StateStoreError
from engine.state.tables import app_rate_buckets

_T = app_rate_buckets.name

# One round trip: create the row full on first use, else refill it from the database's clock
# (never backwards: a caller whose clock_timestamp() predates the last update adds nothing),
# cap it at `burst`, take one token. The rate and burst follow the caller's configuration.
_TAKE = sa.text(
    f"""
    INSERT INTO {_T} AS b (application, operation, rate, burst, tokens, updated)
    VALUES (:application, :operation, :rate, :burst, :burst - 1, clock_timestamp())
    ON CONFLICT (application, operation) DO UPDATE SET
        tokens = LEAST(
            CAST(EXCLUDED.burst AS DOUBLE PRECISION),
            b.tokens
            + GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - b.updated)) * EXCLUDED.rate
        ) - 1,
        updated = GREATEST(b.updated, clock_timestamp()),
        rate = EXCLUDED.rate,
        burst = EXCLUDED.burst
    RETURNING tokens
    """
)

# Amazon said the application is over its limit: whatever the row believed, no token is left.
_EMPTY = sa.text(
    f"""
    UPDATE {_T} AS b SET
        tokens = LEAST(
            0,
            b.tokens + GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - b.updated)) * b.rate
        ),
        updated = GREATEST(b.updated, clock_timestamp())
    WHERE application = :application AND operation = :operation
    """
)


def application_key(lwa_client_id: str) -> str:
    """The row key of an application: a digest of its LWA client id, so the id itself is
    never written to the store."""
    return hashlib.sha256(f"sellersync-app\0{lwa_client_id}".encode()).hexdigest()[:24]


class SharedBuckets:
    """The application-wide buckets of one application in one PostgreSQL state store.
    Thread-safe (each call is its own transaction). Operations without a published
    per-application limit pass straight through."""

    def __init__(
        self,
        db: StateDB,
        application: str,
        *,
        limits: dict[str, Limit] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not db.is_postgresql:
            raise StateStoreError(
                "the application-wide rate limiter needs the PostgreSQL state store "
                "(state.backend: postgresql)"
            )
        self._db = db
        self.application = application
        self._limits = APP_LIMITS if limits is None else limits
        # Real time always: the bucket refills on the database's real clock, even when the
        # per-seller buckets wait on the embedded sandbox's virtual one.
        self._sleep = sleep

    def acquire(self, operation: str) -> float:
        """Take a token of `operation`'s application bucket, sleeping until it is due;
        returns the seconds waited (0 for an operation with no application limit)."""
        limit = self._limits.get(operation)
        if limit is None:
            return 0.0
        params = {
            "application": self.application,
            "operation": operation,
            "rate": limit.rate,
            "burst": limit.burst,
        }
        tokens = self._run(lambda conn: conn.execute(_TAKE, params).scalar_one())
        wait = -float(tokens) / limit.rate if tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def throttled(self, operation: str) -> None:
        """Amazon refused a call for the application's limit: empty the shared bucket, so
        every process of the application waits for the refill."""
        if operation in self._limits:
            params = {"application": self.application, "operation": operation}
            self._run(lambda conn: conn.execute(_EMPTY, params))

    def _run(self, statement: Callable[[sa.Connection], object]) -> object:
        try:
            with self._db.write() as conn:
                return statement(conn)
        except sa.exc.DBAPIError as err:
            reason = str(err.orig).strip().splitlines()[0]
            raise StateStoreError(
                f"the application-wide rate limiter in {self._db.where} failed: {reason}"
            ) from None


@dataclass(frozen=True, slots=True)
class Wanted:
    """Whether a command shares the application's quota, and why not when it does not."""

    on: bool
    why: str


def wanted(store: StateStore, backend_kind: str, db: StateDB) -> Wanted:
    """`state.app_quota` read against the store that is open: `auto` shares the quota when
    the store is PostgreSQL and the backend is Amazon (`backend.kind: spapi`); `state`
    whenever the store is PostgreSQL (a served sandbox in a test or a benchmark); `off`
    never. A SQLite store never shares it: it has no clock or rows another host can see."""
    if store.app_quota == "off":
        return Wanted(False, "state.app_quota is off")
    if not db.is_postgresql:  # `state` with SQLite is refused when project.yaml is loaded
        return Wanted(False, "the state store is SQLite, which no other process shares")
    if store.app_quota == "auto" and backend_kind != "spapi":
        return Wanted(False, "the backend is the embedded sandbox, not Amazon's quota")
    return Wanted(True, f"shared through {db.where}")
