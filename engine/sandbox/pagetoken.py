"""Opaque SP-API page tokens (`nextToken`, `pageToken`) that carry their own query state.

A token is URL-safe base64 of compact JSON, so the sandbox keeps no cursor table: the next
call decodes where to continue (and, where Amazon wants "the token as the only parameter",
the whole query). Tokens are not secrets; a tampered one is just an invalid token.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any


def encode(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode(token: str) -> dict[str, Any]:
    """The state inside a token; ValueError when it is not one of ours."""
    try:
        padded = token + "=" * (-len(token) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeEncodeError):
        raise ValueError(f"{token!r} is not a page token") from None
    if not isinstance(state, dict):
        raise ValueError(f"{token!r} is not a page token")
    return state


def fingerprint(args: Mapping[str, list[str]], *, ignore: Iterable[str]) -> str:
    """A short digest of a query's parameters, so a token is refused on another query."""
    skipped = set(ignore)
    query = {key: sorted(values) for key, values in args.items() if key not in skipped}
    return hashlib.sha256(json.dumps(query, sort_keys=True).encode("utf-8")).hexdigest()[:16]
