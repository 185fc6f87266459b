"""One running sandbox: store, clock, account, rate limits, faults and the HTTP server.

`Sandbox.open(state_dir, seed=(seller_id, resources))` is what the CLI and the tests use; when
the backend is `sandbox`, commands open one in-process and point python-amazon-sp-api at it
with `client_kwargs()` (no monkeypatching: a marketplace object and an LWA client class).

The timing profile (engine.sandbox.timing) is chosen by whoever opens the sandbox and is
never saved in the state directory: `fast` unless told otherwise (every test, and the
sandbox a command opens for itself), `amazon` where `sync sandbox serve`, `scenario` and the
benchmarks ask for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.core import jsonio
from engine.core.marketplaces import MARKETPLACES
from engine.core.resource import Resource
from engine.live.clients import SpApiMarketplace, token_client_class
from engine.sandbox import faults as faults_mod
from engine.sandbox.account import Account
from engine.sandbox.app import (
    LWA_TOKEN_PATH,
    SANDBOX_CREDENTIALS,
    LwaCredentials,
    SandboxApp,
    SandboxServer,
)
from engine.sandbox.clock import ClockState, VirtualClock
from engine.sandbox.documents import GZIP_THRESHOLD
from engine.sandbox.notifications import (
    NOTIFICATION_TYPES,
    PAYLOAD_VERSION,
    Notifications,
)
from engine.sandbox.ratelimit import RateLimiter
from engine.sandbox.seed import seed_store
from engine.sandbox.sqs import QUEUE_NAME, LocalSqs, arn_parts, queue_arn
from engine.sandbox.store import FILENAME as STORE_FILENAME
from engine.sandbox.store import Store
from engine.sandbox.timing import DEFAULT_SEED, FAST, TimingProfile, Timings


def saved_clock(state_dir: Path) -> ClockState | None:
    """The clock the last process of the embedded sandbox in `state_dir` saved; None when
    there is no sandbox there (nothing is created to find out)."""
    if not (state_dir / STORE_FILENAME).exists():
        return None
    store = Store(state_dir)
    try:
        with store.read() as tx:
            saved = tx.meta("clock")
    finally:
        store.close()
    return None if saved is None else ClockState.from_dict(jsonio.loads(saved))


def saved_now(state_dir: Path) -> datetime | None:
    """The embedded sandbox's virtual time now, on the clock its last process saved (None:
    no sandbox). For commands that read only the state store, whose records that clock
    stamped."""
    state = saved_clock(state_dir)
    return None if state is None else VirtualClock.resume(state).now()


class Sandbox:
    """A sandbox account with its server. Start/stop it, or use it as a context manager."""

    def __init__(
        self,
        store: Store,
        clock: VirtualClock,
        *,
        rate_limits: bool = True,
        timing: TimingProfile = FAST,
        timing_seed: int = DEFAULT_SEED,
        processing_delay: timedelta | None = None,
        credentials: LwaCredentials = SANDBOX_CREDENTIALS,
        wall: Callable[[], float] = time.time,
        gzip_threshold: int = GZIP_THRESHOLD,
        notification_lag: timedelta | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.credentials = credentials
        self.timings = Timings(timing, timing_seed)
        self.account = Account(
            store, clock, timings=self.timings, processing_delay=processing_delay
        )
        self.limiter = RateLimiter(clock, enabled=rate_limits)
        self.faults = faults_mod.FaultInjector(store, clock)
        self.notifications = Notifications(self.account, lag=notification_lag)
        self.sqs = LocalSqs()
        self.app = SandboxApp(
            self.account,
            self.limiter,
            self.faults,
            credentials=credentials,
            wall=wall,
            gzip_threshold=gzip_threshold,
            notifications=self.notifications,
        )
        self._server: SandboxServer | None = None

    @classmethod
    def open(
        cls,
        state_dir: Path,
        *,
        seed: tuple[str, Iterable[Resource]] | None = None,
        clock: VirtualClock | None = None,
        reseed: bool = False,
        exact: bool = False,
        source: Path | str = "",
        **options: Any,
    ) -> Sandbox:
        """Open the sandbox in `state_dir`, seeding it first if it has no account yet (or
        when `reseed`): `exact` leaves out the demo's deliberate differences, `source` is the
        config directory `seed` was rendered from (kept, and shown by `status`). Without an
        explicit clock, the clock saved by the last process is resumed, so virtual time is
        shared; a fresh one starts at the current UTC time."""
        store = Store(state_dir)
        if clock is None:
            with store.read() as tx:
                saved = tx.meta("clock")
            if saved is not None:
                clock = VirtualClock.resume(ClockState.from_dict(jsonio.loads(saved)))
            else:
                clock = VirtualClock(datetime.now(UTC))
        sandbox = cls(store, clock, **options)
        if reseed or not store.is_seeded():
            if seed is None:
                raise LookupError(f"{store.path} has no sandbox account; seed it first")
            seller_id, resources = seed
            seed_store(store, seller_id, resources, clock.now(), exact=exact, source=str(source))
        sandbox.save_clock()
        return sandbox

    # -- server -----------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        if self._server is None:
            self._server = SandboxServer(self.app, port=port)
        return self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.notifications.sender = None
        self.sqs.stop()

    def serve_forever(self, port: int = 0) -> None:
        self.start(port)
        if self._server is not None:
            self._server.serve_forever()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return self._server.url

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.store.close()

    # -- time -------------------------------------------------------------------------------
    def save_clock(self) -> None:
        with self.store.write() as tx:
            tx.set_meta("clock", jsonio.dumps(self.clock.state().to_dict()))

    def advance(self, delta: timedelta) -> datetime:
        """Move virtual time on and process whatever became due."""
        now = self.clock.advance(delta)
        self.save_clock()
        self.account.process_due()
        self.app.bulk.process_due()
        self.notifications.tick()
        return now

    # -- notifications ----------------------------------------------------------------------
    def start_sqs(self) -> str:
        """Start the local SQS API (moto, on 127.0.0.1) and deliver notifications to it;
        returns its endpoint. Its queues live as long as this process."""
        endpoint = self.sqs.start()
        self.notifications.sender = self._send
        return endpoint

    def subscribe_local_queue(self, name: str = QUEUE_NAME) -> str:
        """Start the local SQS, create queue `name` on it, and make it the destination of
        every notification type the sandbox publishes (subscriptions that exist are kept).
        Returns the queue URL, for the watchdog to poll."""
        self.start_sqs()
        url = self.sqs.create_queue(name)
        arn = queue_arn(name)
        known = {
            d["resource"]["sqs"]["arn"]: d["destinationId"]
            for d in self.notifications.get_destinations()["payload"]
        }
        destination = (
            known.get(arn)
            or self.notifications.create_destination(
                {"name": name, "resourceSpecification": {"sqs": {"arn": arn}}}
            )["payload"]["destinationId"]
        )
        for kind in NOTIFICATION_TYPES:
            if self.notifications.subscription(kind) is None:
                self.notifications.create_subscription(
                    kind, {"payloadVersion": PAYLOAD_VERSION, "destinationId": destination}
                )
        return url

    def _send(self, arn: str, bodies: list[str]) -> None:
        _, account, name = arn_parts(arn)
        client = self.sqs.client()
        url = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)]
        failed = client.send_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} of {len(bodies)} notification(s)")

    def set_speed(self, speed: float) -> None:
        self.clock.set_speed(speed)
        self.save_clock()

    # -- account ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the seeded account; rate-limit buckets refill too."""
        self.store.reset()
        self.limiter.reset()

    def status(self) -> dict[str, Any]:
        info = self.account.info
        with self.store.read() as tx:
            listings = tx.count_listings(info.seller_id)
            pending = len(tx.all_pending())
            notes = jsonio.loads(tx.meta("seed_notes") or "[]")
            source = jsonio.loads(tx.meta("seed_source") or "{}")
            active = tx.faults()
        return {
            "url": self._server.url if self._server is not None else None,
            "state_dir": str(self.store.state_dir),
            "seller_id": info.seller_id,
            "store_name": info.store_name,
            "marketplaces": [
                {"code": code, "marketplace_id": MARKETPLACES[code].marketplace_id}
                for code in info.marketplaces
            ],
            "listings": listings,
            "pending_writes": pending,
            "clock": {
                "now": self.clock.now().isoformat().replace("+00:00", "Z"),
                "speed": self.clock.speed,
                "frozen": self.clock.frozen,
            },
            "rate_limits": self.limiter.enabled,
            "timing": self.timings.profile.name,
            "faults": active,
            "seed_differences": notes,
            # The config directory the seed was rendered from (None: not recorded, a store
            # seeded before it was kept) and whether it left out the deliberate differences.
            "seeded_from": source.get("config") or None,
            "seed_exact": bool(source.get("exact", False)),
        }

    def client_settings(self, url: str | None) -> dict[str, Any]:
        """What another SP-API client needs to talk to this sandbox served at `url` (None:
        not serving): the endpoint, the LWA token URL and the demo seller's LWA credentials.
        Only the sandbox's own published demo credentials are ever shown; a sandbox opened
        with any others shows none."""
        demo = self.credentials == SANDBOX_CREDENTIALS
        return {
            "endpoint": url,
            "lwa_token_url": None if url is None else f"{url}{LWA_TOKEN_PATH}",
            "demo_lwa_credentials": {
                "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret,
                "refresh_token": self.credentials.refresh_token,
                "note": "the sandbox's demo seller's credentials: published values, not "
                "secrets, accepted only by this sandbox",
            }
            if demo
            else None,
        }

    # -- python-amazon-sp-api wiring --------------------------------------------------------
    def spapi_marketplace(self, code: str) -> SpApiMarketplace:
        mkt = MARKETPLACES[code]
        return SpApiMarketplace(self.url, mkt.marketplace_id, mkt.aws_region)

    def token_client_class(self) -> type:
        """An LWA client class that exchanges tokens with this sandbox over plain HTTP."""
        return token_client_class(self.url)

    def client_kwargs(self, code: str) -> dict[str, Any]:
        """Keyword arguments for a python-amazon-sp-api client talking to this sandbox."""
        return {
            "marketplace": self.spapi_marketplace(code),
            "credentials": self.credentials.as_spapi_credentials(),
            "auth_token_client_class": self.token_client_class(),
        }
