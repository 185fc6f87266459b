"""Strict, line-aware YAML loading.

PyYAML's safe loader is not strict enough for money: it silently keeps the last of two
duplicate keys, expands aliases without limit ("billion laughs"), and turns 59.99 into a
float. This module composes the node tree with libyaml and builds plain Python values
itself, so that:

- duplicate keys are errors (with both lines);
- alias expansion is bounded;
- decimals become `Decimal` from their source text (never via float);
- `.nan` / `.inf` and timestamps stay as their source text, so a schema that expects an
  amount rejects them with a clear message instead of accepting a float or a date;
- non-UTF-8 input gets a clear error.

Positions are not stored per value (a 100k-SKU catalog would pay for millions of them);
`SourceFile.position(path)` recomposes the file on demand when an error or `explain` needs
a line number.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from engine.config.errors import ConfigError, Position

try:  # libyaml is bundled with PyYAML's wheels; the pure-Python loader is the fallback.
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

MAX_ALIAS_EXPANSION = 10_000
MAX_DEPTH = 200

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"

_BOOL_VALUES = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
_FINITE_FLOAT = re.compile(r"^[-+]?(\d[\d_]*)?\.?\d[\d_]*([eE][-+]?\d+)?$")


class YamlProblem(Exception):
    """A file that cannot be turned into data; carries the position when known and the
    path of keys and indexes leading to it (filled in as the problem leaves each level)."""

    def __init__(
        self, message: str, position: Position | None = None, path: tuple[str | int, ...] = ()
    ):
        super().__init__(message)
        self.message = message
        self.position = position
        self.path = path


def _pos(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


@dataclass
class SourceFile:
    """One YAML file: its display name, text and parsed data.

    A catalog's product files are large (157 MiB of YAML for 100k SKUs in ten languages), so
    once a config has loaded without errors their text is released (`release_text`) and read
    again from `path` only if a position is asked for later (`sync explain`), provided the
    file still has the bytes that were loaded (`sha256`)."""

    name: str
    text: str | None
    data: Any = None
    _node_root: Any = field(default=None, repr=False)
    path: Path | None = None
    sha256: bytes = b""

    def release_text(self) -> None:
        """Drop the text if it can be read again from `path`."""
        if self.path is not None and self.sha256:
            self.text = None

    def _current_text(self) -> str | None:
        if self.text is not None:
            return self.text
        assert self.path is not None
        try:
            raw = self.path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(raw).digest() != self.sha256:
            return None  # edited since it was loaded: no position rather than a wrong one
        return raw.decode("utf-8").removeprefix("\ufeff")

    def position(self, path: tuple[str | int, ...]) -> Position | None:
        """Line and column of the value at `path` (or of the closest existing parent)."""
        if self._node_root is None:
            text = self._current_text()
            if text is None:
                return None
            try:
                self._node_root = yaml.compose(text, Loader=_Loader)
            except yaml.YAMLError:
                return None
        node = self._node_root
        if node is None:
            return None
        best = _pos(node.start_mark)
        for part in path:
            node = _child(node, part)
            if node is None:
                break
            best = _pos(node.start_mark)
        return best

    def key_position(self, path: tuple[str | int, ...]) -> Position | None:
        """Position of the key naming the last element of `path` (for unknown-key errors)."""
        if not path or not isinstance(path[-1], str):
            return self.position(path)
        parent = self.position(path[:-1])
        if self._node_root is None:
            return parent
        node = self._node_root
        for part in path[:-1]:
            node = _child(node, part)
            if node is None:
                return parent
        if isinstance(node, yaml.MappingNode):
            for key, _value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == path[-1]:
                    return _pos(key.start_mark)
        return parent

    def error(
        self, path: tuple[str | int, ...], message: str, *, at_key: bool = False
    ) -> ConfigError:
        from engine.config.errors import format_path

        pos = self.key_position(path) if at_key else self.position(path)
        return ConfigError(self.name, pos, format_path(path), message)


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None
    return None


def read_source(path: Path, display_name: str) -> SourceFile:
    """Read and parse one YAML file. Raises YamlProblem with a position on failure."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlProblem(f"cannot read file: {exc.strerror}") from None
    return parse_source(raw, display_name)


