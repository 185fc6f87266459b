"""Reading a plan file's JSON safely: bounded in size and nesting, checked against
`schemas/plan.schema.json` before any of it is used.

A plan file travels (a CI artifact, a file in a pull request) and may be damaged, truncated or
edited by hand. Everything `sync apply` does with it, from journaling its changes to sending
them, assumes the shapes the schema describes; a value of the wrong type used to surface deep
inside apply as an AttributeError or KeyError, sometimes after a change was journaled `sent`.
So the whole document is checked first, and the first problem is refused with its JSON path.

As with config files (engine.config.schema), fastjsonschema checks every plan and only a plan
that fails goes through jsonschema, which says where and why.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema
from jsonschema.exceptions import best_match

from engine.config.schema import explain

# The largest plan file read, in bytes. A plan costs about 1.6 KB per change for typical
# listings; at worst (10 bullet points of 500 characters, a 2,000-character description and a
# 200-character title, every text changed, in a 3-byte-per-character script) about 90 KB.
# 256 MiB holds some 160,000 typical changes or 2,900 worst-case ones, which is more than any
# seller's catalogue rewritten at once; a bigger file is something else given by mistake (a
# log, an archive), and decoding it would take several times its size in memory.
MAX_PLAN_BYTES = 256 * 1024 * 1024

# The deepest nesting a plan file needs is 7 (a sale inside a field change inside a change
# inside resource_changes). Python's JSON decoder recurses once per level and gives up with a
# RecursionError near 1,000; 32 leaves room for the format to grow and refuses a file of
# thousands of brackets before the decoder sees it.
MAX_PLAN_DEPTH = 32

# A JSON string (skipped when counting depth: brackets inside text do not nest) or a bracket.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPENING = frozenset("[{")
_EXAMPLE_TIME = "2026-11-22T12:00:00Z"


class PlanFormatError(ValueError):
    """The text is not a plan file sellersync can read; the message says where and why."""


def parse_plan_json(text: str, format_version: str) -> dict[str, Any]:
    """The plan document in `text`, checked against the plan schema; PlanFormatError when the
    text is too big, nested too deep, not JSON, or not a plan of `format_version`."""
    check_bounds(text, PlanFormatError)
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise PlanFormatError(f"not a JSON plan file: {exc}") from None
    except ValueError as exc:  # an integer longer than Python converts (sys.int_info)
        raise PlanFormatError(f"not a plan sellersync wrote: {exc}") from None
    validate_plan(data, format_version)
    return data


def check_bounds(text: str, error: type[ValueError]) -> None:
    """`error` when `text` is bigger or nests deeper than any plan file sellersync writes
    (the refresh-only file, written alongside, keeps to the same bounds)."""
    if len(text) > MAX_PLAN_BYTES:
        raise error(too_big(len(text)))
    if nesting_depth(text) > MAX_PLAN_DEPTH:
        raise error(
            f"nested more than {MAX_PLAN_DEPTH} levels deep, deeper than any file sellersync "
            "writes: this is not a file sellersync wrote"
        )


def too_big(size: int) -> str:
    return (
        f"{size:,} bytes, more than the {MAX_PLAN_BYTES:,} a plan file may have: this is not "
        "a file sellersync wrote"
    )


def nesting_depth(text: str) -> int:
    """How deep the arrays and objects in `text` nest, counting brackets outside strings.
    Linear in the text; stops counting once past MAX_PLAN_DEPTH."""
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in _OPENING:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_PLAN_DEPTH:
                    break
        elif token in "]}":
            depth -= 1
    return deepest


def validate_plan(data: Any, format_version: str) -> None:
    """PlanFormatError naming the JSON path of the first problem when `data` does not match
    the plan schema. The format_version comes first: another version is refused as such."""
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != format_version:
        raise PlanFormatError(
            f"unsupported plan format_version {version!r}; this sellersync reads {format_version}"
        )
    try:
        _fast_validator()(data)
        return
    except fastjsonschema.JsonSchemaException:
        pass
    error = best_match(_full_validator().iter_errors(data))
    if error is None:  # the two validators disagree; say so rather than pass the file
        raise PlanFormatError("does not match the plan schema")
    path, message, _ = explain(error, yaml=False)
    if error.validator == "format":
        got = str(error.instance)[:60]
        message = f"expected a time with its UTC offset, such as {_EXAMPLE_TIME} (got {got!r})"
    raise PlanFormatError(f"{json_path(path)}: {message}; this is not a plan sellersync wrote")


def json_path(path: tuple[str | int, ...]) -> str:
    """('resource_changes', 0, 'change') -> '$.resource_changes[0].change'."""
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)


def _is_utc_datetime(value: object) -> bool:
    """The plan's timestamps: ISO 8601 with a UTC offset, as sellersync writes them (and
    reads them back with datetime.fromisoformat). A time without an offset is refused: it
    would come back as a naive datetime."""
    if not isinstance(value, str):
        return True  # the `type` keyword speaks for non-strings
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value and parsed.tzinfo is not None


@cache
def _schema() -> dict[str, Any]:
    text = (resources.files("engine.schemas") / "plan.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _fast_validator() -> Any:
    return fastjsonschema.compile(
        _schema(), formats={"date-time": _is_utc_datetime}, use_default=False
    )


@cache
def _full_validator() -> jsonschema.Draft7Validator:
    formats = jsonschema.FormatChecker(())
    formats.checks("date-time")(_is_utc_datetime)
    return jsonschema.Draft7Validator(_schema(), format_checker=formats)
