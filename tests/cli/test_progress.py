"""Progress bars (engine.cli.progress): drawn on standard error only when it is a terminal
and the output is for a person; never in CliRunner's output, a pipe or --json."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from engine.cli.main import cli, main
from engine.cli.progress import RichProgress, progress_bar
from engine.core.progress import NO_PROGRESS
from tests.sandbox.conftest import _clean_spapi_env  # noqa: F401  (autouse fixture)

BAR_MARKS = ("listings report", "listing detail", "━", "\x1b[")


class Terminal(io.StringIO):
    """A standard error that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch) -> Callable[[], Terminal]:
    """Makes standard error a terminal; call it in the test itself (pytest's capture puts
    its own sys.stderr back between a fixture and the test)."""
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)

    def become() -> Terminal:
        stderr = Terminal()
        monkeypatch.setattr(sys, "stderr", stderr)
        return stderr

    return become


def test_a_plan_under_clirunner_shows_no_bar(seeded_config):
    config = seeded_config()
    result = CliRunner().invoke(
        cli, ["--config", str(config.root), "plan", "--full-refresh"], standalone_mode=False
    )
    assert result.exit_code == 0, result.output
    assert "listing.US" in result.output
    assert [mark for mark in BAR_MARKS if mark in result.output] == []


def test_no_bar_without_a_terminal_or_with_json(terminal, monkeypatch):
    terminal()
    with progress_bar(as_json=True) as progress:
        assert progress is NO_PROGRESS
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar() as progress:
        assert progress is NO_PROGRESS
    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.setenv("TERM", "dumb")
    with progress_bar() as progress:
        assert progress is NO_PROGRESS


def test_on_a_terminal_each_stage_is_a_task_and_the_bar_is_cleared_at_the_end(terminal):
    stderr = terminal()
    with progress_bar() as progress:
        assert isinstance(progress, RichProgress)
        bar = progress._bar
        progress.stage("US: listings report")  # a wait: nothing to count
        progress.stage("US: listing detail", 45)
        progress.advance(20)
        progress.advance(20)
        progress.advance(5)
        progress.stage("US: orders")
        progress.advance(7)
        tasks = {t.description: (t.completed, t.total) for t in bar.tasks}
        assert tasks == {"US: listing detail": (45, 45), "US: orders": (7, None)}
    drawn = stderr.getvalue()
    assert "US: listing detail" in drawn  # drawn on standard error while it ran
    # then cleared: the cursor shown again and the two lines left erased
    assert drawn.endswith("\x1b[?25h\r" + "\x1b[1A\x1b[2K" * 2)


@pytest.mark.parametrize("extra", [[], ["--refresh-only"]])
def test_drift_on_a_terminal_draws_the_bar_on_standard_error_only(
    seeded_config, terminal, capsys, extra
):
    config = seeded_config()
    stderr = terminal()
    code = main(["--config", str(config.root), "drift", "--full-refresh", *extra])
    assert code in (0, 2)
    drawn = stderr.getvalue()
    assert "US: listing detail" in drawn and "JP: listing detail" in drawn
    assert [mark for mark in BAR_MARKS if mark in capsys.readouterr().out] == []
