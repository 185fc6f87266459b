"""Reports 2021-06-30: request a report, poll it, download its document.

Report content comes from the builder registered for its reportType: a function
`(ReportContext) -> Outcome`, registered with one call, e.g.
`register_builder("GET_MERCHANT_LISTINGS_ALL_DATA", listing_reports.merchant_listings)`.
A builder answers `Outcome("CANCELLED")` when there is no data, as Amazon cancels such reports.
Under a timing profile with a `report_repeat_window` (engine.sandbox.timing: `amazon`), a
report requested again too soon (same type and marketplaces as one created within the
window and not itself cancelled that way) goes through the queue and ends CANCELLED too.
Unknown report types are refused at createReport (400 InvalidInput).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.sandbox import listings
from engine.sandbox.account import Account, invalid_input
from engine.sandbox.jobs import (
    JobQueue,
    Outcome,
    date_time,
    marketplace_ids,
    string_options,
    times,
)
from engine.sandbox.store import Job

REPEAT_OF = "repeat_of"  # option naming the report a too-soon request repeats


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What a builder reads: the report (type, marketplaces, options) and the account."""

    report: Job
    account: Account


ReportBuilder = Callable[[ReportContext], Outcome]


@dataclass(frozen=True, slots=True)
class _Registration:
    build: ReportBuilder
    single_marketplace: bool


_BUILDERS: dict[str, _Registration] = {}


def register_builder(
    report_type: str, build: ReportBuilder, *, single_marketplace: bool = True
) -> None:
    """Make `report_type` requestable, built by `build` when its processing ends.
    `single_marketplace`: createReport refuses more than one marketplaceId, as Amazon does
    for reports that are one marketplace each."""
    _BUILDERS[report_type] = _Registration(build, single_marketplace)


def report_types() -> list[str]:
    return sorted(_BUILDERS)


class Reports(JobQueue):
    """The Reports API of one sandbox account."""

    kind = "report"
    list_key = "reports"
    types_key = "reportTypes"

    def create_report(self, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_input("The request body must be a JSON object.")
        report_type = body.get("reportType")
        registration = _BUILDERS.get(report_type) if isinstance(report_type, str) else None
        if registration is None:
            raise invalid_input(
                f"Invalid 'reportType' {report_type!r}; the sandbox builds "
                f"{', '.join(report_types())}."
            )
        mids = marketplace_ids(body.get("marketplaceIds"))
        self.account.marketplaces(mids)
        if registration.single_marketplace and len(mids) != 1:
            raise invalid_input(f"{report_type} is built for exactly one marketplace at a time.")
        options: dict[str, Any] = {"reportOptions": string_options(body, "reportOptions")}
        window = {
            key: date_time(body[key], key)
            for key in ("dataStartTime", "dataEndTime")
            if key in body
        }
        if len(window) == 2 and window["dataStartTime"] > window["dataEndTime"]:
            raise invalid_input("'dataStartTime' must not be after 'dataEndTime'.")
        options |= {key: listings.iso(when) for key, when in window.items()}
        repeated = self._repeated(report_type, mids, self.account.clock.now())
        if repeated is not None:
            options[REPEAT_OF] = repeated
        return {"reportId": self.create(report_type, mids, options)}

    def durations(self) -> tuple[timedelta, timedelta]:
        return self.account.timings.report()

    def _repeated(self, report_type: str, mids: list[str], now: datetime) -> str | None:
        """The id of a report this request repeats too soon, or None."""
        window = self.account.timings.profile.report_repeat_window
        if window is None:
            return None
        with self.account.store.read() as tx:
            earlier = tx.jobs(self.kind)
        for job in earlier:  # newest first
            if job.created_at < now - window:
                return None
            if (
                job.job_type == report_type
                and set(job.marketplace_ids) == set(mids)
                and REPEAT_OF not in job.options
            ):
                return job.id
        return None

    def view(self, job: Job) -> dict[str, Any]:
        """A Report (Reports 2021-06-30)."""
        result: dict[str, Any] = {
            "reportId": job.id,
            "reportType": job.job_type,
            "marketplaceIds": list(job.marketplace_ids),
            "processingStatus": job.status,
            **times(job),
        }
        for key in ("dataStartTime", "dataEndTime"):
            if key in job.options:
                result[key] = job.options[key]
        if job.result_document_id is not None:
            result["reportDocumentId"] = job.result_document_id
        return result

    def run(self, job: Job) -> Outcome:
        if REPEAT_OF in job.options:
            return Outcome("CANCELLED")
        self.account.process_due()
        with self.account.store.read() as tx:
            if "report_cancelled" in tx.faults():  # engine.sandbox.faults.set_report_cancelled
                return Outcome("CANCELLED")
        return _BUILDERS[job.job_type].build(ReportContext(job, self.account))
