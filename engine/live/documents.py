"""Report and feed documents: the asynchronous create -> poll -> document lifecycles.

Reports: createReport -> getReport until DONE -> getReportDocument -> download (maybe GZIP).
Feeds: createFeedDocument -> upload -> createFeed -> getFeed until DONE (or FATAL) ->
getFeedDocument -> download the processing report. A report Amazon CANCELLED raises
ReportCancelled, never reads as empty: Amazon cancels a report when it has no data, but also
when the same report is requested too often, and only the caller knows (from what it has
seen there before) which one is likely. Polls back off exponentially (`Polling`) through the
backend's timer, so tests do not wait.

createFeed is not idempotent: a retry after an ambiguous failure could submit the same
changes twice. So after such a failure we list this marketplace's JSON_LISTINGS_FEED feeds
created since just before the attempt; one there is ours (apply holds the lock, so nothing
else of ours submits meanwhile) and is adopted instead of resubmitting.

Document bytes travel to and from presigned URLs (S3 at Amazon), outside the SP-API quota and
the invoker. A transfer that gets no answer, or a 5xx, is tried again (`TRANSFER_TRIES` in
all, backing off through the timer): a download is a GET, and an upload PUTs the same bytes to
the same URL, which is allowed until the feed is created. When the tries run out the transfer
fails with a DocumentError saying which document and what came back.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from engine.core.errors import UserError
from engine.live.clients import SpApiError
from engine.live.invoke import AmbiguousFailure, Invoker
from engine.live.throttle import Timer

DONE = "DONE"
FATAL = "FATAL"
CANCELLED = "CANCELLED"
FAILED_STATES = (FATAL, CANCELLED)
CLOCK_SKEW = timedelta(minutes=2)


TRANSFER_TRIES = 5
TRANSFER_BACKOFF = 1.0  # seconds before the second try; doubled for each one after


class DocumentError(UserError):
    """A report or feed that ended FATAL/CANCELLED or never finished, or a document transfer
    that kept failing. A UserError: the command stops with this one line, never a crash."""


class FeedOutcomeUnknown(DocumentError):
    """createFeed got no clear answer and the check for the feed failed too: the feed may
    or may not exist, so what it holds must be looked for live before it is sent again."""


class DocumentUnreadable(DocumentError, UserError):
    """A downloaded document that cannot be decoded (a truncated or corrupt GZIP report,
    amzn/selling-partner-api-models #844). Nothing was changed, and a new download may
    succeed: a user error saying so, not a crash."""


class ReportCancelled(DocumentError):
    """Amazon ended a report CANCELLED: no data, or requested too often. Not an empty report:
    the caller decides what it means (engine.live.spapi refuses it where listings are known)."""

    def __init__(self, report_type: str, marketplace: str, report_id: str) -> None:
        self.report_type, self.marketplace, self.report_id = report_type, marketplace, report_id
        super().__init__(
            f"Amazon cancelled the {report_type} report of {marketplace} (report {report_id}): "
            "it does so when a report is requested too often or has no data"
        )


@dataclass(frozen=True, slots=True)
class ReportDocument:
    """A downloaded report: its bytes and the Content-Type it was served with (the charset,
    when there is one, says how to decode a flat-file report)."""

    data: bytes
    content_type: str | None


@dataclass(frozen=True, slots=True)
class Polling:
    first: float = 2.0
    factor: float = 2.0
    longest: float = 60.0
    give_up: float = 3600.0

    def waits(self) -> list[float]:
        waits, wait, total = [], self.first, 0.0
        while total < self.give_up:
            waits.append(wait)
            total += wait
            wait = min(self.longest, wait * self.factor)
        return waits


DEFAULT_POLLING = Polling()


@dataclass(frozen=True, slots=True)
class Operation:
    """Where one call goes: its client, marketplace and region, for the invoker."""

    invoker: Invoker
    client: Any
    marketplace: str
    region: str

    def __call__(
        self,
        name: str,
        send: Callable[[Any], Any],
        *,
        idempotent: bool = True,
        app_quotas: tuple[str, ...] = (),
    ) -> Any:
        return self.invoker.call(
            name,
            self.marketplace,
            self.region,
            lambda: send(self.client),
            idempotent=idempotent,
            app_quotas=app_quotas,
        )


def _poll(
    op: Operation,
    name: str,
    send: Callable[[Any], Any],
    timer: Timer,
    polling: Polling,
    *,
    finished: tuple[str, ...] = (DONE,),
) -> dict[str, Any]:
    """Poll until the job reaches one of `finished` (returned), or FATAL/CANCELLED."""
    for wait in [0.0, *polling.waits()]:
        if wait:
            timer.sleep(wait)
        payload = op(name, send).payload
        status = payload.get("processingStatus")
        if status in finished:
            return payload
        if status in FAILED_STATES:
            raise DocumentError(f"{name}: processing ended {status} ({op.marketplace})")
    raise DocumentError(f"{name}: not done after {polling.give_up:.0f} s ({op.marketplace})")


def _transfer(send: Callable[[], httpx.Response], timer: Timer, what: str) -> httpx.Response:
    """`send` (one GET or PUT of a document URL), tried again after no answer or a 5xx."""
    wait = TRANSFER_BACKOFF
    for attempt in range(1, TRANSFER_TRIES + 1):
        try:
            response = send()
        except httpx.TransportError as err:
            failure = f"{type(err).__name__}: {' '.join(str(err).split()) or 'no details'}"
        else:
            if response.status_code < 500:
                return response
            failure = f"HTTP {response.status_code}"
        if attempt < TRANSFER_TRIES:
            timer.sleep(wait)
            wait *= 2
    raise DocumentError(
        f"{what} failed {TRANSFER_TRIES} times (last: {failure}); Amazon's document store is "
        "not answering: wait a few minutes, then run the command again"
    )


def download(
    http: httpx.Client, url: str, compression: str | None, timer: Timer, what: str = "document"
) -> bytes:
    return download_document(http, url, compression, timer, what).data


def download_document(
    http: httpx.Client, url: str, compression: str | None, timer: Timer, what: str = "document"
) -> ReportDocument:
    response = _transfer(lambda: http.get(url), timer, f"downloading the {what}")
    if response.status_code >= 300:
        raise DocumentError(
            f"downloading the {what} was refused (HTTP {response.status_code}); run the "
            "command again"
        )
    data = response.content
    content_type = response.headers.get("content-type")
    if compression != "GZIP":
        return ReportDocument(data, content_type)
    try:
        return ReportDocument(gzip.decompress(data), content_type)
    except (OSError, EOFError, zlib.error) as err:  # truncated, or bytes changed on the way
        raise DocumentUnreadable(
            f"a document downloaded from Amazon is not valid GZIP ({err or 'truncated'}); "
            "nothing was changed: run the command again to download it again"
        ) from None


def upload(http: httpx.Client, url: str, document: bytes, content_type: str, timer: Timer) -> None:
    response = _transfer(
        lambda: http.put(url, content=document, headers={"Content-Type": content_type}),
        timer,
        "uploading the feed document",
    )
    if response.status_code >= 300:
        raise DocumentError(
            f"uploading the feed document was refused (HTTP {response.status_code}); run the "
            "command again"
        )


def fetch_report(
    op: Operation,
    http: httpx.Client,
    report_type: str,
    marketplace_id: str,
    timer: Timer,
    polling: Polling = DEFAULT_POLLING,
) -> bytes:
    """The report's bytes; raises ReportCancelled when Amazon cancelled it."""
    return fetch_report_document(op, http, report_type, marketplace_id, timer, polling).data


def fetch_report_document(
    op: Operation,
    http: httpx.Client,
    report_type: str,
    marketplace_id: str,
    timer: Timer,
    polling: Polling = DEFAULT_POLLING,
) -> ReportDocument:
    """createReport -> getReport until DONE -> the document, with its Content-Type. FATAL
    is a DocumentError and CANCELLED a ReportCancelled (see the module docstring)."""
    created = op(
        "createReport",
        lambda c: c.create_report(reportType=report_type, marketplaceIds=[marketplace_id]),
        idempotent=True,  # a duplicate report costs quota, never data
    ).payload
    report_id = created["reportId"]
    # We never cancel our own reports: CANCELLED is Amazon's doing, and ours to explain.
    done = _poll(
        op,
        "getReport",
        lambda c: c.get_report(report_id),
        timer,
        polling,
        finished=(DONE, CANCELLED),
    )
    document_id = done.get("reportDocumentId")
    if done["processingStatus"] == CANCELLED:
        raise ReportCancelled(report_type, op.marketplace, str(report_id))
    if not document_id:
        raise DocumentError(f"the {report_type} report {report_id} is DONE without a document")
    document = op("getReportDocument", lambda c: c.get_report_document(document_id)).payload
    return download_document(
        http, document["url"], document.get("compressionAlgorithm"), timer, f"{report_type} report"
    )


def submit_feed(
    op: Operation,
    http: httpx.Client,
    document: bytes,
    feed_type: str,
    marketplace_id: str,
    now: Callable[[], datetime],
    timer: Timer,
    content_type: str = "application/json; charset=UTF-8",
) -> str:
    """Upload a feed document and create the feed; returns the feed id."""
    created = op("createFeedDocument", lambda c: c.create_feed_document(None, content_type)).payload
    upload(http, created["url"], document, content_type, timer)
    document_id = created["feedDocumentId"]
    started = now() - CLOCK_SKEW

    def create(c: Any) -> Any:
        return c.create_feed(feed_type, document_id, marketplaceIds=[marketplace_id])

    for _attempt in range(2):
        try:
            return str(op("createFeed", create, idempotent=False).payload["feedId"])
        except AmbiguousFailure as err:
            try:
                found = op(
                    "getFeeds",
                    lambda c: c.get_feeds(
                        feedTypes=[feed_type],
                        marketplaceIds=[marketplace_id],
                        createdSince=started.isoformat().replace("+00:00", "Z"),
                    ),
                ).payload.get("feeds", [])
            except (SpApiError, httpx.TransportError) as lookup:
                raise FeedOutcomeUnknown(
                    f"createFeed got no clear answer ({err}) and the feeds could not be listed "
                    f"to find it ({lookup}); the feed may exist ({op.marketplace})"
                ) from lookup
            if found:
                return str(found[0]["feedId"])
    raise DocumentError(f"createFeed failed twice without creating a feed ({op.marketplace})")


def feed_result(
    op: Operation,
    http: httpx.Client,
    feed_id: str,
    timer: Timer,
    polling: Polling = DEFAULT_POLLING,
) -> tuple[str, bytes | None]:
    """How the feed ended (DONE, FATAL or CANCELLED) and its processing report. A FATAL feed
    applied nothing, but its report (when it has one) says which messages were at fault; a
    CANCELLED one was never processed, so nothing in it was applied either (a definite
    outcome, not an unknown one)."""
    done = _poll(
        op,
        "getFeed",
        lambda c: c.get_feed(feed_id),
        timer,
        polling,
        finished=(DONE, *FAILED_STATES),
    )
    status = str(done["processingStatus"])
    document_id = done.get("resultFeedDocumentId")
    if not document_id:
        if status in FAILED_STATES:
            return status, None
        raise DocumentError(f"feed {feed_id} is DONE without a processing report")
    # The library's get_feed_document downloads with its own HTTP client; ask for the
    # metadata only and download here, like every other document.
    path = f"/feeds/2021-06-30/documents/{document_id}"
    document = op(
        "getFeedDocument", lambda c: c._request(path, params={}, add_marketplace=False)
    ).payload
    return status, download(
        http,
        document["url"],
        document.get("compressionAlgorithm"),
        timer,
        f"processing report of feed {feed_id}",
    )
