"""Flows run over a real backend: the live tests' backend fixtures over the sandbox."""

from __future__ import annotations

from tests.live.conftest import (  # noqa: F401  (fixtures)
    _clean_spapi_env,
    backend,
    clock,
    make_backend,
    open_sandbox,
    raw,
    resources,
    sandbox,
    timer,
)
