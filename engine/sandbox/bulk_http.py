"""The HTTP face of feeds, reports, FBA inventory and the document URLs.

Routes use the models' own parameter names (`<feedId>`, `<reportDocumentId>`, ...). The
document URLs (`/sandbox-documents/<token>`) stand in for Amazon's presigned S3 URLs: no
access token, no rate limit, just the unguessable token in the path. They are built on the
address the server is bound to (`SERVER_NAME` / `SERVER_PORT`), not on the Host header,
which python-amazon-sp-api mangles for http:// endpoints.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from engine.sandbox import faults as fault_settings
from engine.sandbox import listing_reports, listings_feed
from engine.sandbox.account import Account
from engine.sandbox.acknowledgement import process_order_acknowledgement
from engine.sandbox.documents import GZIP_THRESHOLD, URL_PATH, Documents, Grant, S3Error
from engine.sandbox.faults import FaultInjector, drop_connection
from engine.sandbox.faults import Outcome as FaultOutcome
from engine.sandbox.feeds import FeedContext, Feeds, register_processor
from engine.sandbox.inventory import inventory_summaries
from engine.sandbox.jobs import Outcome
from engine.sandbox.performance import seller_performance_report
from engine.sandbox.reports import ReportContext, Reports, register_builder


def _order_acknowledgement(context: FeedContext, content: bytes) -> Outcome:
    """POST_ORDER_ACKNOWLEDGEMENT_DATA: cancellations take effect when processing ends."""
    report = process_order_acknowledgement(context.account, content, context.feed.end_at)
    return Outcome("DONE", report, "text/xml; charset=UTF-8")


def _seller_performance(context: ReportContext) -> Outcome:
    report = context.report
    return Outcome(
        "DONE", seller_performance_report(context.account, report.marketplace_ids, report.end_at)
    )


# Feed processors and report builders, one line each.
register_processor(
    listings_feed.FEED_TYPE, listings_feed.process, fatal_report=listings_feed.fatal_report
)
register_processor("POST_ORDER_ACKNOWLEDGEMENT_DATA", _order_acknowledgement)
register_builder("GET_MERCHANT_LISTINGS_ALL_DATA", listing_reports.merchant_listings)
register_builder("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", listing_reports.fba_inventory)
register_builder("GET_V2_SELLER_PERFORMANCE_REPORT", _seller_performance)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
DOCUMENT_URL = "documentUrl"  # not an SP-API operation: the presigned-URL stand-in
_FEEDS = "/feeds/2021-06-30"
_REPORTS = "/reports/2021-06-30"
RULES = [
    Rule(f"{_FEEDS}/documents", methods=["POST"], endpoint="createFeedDocument"),
    Rule(f"{_FEEDS}/documents/<feedDocumentId>", methods=["GET"], endpoint="getFeedDocument"),
    Rule(f"{_FEEDS}/feeds", methods=["POST"], endpoint="createFeed"),
    Rule(f"{_FEEDS}/feeds", methods=["GET"], endpoint="getFeeds"),
    Rule(f"{_FEEDS}/feeds/<feedId>", methods=["GET"], endpoint="getFeed"),
    Rule(f"{_FEEDS}/feeds/<feedId>", methods=["DELETE"], endpoint="cancelFeed"),
    Rule(f"{_REPORTS}/reports", methods=["POST"], endpoint="createReport"),
    Rule(f"{_REPORTS}/reports", methods=["GET"], endpoint="getReports"),
    Rule(f"{_REPORTS}/reports/<reportId>", methods=["GET"], endpoint="getReport"),
    Rule(f"{_REPORTS}/reports/<reportId>", methods=["DELETE"], endpoint="cancelReport"),
    Rule(f"{_REPORTS}/documents/<reportDocumentId>", methods=["GET"], endpoint="getReportDocument"),
    Rule("/fba/inventory/v1/summaries", methods=["GET"], endpoint="getInventorySummaries"),
    Rule(f"{URL_PATH}<token>", methods=["GET", "PUT"], endpoint=DOCUMENT_URL),
]

Handler = Callable[..., tuple[int, Any]]


def _base_url(request: Request) -> str:
    return f"http://{request.environ['SERVER_NAME']}:{request.environ['SERVER_PORT']}"


def _args(request: Request) -> dict[str, list[str]]:
    return {key: request.args.getlist(key) for key in request.args}


class BulkApi:
    """Feeds, reports and FBA inventory of one sandbox account, and their document URLs."""

    def __init__(
        self,
        account: Account,
        faults: FaultInjector,
        read_body: Callable[[Request], object],
        *,
        wall: Callable[[], float] = time.time,
        gzip_threshold: int = GZIP_THRESHOLD,
    ) -> None:
        self.account = account
        self.faults = faults
        self.documents = Documents(account.store, account.clock, gzip_threshold=gzip_threshold)
        # Queue and processing times come from the account's timing profile.
        self.feeds = Feeds(account, self.documents, faults)
        self.reports = Reports(account, self.documents)
        self._read_body = read_body
        self._wall = wall

    def process_due(self) -> None:
        """Move feeds and reports on to the virtual time."""
        self.feeds.process_due()
        self.reports.process_due()

    def handlers(self) -> dict[str, Handler]:
        body = self._read_body
        return {
            "createFeedDocument": self._create_feed_document,
            "getFeedDocument": lambda request, feedDocumentId: (
                200,
                self._described(request, self.feeds.document(feedDocumentId, self._wall()), "feed"),
            ),
            "createFeed": lambda request: (202, self.feeds.create_feed(body(request))),
            "getFeeds": lambda request: (200, self.feeds.listing(_args(request))),
            "getFeed": lambda request, feedId: (200, self.feeds.describe(feedId)),
            "cancelFeed": lambda request, feedId: (200, self.feeds.cancel(feedId)),
            "createReport": lambda request: (202, self.reports.create_report(body(request))),
            "getReports": lambda request: (200, self.reports.listing(_args(request))),
            "getReport": lambda request, reportId: (200, self.reports.describe(reportId)),
            "cancelReport": lambda request, reportId: (200, self.reports.cancel(reportId)),
            "getReportDocument": lambda request, reportDocumentId: (
                200,
                self._described(
                    request, self.reports.document(reportDocumentId, self._wall()), "report"
                ),
            ),
            "getInventorySummaries": lambda request: (
                200,
                inventory_summaries(self.account, _args(request)),
            ),
        }

    def _create_feed_document(self, request: Request) -> tuple[int, dict[str, Any]]:
        grant = self.documents.create_upload(self._read_body(request), self._wall())
        return 201, {"feedDocumentId": grant.document_id, "url": self._url(request, grant)}

    def _described(self, request: Request, grant: Grant, kind: str) -> dict[str, Any]:
        result = {f"{kind}DocumentId": grant.document_id, "url": self._url(request, grant)}
        if grant.compression is not None:
            result["compressionAlgorithm"] = grant.compression
        return result

    @staticmethod
    def _url(request: Request, grant: Grant) -> str:
        return f"{_base_url(request)}{URL_PATH}{grant.token}"

    def document_response(self, request: Request, token: str) -> Response:
        """PUT uploads a feed document, GET downloads a document (bytes as stored, gzipped
        ones included, with the content type they were created with). Errors are S3's XML
        (engine.sandbox.documents)."""
        fault = self.faults.document_fault(request.method)
        try:
            if request.method == "PUT":
                if (request.content_length or 0) > MAX_UPLOAD_BYTES:
                    raise S3Error(
                        400,
                        "EntityTooLarge",
                        "Your proposed upload exceeds the maximum allowed size",
                    )
                self.documents.upload(
                    token,
                    request.get_data(cache=False),
                    request.headers.get("Content-Type"),
                    self._wall(),
                )
                _fail_transfer(request, fault)  # after the bytes were stored: answer lost
                return Response(status=200)
            _fail_transfer(request, fault)
            document = self.documents.download(token, self._wall())
        except S3Error as err:
            request_id = uuid.uuid4().hex[:16].upper()
            response = Response(err.xml(request_id), status=err.status, mimetype="application/xml")
            response.headers["x-amz-request-id"] = request_id
            return response
        content = document.content or b""
        if document.compression == "GZIP":
            content = fault_settings.mangle_gzip(self.faults, content) or content
        return Response(content, status=200, content_type=document.content_type)


def _fail_transfer(request: Request, fault: FaultOutcome) -> None:
    """Make a document transfer fail as the document_errors fault decided, if it did: a
    dropped connection, or a 500 as S3 answers it."""
    if fault.kind == "drop":
        drop_connection(request.environ)
    if fault.kind == "document_error":
        raise S3Error(500, "InternalError", "We encountered an internal error. Please try again.")
