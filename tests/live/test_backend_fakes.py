"""The tests' duck-typed backends are checked against the Backend protocol.

A fake that drifts from the protocol (a renamed parameter, a keyword the engine passes and
the fake does not take, a method the engine never calls) would let a test pass against a
backend no real code path could meet. Each fake implements only the part of Backend its
test needs; what it does implement must have the protocol's signature.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from engine.live.backend import Backend
from tests.apply.test_executor import BulkThreshold3
from tests.ops.test_inventory import FbaStock, LiveListings
from tests.watch.test_breaker import SlowWrites

FAKES = (BulkThreshold3, FbaStock, LiveListings, SlowWrites)
PROTOCOL_METHODS = {
    name for name, member in vars(Backend).items() if callable(member) and not name.startswith("_")
}
TESTS = Path(__file__).resolve().parents[1]


def signature_problems(fake: type, protocol: type = Backend) -> list[str]:
    """Where `fake`'s public methods differ from `protocol`'s (empty when they conform)."""
    problems = []
    for name, member in vars(fake).items():
        if name.startswith("_") or not callable(member):
            continue
        if name not in PROTOCOL_METHODS:
            problems.append(f"{fake.__name__}.{name} is not a Backend method")
            continue
        wanted = list(inspect.signature(getattr(protocol, name)).parameters.values())[1:]
        have = {p.name: p for p in list(inspect.signature(member).parameters.values())[1:]}
        for param in wanted:
            got = have.pop(param.name, None)
            if got is None:
                problems.append(f"{fake.__name__}.{name} lacks parameter {param.name!r}")
            elif got.kind != param.kind:
                problems.append(
                    f"{fake.__name__}.{name}: {param.name!r} is {got.kind.description}, "
                    f"Backend has {param.kind.description}"
                )
            elif (
                param.default is not inspect.Parameter.empty
                and got.default is inspect.Parameter.empty
            ):
                problems.append(f"{fake.__name__}.{name}: {param.name!r} must be optional")
        problems.extend(f"{fake.__name__}.{name} has extra parameter {extra!r}" for extra in have)
    return problems


@pytest.mark.parametrize("fake", FAKES, ids=lambda fake: fake.__name__)
def test_each_fake_backend_has_the_protocols_signatures(fake):
    assert signature_problems(fake) == []


def test_a_drifted_fake_is_caught():
    class Drifted:
        def read_listings(self, codes, *, refresh):  # renamed, and lacks wanted/applied
            return None

        def forget(self, sku):  # no such Backend method
            return None

    assert signature_problems(Drifted) == [
        "Drifted.read_listings lacks parameter 'marketplaces'",
        "Drifted.read_listings lacks parameter 'wanted'",
        "Drifted.read_listings lacks parameter 'applied'",
        "Drifted.read_listings lacks parameter 'recent'",
        "Drifted.read_listings has extra parameter 'codes'",
        "Drifted.forget is not a Backend method",
    ]


def test_every_fake_backend_in_the_tests_is_checked():
    """A class in tests/ that defines a Backend method is a fake backend, and
    must be in FAKES (so a new fake cannot skip the check)."""
    found = set()
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                methods = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
                if methods & PROTOCOL_METHODS and node.name != "Drifted":
                    found.add(node.name)
    assert found == {fake.__name__ for fake in FAKES}
