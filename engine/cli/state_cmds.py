"""`sync force-unlock ID`: release an apply lock whose holder is gone.

The lock-held message names the id; the holder and time it held the lock are printed back
so the log shows what was released.
"""

from __future__ import annotations

import click

from engine.config import load_config
from engine.state.db import open_state
from engine.state.lock import force_unlock


@click.command(name="force-unlock")
@click.argument("lock_id", metavar="ID")
@click.pass_context
def force_unlock_cmd(ctx: click.Context, lock_id: str) -> int:
    """Release the account's apply lock ID, left behind by an apply that died."""
    config = load_config(ctx.obj["config_dir"])
    db = open_state(config.project.state, config.state_dir)
    try:
        released = force_unlock(db, config.project.seller_id, lock_id)
    finally:
        db.close()
    click.echo(
        f"Released the apply lock of seller {released.seller_id}: it was {released.describe()}. "
        "The next apply resumes any unfinished run from the journal."
    )
    return 0


COMMANDS = [force_unlock_cmd]
