"""Feeds 2021-06-30: upload a document, create a feed, poll it, fetch its processing report.

What a feed does is up to the processor registered for its feedType: a function
`(FeedContext, content: bytes) -> Outcome`, registered with one call, e.g.
`register_processor("JSON_LISTINGS_FEED", listings_feed.process)`. A feedType with no
processor is refused at createFeed (400 InvalidInput), as Amazon refuses unknown types.
The lifecycle (queue, processing time, cancel, listing) is `jobs.JobQueue`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from engine.sandbox import faults
from engine.sandbox.account import Account, invalid_input
from engine.sandbox.documents import Documents
from engine.sandbox.faults import FaultInjector
from engine.sandbox.jobs import (
    JobQueue,
    Outcome,
    marketplace_ids,
    string_options,
    times,
)
from engine.sandbox.store import Job


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What a processor gets besides the document: the feed, the account to apply it to,
    and the per-message error fault to consult for each message it processes."""

    feed: Job
    account: Account
    message_fails: Callable[[], bool]


FeedProcessor = Callable[[FeedContext, bytes], Outcome]
FatalReport = Callable[[FeedContext, str], bytes]


@dataclass(frozen=True, slots=True)
class _Registration:
    process: FeedProcessor
    fatal_report: FatalReport | None


_PROCESSORS: dict[str, _Registration] = {}


def register_processor(
    feed_type: str, process: FeedProcessor, *, fatal_report: FatalReport | None = None
) -> None:
    """Make `feed_type` acceptable and processed by `process`. `fatal_report(context,
    reason)` writes the result document of a feed the `feed_fatal` fault aborts (without
    it such a feed ends FATAL with no result document)."""
    _PROCESSORS[feed_type] = _Registration(process, fatal_report)


def feed_types() -> list[str]:
    return sorted(_PROCESSORS)


class Feeds(JobQueue):
    """The Feeds API of one sandbox account."""

    kind = "feed"
    list_key = "feeds"
    types_key = "feedTypes"

    def __init__(self, account: Account, documents: Documents, faults: FaultInjector) -> None:
        super().__init__(account, documents)
        self.faults = faults

    def durations(self) -> tuple[timedelta, timedelta]:
        return self.account.timings.feed()

    def create_feed(self, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_input("The request body must be a JSON object.")
        feed_type = body.get("feedType")
        if feed_type not in _PROCESSORS:
            raise invalid_input(
                f"Invalid 'feedType' {feed_type!r}; the sandbox processes "
                f"{', '.join(feed_types())}."
            )
        mids = marketplace_ids(body.get("marketplaceIds"))
        self.account.marketplaces(mids)
        document_id = body.get("inputFeedDocumentId")
        with self.account.store.read() as tx:
            document = tx.document(document_id) if isinstance(document_id, str) else None
        if document is None or document.content is None or document.sealed:
            raise invalid_input(
                f"Invalid 'inputFeedDocumentId' {document_id!r}: create a feed document, "
                "upload its content, and use it for one feed only."
            )
        options = string_options(body, "feedOptions")
        feed_id = self.create(
            feed_type,
            mids,
            {"feedOptions": options},
            input_document_id=document_id,
            delay=faults.feed_delay(self.faults),
        )
        return {"feedId": feed_id}

    def view(self, job: Job) -> dict[str, Any]:
        """A Feed (Feeds 2021-06-30)."""
        result: dict[str, Any] = {
            "feedId": job.id,
            "feedType": job.job_type,
            "marketplaceIds": list(job.marketplace_ids),
            "processingStatus": job.status,
            **times(job),
        }
        if job.result_document_id is not None:
            result["resultFeedDocumentId"] = job.result_document_id
        return result

    def run(self, job: Job) -> Outcome:
        registration = _PROCESSORS[job.job_type]
        context = FeedContext(job, self.account, self.faults.feed_message_fails)
        if faults.feed_cancelled(self.faults):
            return Outcome("CANCELLED")  # Amazon's own cancellation: nothing processed
        if self.faults.feed_fatal():
            reason = "The feed was aborted by the sandbox's feed_fatal fault."
            report = registration.fatal_report
            return Outcome("FATAL", None if report is None else report(context, reason))
        with self.account.store.read() as tx:
            document = tx.document(job.input_document_id or "")
        content = document.content if document is not None else None
        return registration.process(context, content or b"")
