"""Imports point one way: cli -> flows -> features -> config -> core (docs/architecture.md).

The layers contract lives in pyproject.toml ([tool.importlinter]); import-linter checks it
over the engine's real import graph, lazy imports inside functions included. A second check
here keeps the contract itself honest: every package of the engine is in it, so a new one
cannot sit outside the layering unnoticed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINTS = {"__init__.py", "__main__.py"}


def contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = config["tool"]["importlinter"]["contracts"]
    return layers


def test_imports_point_one_way(capsys):
    exit_code = lint_imports(
        config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True
    )
    assert exit_code == 0, capsys.readouterr().out


def test_every_engine_package_is_a_layer():
    packages = {
        path.name
        for path in (ROOT / "engine").iterdir()
        if path.is_dir() and (path / "__init__.py").exists()
    }
    modules = {
        path.name for path in (ROOT / "engine").glob("*.py") if path.name not in ENTRY_POINTS
    }
    assert modules == set(), "a module outside every layer: move it into one"
    assert packages - {"schemas"} == set(contract()["layers"])


def test_cli_is_on_top_and_core_at_the_bottom():
    layers = contract()["layers"]
    assert (layers[0], layers[1], layers[-2], layers[-1]) == ("cli", "flows", "config", "core")
