"""The lifecycle feeds and reports share: a queue on the virtual clock, listing, cancelling.

A job is created IN_QUEUE; when the clock passes its planned start it is IN_PROGRESS, and when
it passes its planned end (queue and processing times come from the sandbox's timing profile,
engine.sandbox.timing: fixed under `fast`, drawn under `amazon`) the job's runner computes
the outcome (DONE, FATAL, or CANCELLED for a report with no data) and its result document.
State moves whenever someone looks (a get or list) or the sandbox's clock is advanced, so a
frozen test clock decides exactly when.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.sandbox import listings, pagetoken
from engine.sandbox.account import Account, ApiError, csv_values, invalid_input
from engine.sandbox.documents import Documents, Grant
from engine.sandbox.store import Job
from engine.sandbox.timing import FAST

log = logging.getLogger(__name__)

# The fast profile's (tests rely on them); feeds and reports share them there.
QUEUE_TIME = FAST.feed_queue.high
PROCESSING_TIME = FAST.feed_processing.high
STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
MAX_FILTER_VALUES = 10
RETENTION = timedelta(days=90)  # Amazon keeps feeds and reports for 90 days
JSON_UTF8 = "application/json; charset=UTF-8"
MAX_MARKETPLACES = 25  # per createFeed / createReport


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a job ended, and the bytes of its result document (None: no document)."""

    status: str  # DONE | FATAL | CANCELLED
    document: bytes | None = None
    content_type: str = JSON_UTF8


class JobQueue(ABC):
    """Feeds or reports of one account, processed on the account's clock. Subclasses say
    which (`kind`, the `list_key` and `types_key` of their list operation), how a job is
    shown (`view`) and how its outcome is computed (`run`)."""

    kind = ""
    list_key = ""
    types_key = ""

    def __init__(self, account: Account, documents: Documents) -> None:
        self.account = account
        self.documents = documents

    @abstractmethod
    def durations(self) -> tuple[timedelta, timedelta]:
        """(queue time, processing time) of a job created now."""

    @abstractmethod
    def run(self, job: Job) -> Outcome:
        """The outcome of a job whose processing time is over."""

    @abstractmethod
    def view(self, job: Job) -> dict[str, Any]:
        """The job as the API shows it (a Feed or a Report)."""

    def describe(self, job_id: str) -> dict[str, Any]:
        """getFeed / getReport."""
        return self.view(self.get(job_id))

    def listing(self, args: Mapping[str, list[str]]) -> dict[str, Any]:
        """getFeeds / getReports: one page, and the nextToken for the rest."""
        tokens = self.account.page_tokens()
        query = JobQuery.parse(args, self.types_key, tokens)
        self.process_due()
        with self.account.store.read() as tx:
            matching = [job for job in tx.jobs(self.kind) if query.matches(job)]
        end = query.offset + query.page_size
        result: dict[str, Any] = {
            self.list_key: [self.view(job) for job in matching[query.offset : end]]
        }
        if end < len(matching):
            result["nextToken"] = query.token(tokens, end)
        return result

    def document(self, document_id: str, wall_now: float) -> Grant:
        """getFeedDocument / getReportDocument: a download URL for a document."""
        return self.documents.download_grant(document_id, wall_now)

    def create(
        self,
        job_type: str,
        marketplace_ids: Sequence[str],
        options: dict[str, Any],
        *,
        input_document_id: str | None = None,
        delay: tuple[timedelta, timedelta] = (timedelta(0), timedelta(0)),
    ) -> str:
        """A new job IN_QUEUE; `delay` adds time in the queue and in processing (the
        feed_stuck fault of engine.sandbox.faults)."""
        now = self.account.clock.now()
        queue_time, processing_time = self.durations()
        start = now + queue_time + delay[0]
        with self.account.store.write() as tx:
            if input_document_id is not None:
                tx.seal_document(input_document_id)
            return tx.add_job(
                kind=self.kind,
                job_type=job_type,
                marketplace_ids=marketplace_ids,
                created_at=now,
                start_at=start,
                end_at=start + processing_time + delay[1],
                input_document_id=input_document_id,
                options=options,
            )

    def get(self, job_id: str) -> Job:
        self.process_due()
        with self.account.store.read() as tx:
            job = tx.job(self.kind, job_id)
        if job is None:
            raise ApiError(404, "NotFound", f"The {self.kind} '{job_id}' does not exist.")
        return job

    def cancel(self, job_id: str) -> None:
        """Only a job still IN_QUEUE can be cancelled."""
        job = self.get(job_id)
        if job.status != "IN_QUEUE":
            raise invalid_input(
                f"The {self.kind} '{job_id}' is {job.status}; only IN_QUEUE can be cancelled."
            )
        with self.account.store.write() as tx:
            tx.finish_job(job_id, "CANCELLED")

    def process_due(self) -> int:
        """Start queued jobs and finish processed ones whose time has come; returns how many
        finished."""
        now = self.account.clock.now()
        with self.account.store.write() as tx:
            tx.start_due_jobs(self.kind, now)
            finished = tx.claim_finished_jobs(self.kind, now)
        for job in finished:
            outcome = self._outcome(job)
            with self.account.store.write() as tx:
                document_id = None
                if outcome.document is not None:
                    document_id = self.documents.save_result(
                        tx, outcome.document, outcome.content_type, job.end_at
                    )
                tx.finish_job(job.id, outcome.status, document_id)
        return len(finished)

    def _outcome(self, job: Job) -> Outcome:
        try:
            return self.run(job)
        except Exception:  # a sandbox bug must not leave the job IN_PROGRESS forever
            log.exception("%s %s (%s) failed in the sandbox", self.kind, job.id, job.job_type)
            return Outcome("FATAL")


