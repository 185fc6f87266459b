"""Change freezes (project.yaml `freezes`): windows in which `sync apply` writes nothing.

Like Argo CD's sync windows: a plan is still made and reviewed during a freeze, and says the
freeze is on; apply refuses with exit 3 and one line naming the window. Only `sync apply` is
refused: the watchdog's breaker (engine.watch.emergency) is an emergency write, and a
freeze must never keep it from stopping a listing that sells under its floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from engine.config.model import Freeze, active_freeze
from engine.core.errors import UserError
from engine.core.exitcodes import ExitCode


class ChangeFrozen(UserError):
    """`sync apply` during a change freeze: nothing was written (exit 3)."""

    exit_code = ExitCode.BLOCKED

    def __init__(self, freeze: Freeze):
        super().__init__(
            f"apply refused: {freeze.describe()}; nothing was written (only the watchdog's "
            "breaker writes during a freeze)"
        )
        self.freeze = freeze


def refuse_during_freeze(freezes: Sequence[Freeze], now: datetime) -> None:
    """Raise ChangeFrozen when a freeze covers `now`."""
    freeze = active_freeze(freezes, now)
    if freeze is not None:
        raise ChangeFrozen(freeze)


def freeze_notes(freezes: Sequence[Freeze], now: datetime) -> tuple[str, ...]:
    """What a plan made during a freeze says about it."""
    freeze = active_freeze(freezes, now)
    if freeze is None:
        return ()
    return (
        f"The {freeze.describe()} is on: `sync apply` refuses this plan until "
        f"{freeze.end:%Y-%m-%dT%H:%MZ} (the watchdog's breaker still writes).",
    )
