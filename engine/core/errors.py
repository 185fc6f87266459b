"""Errors a user can act on. The CLI prints these as one line each and exits 1; anything
else is a bug and gets a saved traceback (engine.core.exitcodes.ExitCode.INTERNAL_ERROR)."""

from __future__ import annotations

from engine.core.exitcodes import ExitCode


class UserError(Exception):
    """Bad input or a refused operation: the message says what and where."""

    exit_code: int = ExitCode.USER_ERROR

    def lines(self) -> list[str]:
        return [str(self)]