def times(job: Job) -> dict[str, str]:
    """createdTime and, once reached, processingStartTime / processingEndTime (a job
    cancelled while queued has neither)."""
    result = {"createdTime": listings.iso(job.created_at)}
    if job.status == "IN_PROGRESS" or job.processed:
        result["processingStartTime"] = listings.iso(job.start_at)
    if job.processed and job.status != "IN_PROGRESS":
        result["processingEndTime"] = listings.iso(job.end_at)
    return result


def marketplace_ids(value: object) -> list[str]:
    """The marketplaceIds of a createFeed / createReport body (the account checks them)."""
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= MAX_MARKETPLACES
        or not all(isinstance(v, str) for v in value)
    ):
        raise invalid_input(f"'marketplaceIds' must be an array of 1 to {MAX_MARKETPLACES} ids.")
    return list(dict.fromkeys(value))


def string_options(body: Mapping[str, Any], name: str) -> dict[str, str]:
    """feedOptions / reportOptions: an optional object of strings."""
    options = body.get(name, {})
    if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
        raise invalid_input(f"'{name}' must be an object of strings.")
    return options


def date_time(value: object, name: str) -> datetime:
    """A date-time parameter, or 400 InvalidInput naming it."""
    parsed = listings.parse_when(value)
    if parsed is None:
        raise invalid_input(f"'{name}' must be an ISO 8601 date-time, got {value!r}.")
    return parsed


@dataclass(frozen=True, slots=True)
class JobQuery:
    """The filters of getFeeds / getReports. The nextToken carries all of them, because
    Amazon wants it as the only parameter of the next call."""

    types: tuple[str, ...]
    statuses: tuple[str, ...]
    marketplace_ids: tuple[str, ...]
    page_size: int
    since: datetime
    until: datetime
    offset: int = 0

    @classmethod
    def parse(
        cls, args: Mapping[str, list[str]], types_key: str, tokens: pagetoken.Codec
    ) -> JobQuery:
        token = (args.get("nextToken") or [None])[0]
        if token:
            return cls._from_token(tokens, token, [k for k in args if k != "nextToken"])
        now = tokens.now
        types = tuple(csv_values(args.get(types_key, [])))
        if not types:
            raise invalid_input(f"Either '{types_key}' or 'nextToken' is required.")
        statuses = tuple(csv_values(args.get("processingStatuses", [])))
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise invalid_input(
                f"Invalid 'processingStatuses' {', '.join(unknown)}; use {', '.join(STATUSES)}."
            )
        mids = tuple(csv_values(args.get("marketplaceIds", [])))
        for name, values in ((types_key, types), ("marketplaceIds", mids)):
            if len(values) > MAX_FILTER_VALUES:
                raise invalid_input(f"At most {MAX_FILTER_VALUES} '{name}' can be given.")
        size_text = (args.get("pageSize") or [str(DEFAULT_PAGE_SIZE)])[0]
        if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
            raise invalid_input(f"'pageSize' must be a whole number from 1 to {MAX_PAGE_SIZE}.")
        since_text = (args.get("createdSince") or [None])[0]
        until_text = (args.get("createdUntil") or [None])[0]
        since = now - RETENTION if since_text is None else date_time(since_text, "createdSince")
        until = now if until_text is None else date_time(until_text, "createdUntil")
        if since > until:
            raise invalid_input("'createdSince' must not be after 'createdUntil'.")
        return cls(types, statuses, mids, int(size_text), since, until)

    @classmethod
    def _from_token(cls, tokens: pagetoken.Codec, token: str, others: Sequence[str]) -> JobQuery:
        if others:
            raise invalid_input(
                "'nextToken' must be the only parameter; also given: " + ", ".join(others)
            )
        try:
            state = tokens.decode(token)
            return cls(
                types=tuple(state["t"]),
                statuses=tuple(state["s"]),
                marketplace_ids=tuple(state["m"]),
                page_size=int(state["n"]),
                since=date_time(state["a"], "nextToken"),
                until=date_time(state["b"], "nextToken"),
                offset=int(state["o"]),
            )
        except pagetoken.TokenError as err:
            raise invalid_input(pagetoken.problem("nextToken", err)) from None
        except (ValueError, KeyError, TypeError, ApiError):
            raise invalid_input("Invalid 'nextToken'.") from None

    def token(self, tokens: pagetoken.Codec, offset: int) -> str:
        return tokens.encode(
            {
                "t": list(self.types),
                "s": list(self.statuses),
                "m": list(self.marketplace_ids),
                "n": self.page_size,
                "a": listings.iso(self.since),
                "b": listings.iso(self.until),
                "o": offset,
            }
        )

    def matches(self, job: Job) -> bool:
        wanted_mids = set(self.marketplace_ids)
        return (
            job.job_type in self.types
            and (not self.statuses or job.status in self.statuses)
            and (not wanted_mids or not wanted_mids.isdisjoint(job.marketplace_ids))
            and self.since <= job.created_at <= self.until
        )
