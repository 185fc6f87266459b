"""Opaque SP-API page tokens (`nextToken`, `pageToken`, `paginationToken`).

A token carries its own query state, so the sandbox keeps no cursor table: the next call
decodes where to continue (and, where Amazon wants "the token as the only parameter", the
whole query). Like Amazon's tokens, ours are meant to be passed back, not read:

- Opaque: an HMAC-SHA256 tag keyed per seller, then the compressed state, in *standard* base64,
  padded so that every token ends in `=` and most contain `+` or `/`. A client that puts a
  token in a query string without URL-encoding it sends `+` as a space and a broken token,
  as it would to Amazon. A token edited, truncated or issued for another seller is refused.
- Expiring: each token carries its issue time on the sandbox's (virtual) clock and is
  refused 24 hours later. The figure is the Orders API 2026-01-01 model's ("The token will
  expire after 24 hours", SearchOrdersResponse.pagination, models/orders-api-model/
  orders_2026-01-01.json in amzn/selling-partner-api-models). The Listings Items, Reports,
  Feeds, FBA Inventory and Orders v0 models document no lifetime; the sandbox applies the
  same 24 hours to all of them rather than keep their tokens forever.

A refused token is answered 400 InvalidInput by the caller, the error each of those models
lists for invalid request parameters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# orders_2026-01-01.json, SearchOrdersResponse.pagination: "The token will expire after 24 hours."
LIFETIME = timedelta(hours=24)
_TAG_BYTES = 16
_VERSION = 1
_SECRET = b"sellersync sandbox page tokens v1"


class TokenError(ValueError):
    """Not one of ours (malformed, tampered, another seller's) or expired."""


class TokenExpired(TokenError):
    pass


def key_for(seller_id: str) -> bytes:
    """The signing key of one seller's tokens: another seller's token does not verify."""
    return hmac.new(_SECRET, seller_id.encode("utf-8"), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Codec:
    """Writes and reads page tokens for one seller at one moment of the sandbox clock."""

    key: bytes
    now: datetime

    def encode(self, state: Mapping[str, Any]) -> str:
        issued = int(self.now.astimezone(UTC).timestamp())
        raw = json.dumps({"s": state, "i": issued}, separators=(",", ":"), sort_keys=True)
        data = zlib.compress(raw.encode("utf-8"), 9)
        # Filler bytes make the length 1 mod 3, so the base64 always ends in "==" (a token
        # sent unencoded loses it); the byte after the version says how many there are.
        fill = (1 - (2 + len(data) + _TAG_BYTES)) % 3
        body = bytes([_VERSION, fill]) + b"\0" * fill + data
        blob = hmac.new(self.key, body, hashlib.sha256).digest()[:_TAG_BYTES] + body
        return base64.b64encode(blob).decode("ascii")

    def decode(self, token: str) -> dict[str, Any]:
        """The state inside a token; TokenExpired past its lifetime, TokenError when it is
        not a token of this seller's (or was sent without URL-encoding)."""
        try:
            blob = base64.b64decode(token.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise TokenError("not a page token") from None
        tag, body = blob[:_TAG_BYTES], blob[_TAG_BYTES:]
        expected = hmac.new(self.key, body, hashlib.sha256).digest()[:_TAG_BYTES]
        if len(body) < 3 or body[0] != _VERSION or not hmac.compare_digest(tag, expected):
            raise TokenError("not a page token")
        try:
            data = json.loads(zlib.decompress(body[2 + body[1] :]))
            state, issued = data["s"], datetime.fromtimestamp(int(data["i"]), UTC)
        except (zlib.error, ValueError, KeyError, TypeError, OverflowError):
            raise TokenError("not a page token") from None
        if not isinstance(state, dict):
            raise TokenError("not a page token")
        if self.now >= issued + LIFETIME:
            hours = LIFETIME.total_seconds() / 3600
            raise TokenExpired(f"expired (page tokens last {hours:g} hours)")
        return state


def problem(name: str, err: TokenError) -> str:
    """The InvalidInput message for a refused token."""
    if isinstance(err, TokenExpired):
        return f"Invalid '{name}': the token has {err}."
    return f"Invalid '{name}'."


def fingerprint(args: Mapping[str, list[str]], *, ignore: Iterable[str]) -> str:
    """A short digest of a query's parameters, so a token is refused on another query."""
    skipped = set(ignore)
    query = {key: sorted(values) for key, values in args.items() if key not in skipped}
    return hashlib.sha256(json.dumps(query, sort_keys=True).encode("utf-8")).hexdigest()[:16]
