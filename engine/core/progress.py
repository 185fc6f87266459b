"""How a long run reports its progress, without knowing who shows it.

The live reads (a listings report and the detail it needs, orders and their items) and the
flows over them take a `Progress`: each stage of work starts with a label and, when known,
how many units it has, then advances as units finish. The CLI passes a rich progress bar
on standard error when that is a terminal (engine.cli.progress); everything else gets
`NO_PROGRESS`, which does nothing. The engine never imports rich for this.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def stage(self, label: str, total: int | None = None) -> None:
        """A new stage of `total` units (None: not known yet); ends the previous stage."""
        ...

    def advance(self, units: int = 1) -> None:
        """`units` more units of the current stage are done."""
        ...


class _Silent:
    """Reports nowhere: the default of every flow and backend."""

    def stage(self, label: str, total: int | None = None) -> None:
        return None

    def advance(self, units: int = 1) -> None:
        return None


NO_PROGRESS: Progress = _Silent()
