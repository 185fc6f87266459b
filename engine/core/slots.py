"""Fast construction of frozen, slotted dataclasses that hold no invariants of their own.

A frozen dataclass's generated `__init__` sets each field through `object.__setattr__` by
name, to get past its own `__setattr__`. The functions made here write each slot through
the slot's own setter instead, which is half the cost. It matters only where a whole
catalog is built per plan: every rendered listing, every cached live listing, every stock
allocation. They are generated from the dataclass's fields, as dataclasses generates
`__init__`, so a field added later is handled too.

Sound only for a class whose `__init__` does nothing but store its arguments: no
`__post_init__`, no defaults computed at construction. Both are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def constructor(cls: type[T]) -> Callable[..., T]:
    """`cls(...)` with every field given, positionally, in field order."""
    return _generate(cls, f"build_{cls.__name__}", _field_names(cls), lambda name: name)


def copier(cls: type[T], changed: str) -> Callable[[T, Any], T]:
    """`dataclasses.replace(obj, **{changed: value})` as `copy(obj, value)`."""
    if changed not in _field_names(cls):
        raise TypeError(f"{cls.__name__} has no field {changed!r}")
    return _generate(
        cls,
        f"copy_{cls.__name__}_with_{changed}",
        ["r", "value"],
        lambda name: "value" if name == changed else f"r.{name}",
    )


def _field_names(cls: type) -> list[str]:
    if not is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} checks its fields in __post_init__: build it normally")
    return [f.name for f in fields(cls)]


def _generate(
    cls: type[T], name: str, params: list[str], value_of: Callable[[str], str]
) -> Callable[..., T]:
    """A function `name(params)` that makes a `cls` and sets each field to the expression
    `value_of(field)`. Unrolled, one setter call per field: a loop over the fields took
    twice as long."""
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    lines = [f"def {name}({', '.join(params)}):", "    o = new(cls)"]
    for i, field_name in enumerate(_field_names(cls)):
        scope[f"set{i}"] = getattr(cls, field_name).__set__
        lines.append(f"    set{i}(o, {value_of(field_name)})")
    lines.append("    return o")
    exec("\n".join(lines), scope)  # code made from the class's own field names, at import
    function: Callable[..., T] = scope[name]
    function.__qualname__ = name
    return function
