"""JSON_LISTINGS_FEED: many listing writes in one submission. Pure builders and mapping.

When bulk is chosen: per-item calls cost one request per change at 5 requests per second
(patch burst 5), while a feed costs a handful of calls whatever its size but takes minutes
to process (createFeed's own quota is one per two minutes, burst 15). Small plans are faster
per item; large ones are faster and far gentler on quota as a feed. The crossover is
`SpApiBackend(bulk_threshold=...)`, measured by bench/feed_crossover.py.

Each change becomes one message carrying exactly what its per-item write would (the same
builders in engine.live.patches); documents are chunked to at most 25,000 messages and under
10 MiB of UTF-8 (the library would encode text as ISO-8859-1, so we upload bytes ourselves).
The processing report's issues map back to changes by messageId.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.core import jsonio
from engine.core.changes import ResourceChange
from engine.live.backend import WriteResult, WriteStatus
from engine.live.patches import listing_patches, put_body, write_kind

FEED_TYPE = "JSON_LISTINGS_FEED"
MAX_MESSAGES = 25_000
MAX_BYTES = 10 * 1024 * 1024 - 1  # "keep a file under 10 MiB"


def feed_message(
    message_id: int,
    change: ResourceChange,
    current_offers: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    kind = write_kind(change)
    message: dict[str, Any] = {"messageId": message_id, "sku": change.sku}
    if kind == "delete":
        return message | {"operationType": "DELETE"}
    after = change.after
    if after is None:
        raise ValueError(f"{change.address}: a {change.action} has no desired listing")
    if kind == "put":
        return message | {"operationType": "UPDATE"} | put_body(after)
    return message | {
        "operationType": "PATCH",
        "productType": after.product_type,
        "patches": listing_patches(change, current_offers),
    }


@dataclass(frozen=True, slots=True)
class FeedDocument:
    data: bytes  # UTF-8 JSON
    message_ids: tuple[int, ...]


def build_documents(
    seller_id: str,
    issue_locale: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    max_messages: int = MAX_MESSAGES,
    max_bytes: int = MAX_BYTES,
) -> list[FeedDocument]:
    """Feed documents holding `messages`, each within the message and size limits."""
    header = {"sellerId": seller_id, "version": "2.0", "issueLocale": issue_locale}
    opening = ('{"header":' + jsonio.dumps(header) + ',"messages":[').encode("utf-8")
    closing = b"]}"
    documents: list[FeedDocument] = []
    parts: list[bytes] = []
    ids: list[int] = []
    size = len(opening) + len(closing)

    def flush() -> None:
        nonlocal parts, ids, size
        if parts:
            documents.append(FeedDocument(opening + b",".join(parts) + closing, tuple(ids)))
        parts, ids, size = [], [], len(opening) + len(closing)

    for message in messages:
        encoded = jsonio.dumps(message).encode("utf-8")
        extra = len(encoded) + (1 if parts else 0)
        if len(opening) + len(closing) + len(encoded) > max_bytes:
            raise ValueError(f"message for SKU {message.get('sku')!r} alone exceeds {max_bytes} B")
        if parts and (len(parts) >= max_messages or size + extra > max_bytes):
            flush()
            extra = len(encoded)
        parts.append(encoded)
        ids.append(int(message["messageId"]))
        size += extra
    flush()
    return documents


def results_from_report(
    report: Mapping[str, Any],
    changes: Mapping[int, ResourceChange],
    feed_id: str,
    *,
    fatal: bool = False,
) -> list[WriteResult]:
    """One WriteResult per change of a feed: INVALID when an ERROR issue names its message,
    else ACCEPTED, or FAILED when the feed ended FATAL (nothing in it was applied, so the
    change may be sent again). Issues without a messageId concern the whole feed and go to
    every change."""
    by_message: dict[int, list[Mapping[str, Any]]] = {mid: [] for mid in changes}
    general: list[Mapping[str, Any]] = []
    for issue in report.get("issues") or ():
        mid = issue.get("messageId")
        if isinstance(mid, int) and mid in by_message:
            by_message[mid].append(issue)
        else:
            general.append(issue)
    results = []
    for mid, change in changes.items():
        issues = (*by_message[mid], *general)
        results.append(
            WriteResult(
                change.address,
                _status(by_message[mid], general, fatal),
                submission_id=f"{feed_id}#{mid}",
                issues=issues,
            )
        )
    return results


def _status(
    own: Sequence[Mapping[str, Any]], general: Sequence[Mapping[str, Any]], fatal: bool
) -> WriteStatus:
    def errors(issues: Sequence[Mapping[str, Any]]) -> bool:
        return any(i.get("severity") == "ERROR" for i in issues)

    if errors(own):
        return "INVALID"
    if fatal:
        return "FAILED"
    return "INVALID" if errors(general) else "ACCEPTED"
