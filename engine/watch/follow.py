"""`sync watch --follow`: the long-running watchdog fed by SP-API notifications (SQS).

Amazon publishes ORDER_CHANGE notifications to an SQS queue within about a minute of an
order's creation or status change. They carry the seller, the marketplace, each line's SKU and
quantity, and no prices (Amazon's design). The follower long-polls the queue and, per message:

1. drops it when already handled (SQS delivers at least once; Amazon may also notify the
   same order state twice): keys are the NotificationId and order id + status + cancel flag,
   kept in the state store so a restart remembers them;
2. records the order's lines in the sales history (the same one `watch_once` keeps), which
   gives per-SKU velocity from the notifications alone, with no API call;
3. trips on the velocity rule at once; and when a SKU sells faster than its baseline, reads
   each of its orders once it is priced (one getOrder of Orders 2026-01-01, items inline)
   to learn its realized price and promotions, and trips on the below-floor and
   undeclared-promotion rules (engine.watch.detect, unchanged). Every priced order of a
   fast-selling SKU is read, not one per SKU and interval: a SKU read clean on an ordinary
   order must not wait out an interval while a runaway code sells it (getOrder's 0.5 a
   second is far above any night's order rate);
   While a price rule has fired in a marketplace (a runaway promotion confirmed by a read),
   another SKU of that marketplace selling fast there trips at once on `runaway_sibling`,
   pending units included: a promotion covers a selection of products, and waiting for
   each sibling's own first priced order (1 to 30 minutes of Pending) sells it meanwhile.
   It needs SIBLING_MIN_UNITS units in the velocity window, more than the velocity
   multiplier times the baseline: one ordinary order of an unrelated SKU is not enough;
4. records breakers (the first trip of a listing stands) and enforces them through the
   breaker's emergency path, which never waits for an apply;
5. deletes the message only then. A crash before that leaves it on the queue, and its
   redelivery finds the breaker tripped and the listing held: nothing is written twice.

A message that fails is made visible again after `retry_delay`; after `max_receives`
receives it is a poison message: moved to the dead-letter queue when one is given, else
deleted with an error in the log. A notification for a seller this process does not serve is
deleted with a warning (one process serves every account whose notifications reach the queue).

Amazon asks for a polling fallback: when no message arrived for `fallback_after`, and at
start (to catch up on what a stopped follower missed), the follower runs the ordinary pass
(engine.watch.run.watch_once) for every account, which reads orders since its checkpoint
within searchOrders' quota. Every queue error is counted and retried; the fallback keeps the
breaker working while the queue is unreachable.

Exposure caps (engine.desired.exposure) get the same work from the follower as from a cron
pass. Each notification updates the refill holds of the capped listings it names at once
(engine.watch.refill.hold_notified): a Pending order holds them until it is read priced, a
detection until incidents.yaml acknowledges it. And while any account caps a listing, the
ordinary pass also runs every `exposure_every` even when messages keep arriving (the
fallback alone would wait for the queue to go quiet, and a busy listing would never be
refilled): it reads the orders since the checkpoint, judges them priced, updates the holds
and refills what nothing holds (engine.watch.refill), leaving a refill for the next cycle
while an apply holds the account's lock. At three getOrders calls a pass (one per region),
a pass every 5 minutes uses 0.01 calls/s of getOrders' 0.0167 (its rate in the Orders API
rate limits, https://developer-docs.amazon.com/sp-api/docs/orders-api-v0-reference).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import botocore.exceptions
from prometheus_client import Counter

from engine.config.model import Config, WatchSettings
from engine.core.marketplaces import BY_ID
from engine.desired.exposure import uses_exposure
from engine.desired.render import render
from engine.live.backend import Backend
from engine.state import watched_orders
from engine.state.db import StateDB
from engine.state.watched_orders import OrderUnits
from engine.watch.breaker import breakers_for, enforce, trip
from engine.watch.detect import CANCELED, Detection, History, detect
from engine.watch.metrics import FollowMetrics
from engine.watch.refill import hold_notified
from engine.watch.run import watch_once

log = logging.getLogger(__name__)

ORDER_CHANGE = "ORDER_CHANGE"
PRICED = ("Unshipped", "PartiallyShipped", "Shipped")
DEDUPE_DAYS = 15  # SQS keeps a message 14 days at most
PRICE_RULES = frozenset({"below_floor", "undeclared_promotion", "declared_mismatch"})
# Units of a SKU in the velocity window that make it a runaway's sibling. A SKU of the demo
# seller sells about 0.1 units an hour, so three in one hour by chance is rare (~3e-4 an
# hour); a 99 %-off code sells three in a few minutes.
SIBLING_MIN_UNITS = 3


def parse_time(value: str) -> datetime:
    """A notification timestamp (ISO 8601 UTC, e.g. 2020-01-11T00:09:53.109Z)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone")
    return parsed


