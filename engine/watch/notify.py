"""POST the watch summary to the webhook `watch.webhook_url` names.

Webhook URLs often carry a token in their path (chat and CI hooks do), so messages name
only the scheme and host. A failure is returned, never raised and never swallowed: the
caller reports it and the run's exit code shows it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from engine.core import jsonio

TIMEOUT_S = 10.0


def shown(url: str) -> str:
    """The URL as messages may show it: scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}"


def post_summary(url: str, summary: dict[str, Any], timeout: float = TIMEOUT_S) -> str | None:
    """None when the webhook accepted the summary (any 2xx), else what went wrong."""
    body = jsonio.dumps(summary).encode("utf-8")
    try:
        response = httpx.post(
            url, content=body, headers={"Content-Type": "application/json"}, timeout=timeout
        )
    except httpx.HTTPError as err:
        return f"POST to {shown(url)} failed: {type(err).__name__}"
    if not response.is_success:
        return f"POST to {shown(url)} answered HTTP {response.status_code}"
    return None
