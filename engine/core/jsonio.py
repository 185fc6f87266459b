"""JSON with exact money: numbers parse to Decimal and Decimals serialise as JSON numbers.

SP-API carries prices as JSON numbers (`value_with_tax: 19.99`); reading them as float would
turn 19.99 into 19.989999…, so everything the sandbox stores or answers goes through here.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_MARK = "\x00dec:"
_MARKED = re.compile(r'"\\u0000dec:([-0-9.]+)"')


class JSONError(ValueError):
    """Text that is not JSON (or uses NaN/Infinity, which SP-API never sends)."""


def _reject_constant(name: str) -> Any:
    raise JSONError(f"{name} is not a valid JSON number")


def loads(text: str | bytes) -> Any:
    """Parse JSON; non-integer numbers become Decimal, NaN/Infinity are refused."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise JSONError(str(err)) from None


def _default(value: object) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} cannot be written as JSON")
        return f"{_MARK}{value:f}"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    """Serialise with Decimals as exact JSON numbers (stdlib C encoder, then unmark)."""
    text = json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000dec:" not in text:
        return text
    return _MARKED.sub(r"\1", text)
