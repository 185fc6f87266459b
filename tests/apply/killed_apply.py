"""`python -m tests.apply.killed_apply N ARGS...`: sellersync, killed for real after N writes.

The resume tests must show that an apply killed mid-way converges without writing anything
twice, and a real kill (no cleanup, no `finally`, the lock left behind) is the honest way to
show it. This runs the CLI with ARGS in a process that ends itself with `os._exit` right
after the N-th write is answered and before that answer is journaled: the worst moment to
die, since the entry is left `sent` with its outcome unknown. It lives with the tests so
that no kill switch ships in the product.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from engine.apply.executor import Executor
from engine.cli.main import main

KILLED_EXIT = 137  # what a shell reports for a process killed by SIGKILL


def kill_after(writes: int) -> Callable[[], None]:
    """An executor `after_write` hook that ends the process on the `writes`-th write."""
    written = 0

    def after_write() -> None:
        nonlocal written
        written += 1
        if written >= writes:
            os._exit(KILLED_EXIT)

    return after_write


def run(argv: list[str]) -> int:
    """Run the CLI with argv[1:], every executor it makes killing after argv[0] writes."""
    writes, args = int(argv[0]), argv[1:]
    make_executor = Executor.__init__

    def with_kill_switch(self: Executor, *positional: object, **named: object) -> None:
        named["after_write"] = kill_after(writes)
        make_executor(self, *positional, **named)  # type: ignore[arg-type]

    Executor.__init__ = with_kill_switch  # type: ignore[method-assign]
    return main(args)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
