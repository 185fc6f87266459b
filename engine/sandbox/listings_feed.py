"""JSON_LISTINGS_FEED: the listings-feed-schema-v2 rules, message processing and the report.

A document that breaks the schema (or is not UTF-8 JSON, or names another seller) ends
FATAL, with a processing report saying where and why; nothing in it is applied. The schema
rules are implemented here (tests check they agree with Amazon's published schema); the
messages of an acceptable document then go one by one through the same Account operations
as putListingsItem / patchListingsItem / deleteListingsItem, so a feed and a per-item call can
never disagree about attributes. PARTIAL_UPDATE is a PATCH that replaces each given attribute,
as the schema defines it. The processing report follows
listings-feed-processing-report-schema-v2 (issue messages are in English whatever the
header's issueLocale: Amazon falls back to en_US when it has no translation).

Issue codes for document-level problems are the sandbox's own (Amazon does not publish
them): INVALID_FEED_DOCUMENT, and SANDBOX_FAULT for failures the fault switches inject.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.core import jsonio
from engine.sandbox import listings
from engine.sandbox.account import ApiError
from engine.sandbox.feeds import FeedContext
from engine.sandbox.jobs import Outcome

FEED_TYPE = "JSON_LISTINGS_FEED"
VERSION = "2.0"
MAX_MESSAGES = 25_000
MAX_MESSAGE_ID = 2_147_483_647
OPERATIONS = ("UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE")
API_VERSIONS = ("2021-08-01",)
# Per operationType: the keys a message must have and the keys it must not have.
_SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "UPDATE": (("productType", "attributes"), ("patches",)),
    "PARTIAL_UPDATE": (("productType", "attributes"), ("requirements", "patches")),
    "PATCH": (("productType", "patches"), ("requirements", "attributes")),
    "DELETE": ((), ("requirements", "attributes", "productType", "patches")),
}
INVALID_DOCUMENT = "INVALID_FEED_DOCUMENT"
SANDBOX_FAULT = "SANDBOX_FAULT"


@dataclass(frozen=True, slots=True)
class Problem:
    """One way a document breaks the schema: where (a JSON path) and what."""

    path: str
    message: str
    message_id: int | None = None
    sku: str | None = None


# -- the schema's rules -------------------------------------------------------------------


def _is_integer(value: object) -> bool:
    """JSON Schema's integer: any whole number, 1.0 included, booleans not."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()


def _string(value: object, path: str, *, min_length: int = 0) -> list[Problem]:
    if not isinstance(value, str):
        return [Problem(path, "must be a string.")]
    if len(value) < min_length:
        return [Problem(path, f"must have at least {min_length} character(s).")]
    return []


def _choice(value: object, path: str, allowed: Sequence[str]) -> list[Problem]:
    if not isinstance(value, str) or value not in allowed:
        return [Problem(path, f"must be one of {', '.join(allowed)}, got {value!r}.")]
    return []


def _header_problems(header: object) -> list[Problem]:
    if not isinstance(header, dict):
        return [Problem("header", "must be an object.")]
    problems = []
    for key in ("sellerId", "version"):
        if key not in header:
            problems.append(Problem(f"header.{key}", "is required."))
    if "sellerId" in header:
        problems += _string(header["sellerId"], "header.sellerId")
    if "version" in header and header["version"] != VERSION:
        problems.append(Problem("header.version", f'must be "{VERSION}".'))
    if "issueLocale" in header:
        problems += _string(header["issueLocale"], "header.issueLocale")
    if "report" in header:
        problems += _report_problems(header["report"])
    return problems


def _report_problems(report: object) -> list[Problem]:
    if not isinstance(report, dict):
        return [Problem("header.report", "must be an object.")]
    problems = [
        Problem(f"header.report.{key}", "is required.")
        for key in ("includedData", "apiVersion")
        if key not in report
    ]
    if "includedData" in report:
        included = report["includedData"]
        if not isinstance(included, list) or not included:
            problems.append(Problem("header.report.includedData", "must be a non-empty array."))
        else:
            for i, value in enumerate(included):
                problems += _choice(
                    value, f"header.report.includedData[{i}]", listings.ITEM_INCLUDED_DATA
                )
    if "apiVersion" in report:
        problems += _choice(report["apiVersion"], "header.report.apiVersion", API_VERSIONS)
    return problems


