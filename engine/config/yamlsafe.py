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

import re
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
    """A file that cannot be turned into data; carries the position when known."""

    def __init__(self, message: str, position: Position | None = None):
        super().__init__(message)
        self.message = message
        self.position = position


def _pos(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


@dataclass
class SourceFile:
    """One YAML file: its display name, text and parsed data."""

    name: str
    text: str
    data: Any = None
    _node_root: Any = field(default=None, repr=False)

    def position(self, path: tuple[str | int, ...]) -> Position | None:
        """Line and column of the value at `path` (or of the closest existing parent)."""
        if self._node_root is None:
            try:
                self._node_root = yaml.compose(self.text, Loader=_Loader)
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
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        context = f" {exc.context}" if exc.context else ""
        raise YamlProblem(
            f"invalid YAML: {problem}{context}", _pos(mark) if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {exc}") from None
    builder = _Builder()
    data = builder.build(root) if root is not None else None
    return SourceFile(name=display_name, text=text, data=data, _node_root=None)


class _Builder:
    """Turns a composed node tree into dicts, lists, str, int, Decimal, bool and None."""

    def __init__(self) -> None:
        self.expanded = 0
        self.seen: set[int] = set()

    def build(self, node: Any, depth: int = 0, in_alias: bool = False) -> Any:
        if depth > MAX_DEPTH:
            raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", _pos(node.start_mark))
        if isinstance(node, yaml.ScalarNode):
            if in_alias:
                self._count(node)
            return _scalar(node)
        # A collection node met a second time is an alias being expanded.
        again = id(node) in self.seen
        if not again:
            self.seen.add(id(node))
        in_alias = in_alias or again
        if in_alias:
            self._count(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise YamlProblem(f"unsupported tag {node.tag}", _pos(node.start_mark))
            return [self.build(item, depth + 1, in_alias) for item in node.value]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth, in_alias)
        raise YamlProblem("unsupported YAML node", _pos(node.start_mark))  # pragma: no cover

    def _count(self, node: Any) -> None:
        self.expanded += 1
        if self.expanded > MAX_ALIAS_EXPANSION:
            raise YamlProblem(
                f"aliases expand to more than {MAX_ALIAS_EXPANSION} values "
                "(a 'billion laughs' file?); refusing to load it",
                _pos(node.start_mark),
            )

    def _mapping(self, node: Any, depth: int, in_alias: bool) -> dict[str, Any]:
        if node.tag != _MAP:
            raise YamlProblem(f"unsupported tag {node.tag}", _pos(node.start_mark))
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        key_marks: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for source in _merge_sources(value_node):
                    part = self.build(source, depth + 1, in_alias)
                    for k, v in part.items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem("mapping keys must be plain text", _pos(key_node.start_mark))
            key = key_node.value
            if key_node.tag not in (_STR, _INT, _BOOL, _NULL, _FLOAT, _TIMESTAMP):
                raise YamlProblem(f"unsupported tag {key_node.tag}", _pos(key_node.start_mark))
            if key in key_marks:
                first = key_marks[key]
                raise YamlProblem(
                    f"duplicate key {key!r} (first defined on line {first.line + 1}); "
                    "YAML would silently keep only the last one",
                    _pos(key_node.start_mark),
                )
            key_marks[key] = key_node.start_mark
            result[key] = self.build(value_node, depth + 1, in_alias)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result


def _merge_sources(node: Any) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        return [node]
    if isinstance(node, yaml.SequenceNode) and all(
        isinstance(n, yaml.MappingNode) for n in node.value
    ):
        return list(node.value)
    raise YamlProblem("'<<' merge needs a mapping or a list of mappings", _pos(node.start_mark))


def _scalar(node: Any) -> Any:
    tag, value = node.tag, node.value
    if tag in (_STR, _TIMESTAMP):
        # Timestamps stay text: the model parses them and insists on a timezone.
        return value
    if tag == _INT:
        return _int(value, node)
    if tag == _FLOAT:
        cleaned = value.replace("_", "")
        if _FINITE_FLOAT.match(cleaned):
            return Decimal(cleaned)
        return value  # .nan / .inf: kept as text so amount fields reject them
    if tag == _BOOL:
        return _BOOL_VALUES[value.lower()]
    if tag == _NULL:
        return None
    raise YamlProblem(f"unsupported tag {tag}", _pos(node.start_mark))


def _int(value: str, node: Any) -> int:
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
        raise YamlProblem(f"invalid integer {value!r}", _pos(node.start_mark)) from None
