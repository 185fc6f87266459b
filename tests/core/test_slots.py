"""engine.core.slots: generated constructors and copiers give what the dataclass gives."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core.slots import constructor, copier


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0
    label: str = ""


@dataclass(frozen=True, slots=True)
class Checked:
    x: int

    def __post_init__(self) -> None:
        if self.x < 0:
            raise ValueError("negative")


@dataclass(frozen=True)
class Unslotted:
    x: int


values = st.tuples(st.integers(), st.integers(), st.text(max_size=5))


@given(values)
def test_constructor_builds_what_the_dataclass_builds(args: tuple[int, int, str]) -> None:
    built = constructor(Point)(*args)
    assert type(built) is Point
    assert built == Point(*args)
    assert hash(built) == hash(Point(*args))


@given(values, st.integers())
def test_copier_is_replace(args: tuple[int, int, str], y: int) -> None:
    point = Point(*args)
    assert copier(Point, "y")(point, y) == replace(point, y=y)
    assert point == Point(*args)  # the original is untouched


def test_what_it_builds_stays_frozen() -> None:
    point = constructor(Point)(1, 2, "a")
    with pytest.raises(FrozenInstanceError):
        point.x = 5  # type: ignore[misc]


def test_every_field_is_required() -> None:
    with pytest.raises(TypeError):
        constructor(Point)(1)


def test_refuses_a_class_that_checks_its_fields() -> None:
    with pytest.raises(TypeError, match="__post_init__"):
        constructor(Checked)


def test_refuses_a_class_without_slots() -> None:
    with pytest.raises(TypeError, match="slotted"):
        constructor(Unslotted)


def test_copier_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match="no field 'z'"):
        copier(Point, "z")
