"""Ops fixtures: the backend-over-sandbox fixtures of tests/live, and a state store in
tmp_path (SQLite: the order store's dialect neutrality is the state tests' concern)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.state.db import StateDB, open_sqlite
from tests.live.conftest import (  # noqa: F401  (fixtures)
    _clean_spapi_env,
    backend,
    clock,
    make_backend,
    open_sandbox,
    resources,
    sandbox,
    timer,
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[StateDB]:
    store = open_sqlite(tmp_path / "ops-state")
    yield store
    store.close()
