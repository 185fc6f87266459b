"""How long the sandbox takes to do what Amazon does asynchronously: timing profiles.

Two profiles:

- `fast` (what `Sandbox` uses unless told otherwise, so every unit test gets it): fixed,
  short delays (a listing write shows after 30 s, a feed or report is queued 30 s and
  processed 60 s), nothing lost, no report cancelled for frequency. Tests stay
  deterministic and quick, and can reason about exact times.
- `amazon` (what `sync sandbox serve`, `sync sandbox scenario` and the benchmarks use):
  delays drawn from distributions shaped on what Amazon documents and what its users
  report in the public issue trackers of amzn/selling-partner-api-models and
  amzn/selling-partner-api-docs. Each figure below names its sources. Draws come from one
  `random.Random(seed)` in call order, so a single-threaded run (a benchmark, a scenario)
  is the same run every time for the same seed.

A delay is a triangular distribution (low, most likely, high): bounded like Amazon's
observed range, skewed to the short end where most reports put the typical case.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import timedelta

DEFAULT_SEED = 0


@dataclass(frozen=True, slots=True)
class Span:
    """A delay between `low` and `high`, most often near `mode` (triangular)."""

    low: timedelta
    mode: timedelta
    high: timedelta

    def __post_init__(self) -> None:
        if not timedelta(0) <= self.low <= self.mode <= self.high:
            raise ValueError(f"a span needs 0 <= low <= mode <= high, got {self}")

    @classmethod
    def fixed(cls, value: timedelta) -> Span:
        return cls(value, value, value)

    @classmethod
    def minutes(cls, low: float, mode: float, high: float) -> Span:
        return cls(timedelta(minutes=low), timedelta(minutes=mode), timedelta(minutes=high))

    def draw(self, rng: random.Random) -> timedelta:
        if self.low == self.high:
            return self.low
        seconds = rng.triangular(
            self.low.total_seconds(), self.high.total_seconds(), self.mode.total_seconds()
        )
        return timedelta(seconds=round(seconds))


@dataclass(frozen=True, slots=True)
class TimingProfile:
    """The figures of one profile (see the module docstring).

    listing_visible: from an ACCEPTED put/patch/delete to getListingsItem showing it.
    listing_lost_share: the share of ACCEPTED listing writes that never show (0 to 1).
    feed_queue / feed_processing: IN_QUEUE, then IN_PROGRESS, until DONE.
    report_queue / report_processing: likewise for reports.
    report_repeat_window: a report of the same type and marketplaces created within this
    time of the previous one (still running, or finished within it) ends CANCELLED with no
    document; None: never.
    report_lag: how far behind the latest processed listing writes a merchant-listings
    report's data is (the report shows listings as they were that long before it is done).
    notification_delivery: from the event (an order placed, paid, cancelled) to its
    notification being on the SQS queue.
    notification_duplicate_share: the share of notifications SQS delivers a second time,
    later (0 to 1)."""

    name: str
    listing_visible: Span
    listing_lost_share: float
    feed_queue: Span
    feed_processing: Span
    report_queue: Span
    report_processing: Span
    report_repeat_window: timedelta | None
    report_lag: Span
    notification_delivery: Span
    notification_duplicate_share: float

    def __post_init__(self) -> None:
        if not 0 <= self.listing_lost_share < 1:
            raise ValueError(f"listing_lost_share must be in [0, 1), got {self}")
        if not 0 <= self.notification_duplicate_share < 1:
            raise ValueError(f"notification_duplicate_share must be in [0, 1), got {self}")


FAST = TimingProfile(
    name="fast",
    listing_visible=Span.fixed(timedelta(seconds=30)),
    listing_lost_share=0.0,
    feed_queue=Span.fixed(timedelta(seconds=30)),
    feed_processing=Span.fixed(timedelta(seconds=60)),
    report_queue=Span.fixed(timedelta(seconds=30)),
    report_processing=Span.fixed(timedelta(seconds=60)),
    report_repeat_window=None,
    report_lag=Span.fixed(timedelta(0)),
    notification_delivery=Span.fixed(timedelta(seconds=60)),
    notification_duplicate_share=0.0,
)

AMAZON = TimingProfile(
    name="amazon",
    # 1 to 15 minutes, most often about 3. Amazon: ACCEPTED only means the submission passed
    # synchronous validation; downstream processes then update the catalog ("Manage Listings
    # Issues", https://developer-docs.amazon.com/sp-api/docs/manage-listings-issues). Users:
    # a price patch "takes few minutes to reflect"
    # (https://github.com/amzn/selling-partner-api-docs/issues/2167); a repricer sees
    # ~15-20 minutes on one account and ~40 on another
    # (https://github.com/amzn/selling-partner-api-models/issues/2945). The 40-minute tail
    # is left out: the range is the typical one, not the worst.
    listing_visible=Span.minutes(1, 3, 15),
    # 1 %: ACCEPTED submissions that never appear, with no issue to say why, are reported
    # again and again: https://github.com/amzn/selling-partner-api-models/issues/4764 (an
    # Amazon engineer: "Accepted doesn't mean DONE"; issues can arise after acceptance),
    # https://github.com/amzn/selling-partner-api-docs/issues/2787 ("ACCEPTED but not in
    # Seller Central"), https://github.com/jlevers/selling-partner-api/issues/838
    # (post-processing errors: accepted, never in the catalog). No rate is published; 1 %
    # is our choice, enough for a night's benchmark to meet one.
    listing_lost_share=0.01,
    # Queue 2 to 15 minutes and processing 3 to 30 (5 to 45 in all, most often ~15). Users:
    # JSON_LISTINGS_FEED feeds take ~30 minutes regardless of size
    # (https://github.com/amzn/selling-partner-api-models/issues/5151, EU, 2026); "more
    # than 15 minutes" where under 5 was usual
    # (https://github.com/amzn/selling-partner-api-docs/issues/3161); 30 minutes for a few
    # messages (https://github.com/amzn/selling-partner-api-models/issues/4354). Amazon
    # says feeds can take up to eight hours under high load (Feeds API use case guide,
    # quoted in https://github.com/amzn/selling-partner-api-models/issues/657) and to send
    # one feed of a type no more than every 20 minutes
    # (https://developer-docs.amazon.com/sp-api/docs/feeds-api-best-practices).
    feed_queue=Span.minutes(2, 5, 15),
    feed_processing=Span.minutes(3, 8, 30),
    # Queue 0.5 to 3 minutes and processing 0.5 to 7 (1 to 10 in all). Users: a report is
    # "generally processed within a few minutes"
    # (https://github.com/amzn/selling-partner-api-models/issues/2659); "some complete in
    # as little as 25 seconds and some take several minutes"
    # (https://github.com/meertensm/amazon-mws/issues/70).
    report_queue=Span.minutes(0.5, 1, 3),
    report_processing=Span.minutes(0.5, 2, 7),
    # CANCELLED when the same report is asked for again too soon. Amazon documents only
    # two causes (an explicit cancel, no data), but users report a third, requesting too
    # often: https://github.com/amzn/selling-partner-api-docs/issues/1329 ("At least one
    # of those reasons is you are requesting it too frequently"),
    # https://github.com/amzn/selling-partner-api-docs/issues/1604 ("likely canceled due
    # to too many requests for the same report type (at the account level)"); an Amazon
    # architect asks developers not to ask for the same reports over and over
    # (https://github.com/amzn/selling-partner-api-docs/issues/2935). The limit per report
    # type is not published; 5 minutes is our choice.
    report_repeat_window=timedelta(minutes=5),
    # 0 to 80 minutes behind, most often 20: a listings report can show listings as they
    # were before the latest writes. Users: an inventory change made in Seller Central
    # showed in the open-listings report "after an hour and 20 minutes", polled every 15
    # (https://github.com/amzn/selling-partner-api-docs/issues/1299); GET_MERCHANT_LISTINGS_
    # ALL_DATA "is not real-time" (https://github.com/amzn/selling-partner-api-docs/issues/1130,
    # a status change missing a day later, answered "normally updated pretty quickly"; that
    # day-long tail is left out, as the listings' 40-minute tail is).
    report_lag=Span.minutes(0, 20, 80),
    # 1 to 5 minutes, most often 2: an assumption, on the slow side. Amazon publishes no
    # delivery latency for ORDER_CHANGE (the use case guide says only that it is sent
    # "whenever there is an important change in the order":
    # https://developer-docs.amazon.com/sp-api/docs/notifications-api-v1-use-case-guide#order_change).
    # The tail users report is far longer (notifications "with a 24 hour delay",
    # https://github.com/amzn/selling-partner-api-models/issues/4509) and is left out, as
    # the listings' 40-minute tail is: the span is the ordinary case, not an outage.
    notification_delivery=Span.minutes(1, 2, 5),
    # 1 %, delivered again 1 to 5 minutes later: SQS standard queues deliver at least once;
    # "occasionally ... more than one copy of a message might be delivered out of order", and
    # ordering is best-effort only (Amazon SQS Developer Guide, standard queues:
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html).
    # AWS gives no rate for "occasionally"; 1 % is our choice, enough for a night to meet
    # several. Independent delivery delays per notification also reorder them.
    notification_duplicate_share=0.01,
)

PROFILES: dict[str, TimingProfile] = {p.name: p for p in (FAST, AMAZON)}


class Timings:
    """A profile with its seeded random source: what sandbox code draws delays from.
    Thread-safe (the server answers on several threads)."""

    def __init__(self, profile: TimingProfile = FAST, seed: int = DEFAULT_SEED) -> None:
        self.profile = profile
        self.seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def _draw(self, span: Span) -> timedelta:
        with self._lock:
            return span.draw(self._rng)

    def listing_visible(self) -> timedelta:
        return self._draw(self.profile.listing_visible)

    def listing_lost(self) -> bool:
        if self.profile.listing_lost_share <= 0:
            return False
        with self._lock:
            return self._rng.random() < self.profile.listing_lost_share

    def feed(self) -> tuple[timedelta, timedelta]:
        """(queue time, processing time) of a new feed."""
        return self._draw(self.profile.feed_queue), self._draw(self.profile.feed_processing)

    def notification_delivery(self) -> timedelta:
        return self._draw(self.profile.notification_delivery)

    def notification_duplicated(self) -> bool:
        if self.profile.notification_duplicate_share <= 0:
            return False
        with self._lock:
            return self._rng.random() < self.profile.notification_duplicate_share

    def report_lag(self) -> timedelta:
        return self._draw(self.profile.report_lag)

    def report(self) -> tuple[timedelta, timedelta]:
        """(queue time, processing time) of a new report."""
        return self._draw(self.profile.report_queue), self._draw(self.profile.report_processing)


def profile_named(name: str) -> TimingProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown timing profile {name!r}; use one of {', '.join(PROFILES)}"
        ) from None
