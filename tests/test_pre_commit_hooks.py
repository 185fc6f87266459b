""".pre-commit-hooks.yaml: the hook seller repositories run before each commit. Its entry is
run here as pre-commit runs it (the console script pyproject.toml installs, with the entry's
arguments, from the repository root), on a copy of the example seller: valid passes, a broken
file or a guardrail block fails the commit."""

from __future__ import annotations

import importlib
import re
import shlex
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.core.exitcodes import ExitCode

REPO = Path(__file__).resolve().parents[1]
SCRIPTS: dict[str, str] = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
    "project"
]["scripts"]
# A date inside the example's declared promotion (2026-12-01 to 12-14), for the blocked case.
DURING_THE_PROMOTION = "2026-12-02T00:00:00Z"


def hooks() -> list[dict[str, Any]]:
    return yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def hook() -> dict[str, Any]:
    [found] = [h for h in hooks() if h["id"] == "sellersync-validate"]
    return found


def console_script(name: str) -> Callable[[list[str]], int]:
    """What `name` runs once pre-commit pip-installed this repository: pyproject's target."""
    module, _, attribute = SCRIPTS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


@pytest.fixture
def seller_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A seller repository laid out as the hook expects (config/, schemas/), as the cwd."""
    repo = tmp_path / "seller"
    shutil.copytree(REPO / "config", repo / "config", ignore=shutil.ignore_patterns(".*"))
    shutil.copytree(REPO / "schemas", repo / "schemas")
    monkeypatch.chdir(repo)
    monkeypatch.delenv("SELLERSYNC_CONFIG", raising=False)
    monkeypatch.delenv("SELLERSYNC_BACKEND", raising=False)
    return repo


def run_entry(*args: str) -> int:
    executable, *entry_args = shlex.split(hook()["entry"])
    return console_script(executable)([*entry_args, *args])


def test_the_hook_is_declared_as_pre_commit_needs_it():
    assert [h["id"] for h in hooks()] == ["sellersync-validate"]
    declared = hook()
    assert declared["language"] == "python", "pre-commit pip-installs this repository"
    assert declared["pass_filenames"] is False, "validate checks the whole config"
    executable, *args = shlex.split(declared["entry"])
    assert executable in SCRIPTS, f"{executable} is not a console script pyproject installs"
    assert executable == "sellersync", "`sync` is also coreutils' on a developer's machine"
    assert args == ["validate"]
    assert declared["name"] and declared["description"]


@pytest.mark.parametrize(
    ("path", "runs"),
    [
        ("config/project.yaml", True),
        ("config/products/headphones.yaml", True),
        ("config/marketplaces/de.yml", True),
        ("config/approvals.yaml", True),
        ("schemas/products.schema.json", True),
        ("docs/config.md", False),
        ("engine/config/loader.py", False),
        ("README.md", False),
        ("myconfig/project.yaml", False),
    ],
)
def test_the_hook_runs_when_a_config_or_schema_file_changes(path, runs):
    assert (re.search(hook()["files"], path) is not None) is runs


def test_the_entry_passes_on_the_example_seller(seller_repo, capsys):
    assert run_entry() == ExitCode.OK
    out = capsys.readouterr().out
    assert out.startswith("config: valid. 40 products, 9 marketplaces")
    assert "0 blocked" in out
    assert sorted(p.name for p in seller_repo.iterdir()) == ["config", "schemas"], "offline"


def test_the_entry_fails_the_commit_on_a_broken_file(seller_repo, capsys):
    project = seller_repo / "config" / "project.yaml"
    text = project.read_text(encoding="utf-8")
    project.write_text(re.sub(r"(?m)^(\s*id:) \S+$", r"\1 not-a-seller-id", text, count=1))
    assert run_entry() == ExitCode.USER_ERROR
    assert "expected an Amazon seller id" in capsys.readouterr().err


def test_the_entry_fails_the_commit_on_a_guardrail_block(seller_repo, capsys):
    promotions = seller_repo / "config" / "promotions.yaml"
    text = promotions.read_text(encoding="utf-8")
    assert text.count("discount: {percent: 10}") == 1
    promotions.write_text(text.replace("{percent: 10}", "{percent: 60}"), encoding="utf-8")
    assert run_entry("--now", DURING_THE_PROMOTION) == ExitCode.BLOCKED
    assert "BLOCK    max_discount" in capsys.readouterr().out
