"""Progress bars for the long runs (`orders pull`, `plan`, `import`), on standard error.

The flows report through engine.core.progress.Progress; this module is the one place that
shows it, with rich.progress. A bar is drawn only when standard error is an interactive
terminal: a CI log, a pipe, CliRunner or a `--json` run gets no bar and not one byte of
it. Colour follows --no-color and NO_COLOR like every other output (engine.cli.options);
without colour the bar is still drawn, in plain characters.

Cost: rich redraws from its own thread a few times a second, and an update from the run is
a locked addition: about 6 microseconds (0.2 with no bar), measured as 100,000 `advance()`
calls into a bar on a fake terminal on the 2-core dev machine. The run updates once per
API call at most (a page of orders, an order's items, 20 listings' detail), and the fastest
of those calls takes milliseconds: well under 1 % however big the catalog.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from engine.cli.options import console
from engine.core.progress import NO_PROGRESS, Progress

REFRESHES_PER_SECOND = 4  # enough for a bar that moves with API calls, little to redraw


class RichProgress:
    """Progress as rich.progress tasks: one line per stage, the current one moving. A
    finished stage that counted something stays on screen, complete, until the run ends
    (then all are cleared)."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._task: Any = None

    def stage(self, label: str, total: int | None = None) -> None:
        self._finish()
        self._task = self._bar.add_task(label, total=total)

    def advance(self, units: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, units)

    def _finish(self) -> None:
        if self._task is None:
            return
        task = next(t for t in self._bar.tasks if t.id == self._task)
        if task.total is None and not task.completed:
            # A wait with nothing to count (a report being made): done, nothing to show.
            self._bar.remove_task(self._task)
        else:
            # A stage whose total was not known (or not reached) shows what it did, full.
            self._bar.update(self._task, total=task.completed)
            self._bar.stop_task(self._task)


def shows_progress(*, as_json: bool = False) -> bool:
    """Whether a bar may be drawn: standard error is a terminal and the output is for a
    person (not --json)."""
    return not as_json and sys.stderr.isatty()


@contextmanager
def progress_bar(ctx: click.Context | None = None, *, as_json: bool = False) -> Iterator[Progress]:
    """A Progress for one run: a rich bar on standard error (see `shows_progress`), else
    NO_PROGRESS. The bar is cleared when the block ends, so the run's own output follows a
    clean screen."""
    if not shows_progress(as_json=as_json):
        yield NO_PROGRESS
        return
    stderr = console(ctx, stderr=True)
    if stderr.is_dumb_terminal:
        yield NO_PROGRESS
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as Bar

    with Bar(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        refresh_per_second=REFRESHES_PER_SECOND,
    ) as bar:
        yield RichProgress(bar)