def _patch_problems(patches: object, path: str) -> list[Problem]:
    if not isinstance(patches, list) or not patches:
        return [Problem(path, "must be a non-empty array.")]
    problems = []
    for i, patch in enumerate(patches):
        where = f"{path}[{i}]"
        if not isinstance(patch, dict):
            problems.append(Problem(where, "must be an object."))
            continue
        for key in ("op", "path"):
            if key not in patch:
                problems.append(Problem(f"{where}.{key}", "is required."))
        if "op" in patch:
            problems += _choice(patch["op"], f"{where}.op", listings.PATCH_OPS)
        if "path" in patch:
            problems += _string(patch["path"], f"{where}.path")
        value = patch.get("value")
        if "value" in patch and (
            not isinstance(value, list) or not all(isinstance(v, dict) for v in value)
        ):
            problems.append(Problem(f"{where}.value", "must be an array of objects."))
    return problems


def _message_problems(message: object, path: str) -> list[Problem]:
    if not isinstance(message, dict):
        return [Problem(path, "must be an object.")]
    mid = message.get("messageId")
    sku = message.get("sku")
    problems = [
        Problem(f"{path}.{key}", "is required.")
        for key in ("messageId", "sku", "operationType")
        if key not in message
    ]
    if "messageId" in message and not (_is_integer(mid) and 1 <= mid <= MAX_MESSAGE_ID):
        problems.append(
            Problem(f"{path}.messageId", f"must be a whole number from 1 to {MAX_MESSAGE_ID}.")
        )
    if "sku" in message:
        problems += _string(sku, f"{path}.sku", min_length=1)
    if "productType" in message:
        problems += _string(message["productType"], f"{path}.productType", min_length=1)
    if "requirements" in message:
        problems += _choice(message["requirements"], f"{path}.requirements", listings.REQUIREMENTS)
    if "attributes" in message:
        attributes = message["attributes"]
        if not isinstance(attributes, dict) or not attributes:
            problems.append(Problem(f"{path}.attributes", "must be a non-empty object."))
    if "patches" in message:
        problems += _patch_problems(message["patches"], f"{path}.patches")
    if "operationType" in message:
        operation = message["operationType"]
        problems += _choice(operation, f"{path}.operationType", OPERATIONS)
        if operation in _SHAPES:
            required, forbidden = _SHAPES[operation]
            problems += [
                Problem(f"{path}.{key}", f"is required for {operation}.")
                for key in required
                if key not in message
            ]
            problems += [
                Problem(f"{path}.{key}", f"is not allowed for {operation}.")
                for key in forbidden
                if key in message
            ]
    known_id = int(mid) if _is_integer(mid) else None
    known_sku = sku if isinstance(sku, str) and sku else None
    return [Problem(p.path, p.message, known_id, known_sku) for p in problems]


def schema_problems(document: object) -> list[Problem]:
    """Every way `document` breaks listings-feed-schema-v2; empty when it conforms."""
    if not isinstance(document, dict):
        return [Problem("", "The feed document must be a JSON object.")]
    problems = [
        Problem(key, "is required.") for key in ("header", "messages") if key not in document
    ]
    if "header" in document:
        problems += _header_problems(document["header"])
    if "messages" in document:
        messages = document["messages"]
        if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
            problems.append(
                Problem("messages", f"must be an array of 1 to {MAX_MESSAGES} messages.")
            )
        else:
            for i, message in enumerate(messages):
                problems += _message_problems(message, f"messages[{i}]")
    return problems


# -- processing ---------------------------------------------------------------------------


