"""A test hook, not a user option: kill `sync apply` for real after N writes.

The resume tests must show that an apply killed mid-way converges without writing anything
twice, and a real kill (no cleanup, no `finally`, the lock left behind) is the honest way
to show it. With `SELLERSYNC_TEST_KILL_AFTER_WRITES=N` in the environment, the process ends
itself with `os._exit` right after the N-th write is answered and before that answer is
journaled: the worst moment to die, since the entry is left `sent` with its outcome unknown.
Unset (always, outside tests), it does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

KILL_AFTER_WRITES = "SELLERSYNC_TEST_KILL_AFTER_WRITES"
KILLED_EXIT = 137  # what a shell reports for a process killed by SIGKILL


def kill_switch(environ: Mapping[str, str]) -> Callable[[], None] | None:
    """The executor's `after_write` hook when the variable is set, else None."""
    value = environ.get(KILL_AFTER_WRITES)
    if not value:
        return None
    limit = int(value)
    written = 0

    def after_write() -> None:
        nonlocal written
        written += 1
        if written >= limit:
            os._exit(KILLED_EXIT)

    return after_write
