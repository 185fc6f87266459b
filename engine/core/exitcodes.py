"""Every exit code sellersync returns, in one place (the README's table is written from this).

0, 1 and 2 keep Terraform's meaning for `--detailed-exitcode` (no changes, error, changes
present), so a CI step written for `terraform plan` reads ours the same way. Each code means
one thing: a guardrail block is not a crash, and a stale plan is not a failed write.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Done; with `--detailed-exitcode`: no changes."""

    USER_ERROR = 1
    """Bad config, bad arguments, a refused SP-API call, or a write Amazon failed."""

    CHANGES = 2
    """Changes present (`plan --detailed-exitcode`, `drift`), or a breaker tripped (`watch`)."""

    BLOCKED = 3
    """A guardrail blocks the plan: `apply` wrote nothing; `plan --detailed-exitcode` and
    `validate` report it, whether or not a listing changes."""

    STALE_OR_LOCKED = 4
    """Not now, nothing was written: the plan is stale, or another process holds the lock."""

    HEALTH_BREACHED = 5
    """`sync health`: an account-health figure is past its threshold."""

    KPI_MISSED = 6
    """`sync status --strict`: a KPI missed its target."""

    INTERNAL_ERROR = 70
    """A bug: the traceback is saved to a log file whose path is printed (sysexits' EX_SOFTWARE)."""

    INTERRUPTED = 130
    """Ctrl-C (128 + SIGINT, as shells report it)."""
