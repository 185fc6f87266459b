"""Change freezes (project.yaml `freezes`): the plan says the freeze is on, `sync apply`
refuses with exit 3 and one line naming the window, and the config checks each window."""

from __future__ import annotations

import textwrap

import pytest

from engine.cli.main import main
from engine.config import load_config
from engine.config.errors import ConfigErrors
from engine.core.exitcodes import ExitCode
from tests.minimal_config import MINIMAL_FILES, write_config

AT = ["--now", "2026-11-22T12:00:00Z"]  # tests.conftest.NOW, the sandbox's frozen clock


def with_freezes(text: str) -> dict[str, str]:
    project = textwrap.dedent(MINIMAL_FILES["project.yaml"]) + textwrap.dedent(text)
    return {"project.yaml": project}


BLACK_FRIDAY = """\
    freezes:
      - name: Black Friday
        start: "2026-11-20T00:00:00+01:00"
        end: "2026-12-01T00:00:00Z"
        reason: peak sales, no listing changes
"""


def sync(config, *args: str) -> int:
    return main(["--config", str(config.root), *args])


def test_apply_refuses_during_a_freeze_with_one_line_naming_it(seeded_config, capsys):
    config = seeded_config(with_freezes(BLACK_FRIDAY))
    assert sync(config, "apply", "--auto-approve") == ExitCode.BLOCKED == 3
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        "Error: apply refused: change freeze 'Black Friday' (2026-11-19T23:00Z to "
        "2026-12-01T00:00Z): peak sales, no listing changes; nothing was written (only the "
        "watchdog's breaker writes during a freeze)"
    )


def test_the_plan_says_the_freeze_is_on(seeded_config, capsys, tmp_path):
    config = seeded_config(with_freezes(BLACK_FRIDAY))
    comment = tmp_path / "plan.md"
    assert sync(config, "plan", "--markdown", str(comment), *AT) == 0
    note = "change freeze 'Black Friday' (2026-11-19T23:00Z to 2026-12-01T00:00Z)"
    assert note in capsys.readouterr().out
    assert f"> **Note:** The {note}" in comment.read_text(encoding="utf-8")
    after = ["--now", "2026-12-01T00:00:00Z"]  # the end is exclusive
    assert sync(config, "plan", *after) == 0
    assert "freeze" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ('start: "2026-11-20T00:00Z"\n    end: "2026-11-19T00:00Z"', "must be after start"),
        ('start: "2026-11-20T00:00"\n    end: "2026-11-21T00:00Z"', "date-time with timezone"),
    ],
)
def test_a_freeze_window_is_checked(tmp_path, window, message):
    freezes = f"freezes:\n  - name: X\n    {window}\n    reason: r\n"
    with pytest.raises(ConfigErrors) as raised:
        load_config(write_config(tmp_path / "config", with_freezes(freezes)))
    [error] = raised.value.errors
    assert error.field.startswith("freezes[0].") and message in error.message