def process(context: FeedContext, content: bytes) -> Outcome:
    """Process a JSON_LISTINGS_FEED document: FATAL if the document is unacceptable,
    otherwise DONE with every message applied or reported."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return _fatal(
            context,
            [Problem("", f"The feed document is not UTF-8 (invalid byte at offset {err.start}).")],
        )
    try:
        document = jsonio.loads(text)
    except jsonio.JSONError as err:
        return _fatal(context, [Problem("", f"The feed document is not JSON: {err}")])
    problems = schema_problems(document)
    if not problems and document["header"]["sellerId"] != context.account.seller_id:
        problems = [
            Problem(
                "header.sellerId",
                f"{document['header']['sellerId']!r} is not the selling partner that "
                "submitted the feed.",
            )
        ]
    if problems:
        return _fatal(context, problems)
    issues: list[dict[str, Any]] = []
    accepted = 0
    seen: set[int] = set()
    for message in document["messages"]:
        ok, message_issues = _apply(context, message, seen)
        accepted += ok
        issues += message_issues
    processed = len(document["messages"])
    return _report(context, "DONE", issues, processed, accepted, processed - accepted)


def fatal_report(context: FeedContext, reason: str) -> bytes:
    """The processing report of a feed aborted as a whole."""
    issue = {"code": SANDBOX_FAULT, "severity": "ERROR", "message": reason}
    return _report(context, "FATAL", [issue], 0, 0, 0).document or b""


def _fatal(context: FeedContext, problems: Sequence[Problem]) -> Outcome:
    issues = []
    for problem in problems:
        issue: dict[str, Any] = {}
        if problem.message_id is not None:
            issue["messageId"] = problem.message_id
        if problem.sku is not None:
            issue["sku"] = problem.sku
        where = f"{problem.path}: " if problem.path else ""
        issue |= {"code": INVALID_DOCUMENT, "severity": "ERROR", "message": where + problem.message}
        issues.append(issue)
    return _report(context, "FATAL", issues, 0, 0, 0)


def _apply(
    context: FeedContext, message: Mapping[str, Any], seen: set[int]
) -> tuple[bool, list[dict[str, Any]]]:
    """Apply one schema-valid message; (accepted, its report issues)."""
    message_id, sku = int(message["messageId"]), message["sku"]

    def error(code: str, text: str) -> tuple[bool, list[dict[str, Any]]]:
        return False, [
            _report_issue(message_id, sku, {"code": code, "severity": "ERROR", "message": text})
        ]

    if message_id in seen:
        return error("4000001", f"messageId {message_id} is used by an earlier message.")
    seen.add(message_id)
    if context.message_fails():
        return error(SANDBOX_FAULT, "The message failed (sandbox feed_message_errors fault).")
    try:
        response = _submit(context, message)
    except ApiError as err:
        return error(err.code, err.message)
    issues = [_report_issue(message_id, sku, i) for i in response.get("issues", ())]
    return response["status"] == "ACCEPTED", issues


def _submit(context: FeedContext, message: Mapping[str, Any]) -> dict[str, Any]:
    account = context.account
    seller, sku = account.seller_id, message["sku"]
    mids = list(context.feed.marketplace_ids)
    operation = message["operationType"]
    if operation == "DELETE":
        return account.delete_item(seller, sku, mids)
    if operation == "UPDATE":
        body = {
            "productType": message["productType"],
            "requirements": message.get("requirements", "LISTING"),
            "attributes": message["attributes"],
        }
        return account.put_item(seller, sku, mids, body, included=["issues"])
    patches = message.get("patches") or [
        {"op": "replace", "path": f"/attributes/{name}", "value": values}
        for name, values in message["attributes"].items()
    ]
    body = {"productType": message["productType"], "patches": patches}
    return account.patch_item(seller, sku, mids, body, included=["issues"])


def _report_issue(message_id: int, sku: str, issue: Mapping[str, Any]) -> dict[str, Any]:
    result = {
        "messageId": message_id,
        "sku": sku,
        "code": issue["code"],
        "severity": issue["severity"],
        "message": issue["message"],
    }
    names = issue.get("attributeNames")
    if names:
        result["attributeName"] = names[0]
    return result


def _report(
    context: FeedContext,
    status: str,
    issues: list[dict[str, Any]],
    processed: int,
    accepted: int,
    invalid: int,
) -> Outcome:
    report = {
        "header": {
            "sellerId": context.account.seller_id,
            "version": VERSION,
            "feedId": context.feed.id,
        },
        "issues": issues,
        "summary": {
            "errors": sum(i["severity"] == "ERROR" for i in issues),
            "warnings": sum(i["severity"] == "WARNING" for i in issues),
            "messagesProcessed": processed,
            "messagesAccepted": accepted,
            "messagesInvalid": invalid,
        },
    }
    return Outcome(status, jsonio.dumps(report).encode("utf-8"))
