"""Errors a user can act on. The CLI prints these as one line each and exits 1;
anything else is a bug and gets a saved traceback (exit 3)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused operation: the message says what and where."""

    exit_code = 1

    def lines(self) -> list[str]:
        return [str(self)]