def parse_source(raw: bytes, display_name: str) -> SourceFile:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblem(
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
            Position(line, col),
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        # libyaml's events one by one, without yaml.parse's generator around them (a
        # product file is half a million events: that wrapper was a sixth of parsing).
        loader = _Loader(text)
        try:
            data = _EventBuilder(loader.get_event).document()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        tab = _indenting_tab(text, mark.line if mark else None)
        if tab is not None:
            raise YamlProblem(TAB_INDENT, tab) from None
        problem = exc.problem or "invalid YAML"
        context = f" {exc.context}" if exc.context else ""
        raise YamlProblem(
            f"invalid YAML: {problem}{context}", _pos(mark) if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {exc}") from None
    return SourceFile(name=display_name, text=text, data=data, _node_root=None)


TAB_INDENT = (
    "a tab character indents this line: YAML does not allow tabs for indentation; "
    "indent with spaces"
)
_TAB_INDENTED = re.compile(r"^ *\t", re.MULTILINE)


def _indenting_tab(text: str, error_line: int | None) -> Position | None:
    """Where a tab indents a line, for a file libyaml refused: the last such line at or
    before the line of its error (0-based `error_line`; the tab is usually on it, or just
    above when libyaml only trips on the next token). libyaml's own words ("found a tab
    character that violates indentation while scanning a plain scalar", or "found character
    '\\t' that cannot start any token") do not say what to do. Only looked for once
    parsing failed, so a valid file pays nothing."""
    found, line, counted = None, 0, 0
    for match in _TAB_INDENTED.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        if error_line is not None and line > error_line:
            break
        found = Position(line + 1, match.end() - match.start())
    return found


_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
# Looked up once: the builder compares half a million event types per product file.
_SCALAR_EVENT = yaml.ScalarEvent
_MAPPING_START = yaml.MappingStartEvent
_MAPPING_END = yaml.MappingEndEvent
_SEQUENCE_START = yaml.SequenceStartEvent
_SEQUENCE_END = yaml.SequenceEndEvent


class _EventBuilder:
    """Builds dicts, lists, str, int, Decimal, bool and None straight from libyaml's event
    stream. Skipping PyYAML's node graph and resolver machinery makes loading several
    times faster on a large catalog; positions are recomposed only when needed."""

    def __init__(self, next_event: Callable[[], Any]):
        self._next = next_event
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.expanded = 0

    def document(self) -> Any:
        event = self._next()  # StreamStart
        event = self._next()
        if isinstance(event, yaml.StreamEndEvent):
            return None
        value, _ = self.node(self._next(), 0)
        self._next()  # DocumentEnd
        event = self._next()
        if not isinstance(event, yaml.StreamEndEvent):
            raise YamlProblem(
                "a config file holds one YAML document; remove the extra '---'",
                _pos(event.start_mark),
            )
        return value

    def node(self, event: Any, depth: int) -> tuple[Any, int]:
        """(value, number of values it holds), the count bounding alias expansion."""
        kind = type(event)
        if kind is _SCALAR_EVENT:
            value, size = _scalar(event), 1
        elif kind is _MAPPING_START:
            value, size = self.mapping(event, depth)
        elif kind is _SEQUENCE_START:
            value, size = self.sequence(event, depth)
        elif kind is yaml.AliasEvent:
            return self.alias(event)
        else:  # pragma: no cover - libyaml emits only the kinds above here
            raise YamlProblem("unexpected YAML structure", _pos(event.start_mark))
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, size)
        return value, size

    def alias(self, event: Any) -> tuple[Any, int]:
        if event.anchor not in self.anchors:
            raise YamlProblem(f"unknown alias *{event.anchor}", _pos(event.start_mark))
        value, size = self.anchors[event.anchor]
        self.expanded += size
        if self.expanded > MAX_ALIAS_EXPANSION:
            raise YamlProblem(
                f"aliases expand to more than {MAX_ALIAS_EXPANSION} values "
                "(a 'billion laughs' file?); refusing to load it",
                _pos(event.start_mark),
            )
        return value, size

    def sequence(self, start: Any, depth: int) -> tuple[list[Any], int]:
        _check_collection(start, _SEQ, depth)
        items: list[Any] = []
        size = 1
        event = self._next()
        while type(event) is not _SEQUENCE_END:
            try:
                if type(event) is _SCALAR_EVENT and event.anchor is None:  # most items
                    value, n = _scalar(event), 1
                else:
                    value, n = self.node(event, depth + 1)
            except YamlProblem as problem:
                problem.path = (len(items), *problem.path)
                raise
            items.append(value)
            size += n
            event = self._next()
        return items, size

    def mapping(self, start: Any, depth: int) -> tuple[dict[str, Any], int]:
        _check_collection(start, _MAP, depth)
        result: dict[str, Any] = {}
        marks: dict[str, Any] = {}  # where each key was first written, for duplicates
        merged: list[dict[str, Any]] = []
        size = 1
        event = self._next()
        while type(event) is not _MAPPING_END:
            if type(event) is not _SCALAR_EVENT:
                raise YamlProblem("mapping keys must be plain text", _pos(event.start_mark))
            key_event = event
            key = key_event.value
            try:  # free until raised; names the path of any problem below this key
                event = self._next()
                if type(event) is _SCALAR_EVENT and event.anchor is None:  # most values
                    value, n = _scalar(event), 1
                else:
                    value, n = self.node(event, depth + 1)
            except YamlProblem as problem:
                problem.path = (key, *problem.path)
                raise
            size += n
            event = self._next()
            if key == "<<" and key_event.implicit[0] and key_event.tag is None:
                merged.extend(_merge_sources(value, key_event))
                continue
            if key_event.tag is not None and key_event.tag not in ("!", _STR):
                raise YamlProblem(
                    f"unsupported tag {key_event.tag}", _pos(key_event.start_mark), (key,)
                )
            if key in marks:
                raise YamlProblem(
                    f"duplicate key {key!r} (first defined on line {marks[key].line + 1}); "
                    "YAML would silently keep only the last one",
                    _pos(key_event.start_mark),
                    (key,),
                )
            marks[key] = key_event.start_mark
            result[key] = value
        for source in merged:
            for k, v in source.items():
                result.setdefault(k, v)
        return result, size


def _check_collection(event: Any, default_tag: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", _pos(event.start_mark))
    if event.tag is not None and event.tag not in ("!", default_tag):
        raise YamlProblem(f"unsupported tag {event.tag}", _pos(event.start_mark))


def _merge_sources(value: Any, key_event: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return list(value)
    raise YamlProblem(
        "'<<' merge needs a mapping or a list of mappings", _pos(key_event.start_mark), ("<<",)
    )


def _scalar(event: Any) -> Any:
    """Resolve a scalar as YAML 1.1 (PyYAML's rules), but keep money exact: floats become
    Decimal from their text, and .nan/.inf and timestamps stay text so that amount and
    date fields reject them with a clear message."""
    value = event.value
    tag = event.tag
    if tag is not None and tag != "!":
        if tag == _STR:
            return value
        if tag in (_INT, _FLOAT, _BOOL, _NULL):
            return _resolved(tag, value, event)
        raise YamlProblem(f"unsupported tag {tag}", _pos(event.start_mark))
    if not event.implicit[0] or tag == "!":  # quoted, literal or folded: always text
        return value
    for resolved_tag, regexp in _IMPLICIT.get(value[:1], ()):
        if regexp.match(value):
            return _resolved(resolved_tag, value, event)
    return value


def _resolved(tag: str, value: str, event: Any) -> Any:
    if tag == _INT:
        return _int(value, event)
    if tag == _FLOAT:
        cleaned = value.replace("_", "")
        if _FINITE_FLOAT.match(cleaned):
            return Decimal(cleaned)
        return value  # .nan / .inf: kept as text so amount fields reject them
    if tag == _BOOL:
        return _BOOL_VALUES[value.lower()]
    if tag == _NULL:
        return None
    return value  # timestamps (and anything else implicit) stay text


def _int(value: str, event: Any) -> int:
    text = value.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    try:
        if text.startswith("0x"):
            return sign * int(text[2:], 16)
        if text.startswith("0o"):
            return sign * int(text[2:], 8)
        if text.startswith("0b"):
            return sign * int(text[2:], 2)
        if ":" in text:  # YAML 1.1 sexagesimal, e.g. 1:30
            total = 0
            for part in text.split(":"):
                total = total * 60 + int(part)
            return sign * total
        if len(text) > 1 and text.startswith("0"):
            return sign * int(text, 8)
        return sign * int(text)
    except ValueError:
        raise YamlProblem(f"invalid integer {value!r}", _pos(event.start_mark)) from None