@dataclass(frozen=True, slots=True)
class FollowSettings:
    wait_seconds: int = 20  # SQS long polling, at most 20
    max_receives: int = 5
    retry_delay_seconds: int = 10
    fallback_after: timedelta = timedelta(minutes=5)
    # The pass that sizes holds and refills capped listings, run whatever the queue does.
    exposure_every: timedelta = timedelta(minutes=5)


@dataclass(slots=True)
class SellerAccount:
    """One seller account the follower serves: its config, backend and state store."""

    config: Config
    backend: Backend
    db: StateDB

    @property
    def seller_id(self) -> str:
        return self.config.project.seller_id


@dataclass(slots=True)
class Handled:
    """What one notification led to (for tests and the log)."""

    outcome: str  # processed | duplicate | ignored | unknown_seller
    detections: list[Detection] = field(default_factory=list)
    tripped: list[str] = field(default_factory=list)
    order_reads: int = 0


class Follower:
    """Consumes one SQS queue for every account in `accounts` (seller id -> account)."""

    def __init__(
        self,
        accounts: Mapping[str, SellerAccount],
        sqs: Any,
        queue_url: str,
        *,
        settings: FollowSettings | None = None,
        metrics: FollowMetrics | None = None,
        dead_letter_url: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.accounts = dict(accounts)
        self.sqs = sqs
        self.queue_url = queue_url
        self.settings = settings or FollowSettings()
        self.metrics = metrics or FollowMetrics()
        self.dead_letter_url = dead_letter_url
        self._monotonic = monotonic
        self._last_message = monotonic()
        self._last_fallback: float | None = None
        self._last_pass: float | None = None  # any pass: fallback or exposure cycle
        self._read: dict[tuple[str, str], datetime] = {}  # (seller, order id) -> read at
        # (seller, marketplace) -> the last price finding there, and when it was made
        self._runaway: dict[tuple[str, str], tuple[Detection, datetime]] = {}

    # -- the loop ---------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set (SIGTERM), finishing the message in hand first."""
        self.fallback()
        while not stop.is_set():
            received = self.poll()
            if received < 0:
                stop.wait(min(5, self.settings.retry_delay_seconds) or 0.1)
            self.cycle()

    def cycle(self) -> None:
        """The periodic work between polls: the fallback pass when the queue went quiet,
        else the exposure cycle's pass when it is due."""
        if self.fallback_due():
            self.fallback()
        elif self.exposure_due():
            self.exposure_pass()

    def poll(self, wait_seconds: int | None = None) -> int:
        """One long poll: handle what arrives; the number of messages, -1 on a queue error."""
        wait = self.settings.wait_seconds if wait_seconds is None else wait_seconds
        try:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
            self.metrics.queue_errors.inc()
            log.warning("receiving from the notification queue failed, retrying: %s", err)
            return -1
        self.metrics.polled(time.time())
        messages = answer.get("Messages") or []
        if messages:
            self._last_message = self._monotonic()
        for message in messages:
            self.handle_message(message)
        return len(messages)

    def fallback_due(self) -> bool:
        now = self._monotonic()
        quiet = now - self._last_message >= self.settings.fallback_after.total_seconds()
        last = self._last_fallback
        rested = last is None or now - last >= self.settings.fallback_after.total_seconds()
        return quiet and rested

    def exposure_due(self) -> bool:
        """Whether the exposure cycle's pass is due: an account caps listings and no pass
        ran for `exposure_every`."""
        last = self._last_pass
        every = self.settings.exposure_every.total_seconds()
        if last is not None and self._monotonic() - last < every:
            return False
        return any(uses_exposure(a.config) for a in self.accounts.values())

    def fallback(self) -> None:
        """The polling pass for every account (orders since each checkpoint)."""
        self._last_fallback = self._monotonic()
        self._pass(list(self.accounts.values()), self.metrics.fallback_passes)

    def exposure_pass(self) -> None:
        """The ordinary pass for every account that caps listings: what a cron pass does
        for them (holds from priced orders, refills), on the follower's own cycle."""
        capped = [a for a in self.accounts.values() if uses_exposure(a.config)]
        self._pass(capped, self.metrics.exposure_passes)

    def _pass(self, accounts: list[SellerAccount], counter: Counter) -> None:
        self._last_pass = self._monotonic()
        for account in accounts:
            now = account.backend.now()
            try:
                desired = render(account.config, now).resources
                report = watch_once(account.config, account.backend, account.db, desired, now)
            except Exception:  # the next pass or message tries again
                log.exception("polling pass for seller %s failed", account.seller_id)
                continue
            counter.inc()
            self.metrics.refills.inc(sum(r.outcome == "written" for r in report.refills))
            self._count(
                account.seller_id, report.detections, [b.incident_id for b in report.tripped]
            )

    # -- one message ------------------------------------------------------------------------
    def handle_message(self, message: Mapping[str, Any]) -> Handled | None:
        receives = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))
        try:
            handled = self.handle(json.loads(message["Body"]))
        except Exception as err:
            self._failed(message, receives, err)
            return None
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        self.metrics.messages.labels(handled.outcome).inc()
        return handled

    def _failed(self, message: Mapping[str, Any], receives: int, err: Exception) -> None:
        handle = message["ReceiptHandle"]
        if receives < self.settings.max_receives:
            self.metrics.messages.labels("retried").inc()
            log.warning("notification failed (receive %d), retrying: %s", receives, err)
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=handle,
                VisibilityTimeout=self.settings.retry_delay_seconds,
            )
            return
        self.metrics.messages.labels("poison").inc()
        if self.dead_letter_url is not None:
            self.sqs.send_message(QueueUrl=self.dead_letter_url, MessageBody=message["Body"])
            log.error("poison notification moved to the dead-letter queue: %s", err)
        else:
            log.error(
                "poison notification deleted after %d receives: %s; body: %.500s",
                receives,
                err,
                message["Body"],
            )
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=handle)

    def handle(self, body: Mapping[str, Any]) -> Handled:
        """Handle one notification (its JSON body); raises on a malformed one."""
        if body.get("NotificationType") != ORDER_CHANGE:
            return Handled("ignored")
        change = body["Payload"]["OrderChangeNotification"]
        summary = change["Summary"]
        account = self.accounts.get(change["SellerId"])
        if account is None:
            log.warning(
                "notification for seller %s, which this process does not serve", change["SellerId"]
            )
            return Handled("unknown_seller")
        order_id = change["AmazonOrderId"]
        status = summary["OrderStatus"]
        cancel = any(i.get("IsBuyerRequestedCancel") for i in summary["OrderItems"])
        keys = [
            "notification:" + body["NotificationMetadata"]["NotificationId"],
            f"order:{order_id}:{status}:{int(cancel)}",
        ]
        seller = account.seller_id
        with account.db.read() as conn:
            if watched_orders.handled(conn, seller, keys):
                return Handled("duplicate")
        published = parse_time(body["NotificationMetadata"]["PublishTime"])
        code = BY_ID[summary["MarketplaceId"]].code
        purchased = parse_time(summary["PurchaseDate"])
        lines = [
            OrderUnits(
                item["OrderItemId"],
                order_id,
                code,
                item["SellerSKU"],
                purchased,
                0 if status == CANCELED else int(item["Quantity"]),
            )
            for item in summary["OrderItems"]
        ]
        now = account.backend.now()
        self.metrics.queue_lag.set(max(0.0, (now - published).total_seconds()))
        result = Handled("processed")
        if code in account.config.project.marketplaces:
            result = self._judge(account, code, order_id, status, lines, now)
            if uses_exposure(account.config):
                settled = (
                    True
                    if status == CANCELED or result.order_reads
                    else (False if status == "Pending" else None)
                )
                skus = sorted({line.sku for line in lines})
                hold_notified(
                    account.db,
                    account.config,
                    code,
                    order_id,
                    skus,
                    settled=settled,
                    detections=result.detections,
                    now=now,
                )
        with account.db.write() as conn:
            watched_orders.mark_handled(conn, seller, keys, now)
            watched_orders.forget_handled_before(conn, seller, now - timedelta(days=DEDUPE_DAYS))
        return result

    def _judge(
        self,
        account: SellerAccount,
        code: str,
        order_id: str,
        status: str,
        lines: list[OrderUnits],
        now: datetime,
    ) -> Handled:
        config, seller = account.config, account.seller_id
        settings = config.project.watch
        window = timedelta(minutes=settings.velocity_window_minutes)
        baseline_span = timedelta(days=settings.velocity_baseline_days)
        with account.db.write() as conn:
            watched_orders.record_units(conn, seller, lines)
            history = History(
                watched_orders.order_lines(
                    conn, seller, code, now - window, now + timedelta(seconds=1)
                ),
                watched_orders.units_by_sku(
                    conn, seller, code, now - window - baseline_span, now - window
                ),
            )
        skus = {line.sku for line in lines}
        desired = render(config, now).resources
        found = [
            d for d in detect([], config, desired, {code: history}, now, settings) if d.sku in skus
        ]
        result = Handled("processed")
        hot = [
            sku for sku in sorted(skus) if self._selling_fast(history, sku, window, baseline_span)
        ]
        if status in PRICED and hot and not found and (seller, order_id) not in self._read:
            order = account.backend.read_order(code, order_id)
            result.order_reads += 1
            self.metrics.order_reads.inc()
            self._remember_read(seller, order_id, now)
            found = [
                d for d in detect([order], config, desired, {}, now, settings) if d.sku in skus
            ]
        if found:
            for detection in found:
                if detection.rule in PRICE_RULES:
                    self._runaway[(seller, code)] = (detection, now)
        else:
            found = self._siblings(seller, code, history, skus, now, window, settings)
        if not found:
            return result
        result.detections = found
        candidates = breakers_for(found, now)
        recorded = trip(account.db, seller, candidates)
        new = [b for b, kept in zip(candidates, recorded, strict=True) if b == kept]
        result.tripped = [b.incident_id for b in new]
        # Only new breakers: a listing tripped earlier was written then, and its write may
        # not show live yet (a re-write would be a second breaker write). A restarted
        # follower's first fallback pass enforces every tripped breaker again.
        enforce(account.backend, account.db, seller, new, now)
        self._count(seller, found, result.tripped)
        for detection in found:
            if detection.first_order_at is not None:
                latency = (now - detection.first_order_at).total_seconds()
                self.metrics.detection_latency.observe(max(0.0, latency))
        return result

    def _siblings(
        self,
        seller: str,
        code: str,
        history: History,
        skus: set[str],
        now: datetime,
        window: timedelta,
        settings: WatchSettings,
    ) -> list[Detection]:
        """`runaway_sibling` detections (see the module docstring) for `skus`."""
        known = self._runaway.get((seller, code))
        if known is None or now - known[1] > window:
            return []
        runaway = known[0]
        found = []
        for sku in sorted(skus - {runaway.sku}):
            lines = [line for line in history.recent if line.sku == sku and line.units > 0]
            units = sum(line.units for line in lines)
            expected = history.baseline_units.get(sku, 0) * (
                window / timedelta(days=settings.velocity_baseline_days)
            )
            limit = float(settings.velocity_multiplier) * expected
            if units < SIBLING_MIN_UNITS or units <= limit:
                continue
            found.append(
                Detection(
                    "runaway_sibling",
                    code,
                    sku,
                    f"{units} units (pending included) in the last "
                    f"{settings.velocity_window_minutes} min while a runaway promotion sells "
                    f"{runaway.sku} in {code} ({runaway.rule}: {runaway.message})",
                    tuple(dict.fromkeys(line.amazon_order_id for line in lines)),
                    units,
                    min(line.purchased_at for line in lines),
                )
            )
        return found

    @staticmethod
    def _selling_fast(history: History, sku: str, window: timedelta, baseline: timedelta) -> bool:
        """Units of `sku` in the window above what its baseline rate sells in one."""
        recent = sum(line.units for line in history.recent if line.sku == sku)
        expected = history.baseline_units.get(sku, 0) * (window / baseline)
        return recent > expected

    def _remember_read(self, seller: str, order_id: str, now: datetime) -> None:
        """An order read priced is not read again (a later Shipped change says nothing new
        about its price); memory of reads older than a day is dropped."""
        self._read[(seller, order_id)] = now
        if len(self._read) % 1000 == 0:
            old = now - timedelta(days=1)
            self._read = {key: at for key, at in self._read.items() if at >= old}

    def _count(self, seller: str, detections: list[Detection], tripped: list[str]) -> None:
        for detection in detections:
            self.metrics.detections.labels(seller, detection.rule).inc()
        if tripped:
            self.metrics.trips.labels(seller).inc(len(tripped))
