"""requirements/lock.txt, the exact dependency versions CI installs (with their hashes): it
must cover every dependency pyproject.toml declares, runtime and every extra (test, bench),
at a version the declared range allows, or CI would install something else than what the
package asks for (or fail on --require-hashes). Every install in CI goes through it. See
docs/ci.md, "The lock file"."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements" / "lock.txt"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# What the lock is installed on: GitHub's ubuntu runner with the Python the workflows set up.
RUNNER = {
    "python_version": "3.11",
    "python_full_version": "3.11.9",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: Version
    marker: Marker | None
    hashes: tuple[str, ...]

    def applies(self, extra: str = "") -> bool:
        return self.marker is None or self.marker.evaluate({**RUNNER, "extra": extra})


def read_lock(text: str) -> list[Pin]:
    """The pins of a pip requirements file as `uv pip compile --generate-hashes` writes it:
    `name==version [; marker] \\` followed by `--hash=sha256:...` lines."""
    pins = []
    joined = re.sub(r"\\\n\s*", " ", text)
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        hashes = tuple(re.findall(r"--hash=(sha256:[0-9a-f]{64})", line))
        requirement = Requirement(re.sub(r"\s*--hash=\S+", "", line))
        [spec] = requirement.specifier
        assert spec.operator == "==", f"not an exact pin: {line}"
        pins.append(
            Pin(
                canonicalize_name(requirement.name),
                Version(spec.version),
                requirement.marker,
                hashes,
            )
        )
    return pins


PINS = read_lock(LOCK.read_text(encoding="utf-8"))


def declared() -> list[Requirement]:
    """Everything pyproject.toml declares: the runtime dependencies and every extra's."""
    project = PYPROJECT["project"]
    extras = project.get("optional-dependencies", {})
    texts = [*project["dependencies"], *(r for group in extras.values() for r in group)]
    return [Requirement(text) for text in texts]


def pinned(name: str, pins: list[Pin] = PINS) -> Pin | None:
    """The pin of `name` that applies on the runner, if any."""
    found = [p for p in pins if p.name == canonicalize_name(name) and p.applies()]
    assert len(found) <= 1, f"{name} is pinned more than once for the runner: {found}"
    return found[0] if found else None


def uncovered(requirements: list[Requirement], pins: list[Pin]) -> list[str]:
    """What the lock fails to give each requirement: no pin on the runner, or a pin outside
    the declared range."""
    problems = []
    for requirement in requirements:
        pin = pinned(requirement.name, pins)
        if pin is None:
            problems.append(f"{requirement.name} is declared in pyproject.toml but not locked")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(
                f"the lock pins {pin.name}=={pin.version}, outside pyproject.toml's "
                f"{requirement}: refresh the lock (docs/ci.md, 'The lock file')"
            )
    return problems


def test_every_line_is_an_exact_pin_with_hashes():
    assert len(PINS) > 20
    for pin in PINS:
        assert pin.hashes, f"{pin.name} has no hash: pip --require-hashes would refuse the lock"
    assert len({(p.name, p.marker and str(p.marker)) for p in PINS}) == len(PINS)


def test_the_lock_pins_every_declared_dependency_within_its_range():
    requirements = declared()
    assert {"pyyaml", "click", "moto", "pytest", "ruff"} <= {
        canonicalize_name(r.name) for r in requirements
    }
    assert uncovered(requirements, PINS) == []


@pytest.mark.parametrize("requirement", [r for r in declared() if r.extras], ids=str)
def test_the_lock_pins_what_a_declared_extra_pulls_in(requirement):
    """psycopg[binary], moto[server]: the extra's own requirements (from the installed
    distribution's metadata) are locked too, or --require-hashes would miss them."""
    metadata = importlib.metadata.requires(requirement.name) or []
    for extra in requirement.extras:
        wanted = [
            Requirement(text)
            for text in metadata
            if Requirement(text).marker is not None
            and Requirement(text).marker.evaluate({**RUNNER, "extra": extra})
            and not Requirement(text).marker.evaluate({**RUNNER, "extra": ""})
        ]
        assert wanted, f"{requirement.name}[{extra}] adds nothing: is the extra still there?"
        for dependency in wanted:
            assert pinned(dependency.name), f"{requirement}: {dependency.name} is not locked"


def test_a_missing_an_out_of_range_or_a_windows_only_pin_is_caught():
    hashes = " \\\n    --hash=sha256:" + "0" * 64 + "\n"
    lock = read_lock(
        f"click==8.0.0{hashes}Werkzeug==3.1.9{hashes}colorama==0.4.6 ; sys_platform == 'win32'"
        + hashes
    )
    wanted = ["click>=8.1", "werkzeug>=3.0", "rich>=13.0", "colorama>=0.4"]
    assert uncovered([Requirement(r) for r in wanted], lock) == [
        "the lock pins click==8.0.0, outside pyproject.toml's click>=8.1: refresh the lock"
        " (docs/ci.md, 'The lock file')",
        "rich is declared in pyproject.toml but not locked",
        "colorama is declared in pyproject.toml but not locked",
    ]


def test_the_lock_is_made_by_the_command_docs_ci_md_gives():
    """The header uv writes is the command that made the lock; the docs tell how to refresh it
    with exactly that command, so the two cannot drift apart."""
    header = LOCK.read_text(encoding="utf-8").splitlines()[:2]
    assert header[0] == "# This file was autogenerated by uv via the following command:"
    command = header[1].removeprefix("#").strip()
    assert command.startswith("uv pip compile pyproject.toml --extra test ")
    assert "--generate-hashes" in command and "--python-version 3.11" in command
    assert command.endswith("-o requirements/lock.txt")
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    assert extras == {"test", "bench"}
    for extra in extras:  # lock every extra
        assert f" --extra {extra} " in command, f"the lock leaves out the {extra} extra"
    assert command in (REPO / "docs" / "ci.md").read_text(encoding="utf-8")


def test_ci_installs_the_lock_then_the_package_without_resolving_again():
    setup = yaml.safe_load((REPO / ".github" / "actions" / "setup" / "action.yml").read_text())
    [install] = [s["run"] for s in setup["runs"]["steps"] if "run" in s]
    ci_run = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    for script in (install, ci_run):
        commands = [line.strip() for line in script.splitlines() if "pip install" in line]
        locked = [c for c in commands if "-r requirements/lock.txt" in c]
        package = [c for c in commands if "--no-deps" in c]
        assert len(locked) == 1 and "--require-hashes" in locked[0], script
        assert len(package) == 1 and commands.index(locked[0]) < commands.index(package[0])
        others = set(commands) - {*locked, *package}
        assert all(c.endswith("install --quiet --upgrade pip") for c in others), others
