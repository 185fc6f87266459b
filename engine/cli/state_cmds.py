"""`sync state list | show ADDRESS | rm ADDRESS` and `sync force-unlock ID`: the state
store, read and tidied by hand (engine.flows.state_view); nothing is sent to Amazon.

The lock-held message names the lock id; `force-unlock` prints back the holder and time it
held the lock, so the log shows what was released.
"""

from __future__ import annotations

import json
from typing import Any

import click

from engine.cli.options import json_option
from engine.config import load_config
from engine.core.orders import iso
from engine.state.db import open_state
from engine.state.lock import force_unlock

STATE_JSON_VERSION = 1


@click.group(name="state")
def state_group() -> None:
    """Inspect the values sellersync last applied per listing, or forget one listing's.

    Reads the state store only; nothing is sent to Amazon.
    """


def _listing_json(item: Any) -> dict[str, Any]:
    return {"address": item.address, "applied_at": iso(item.applied_at), "fields": item.fields}


@state_group.command(name="list")
@json_option("Print the listings as JSON (docs/json.md).")
@click.pass_context
def state_list(ctx: click.Context, as_json: bool) -> int:
    """Every listing with last-applied values, and when they were recorded."""
    from engine.flows import state_view

    found = state_view.listings(ctx.obj["config_dir"])
    if as_json:
        data = {
            "format_version": STATE_JSON_VERSION,
            "listings": [{"address": i.address, "applied_at": iso(i.applied_at)} for i in found],
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    for item in found:
        click.echo(f"{item.address}  applied {iso(item.applied_at)}")
    click.echo(f"{len(found)} listing(s) with last-applied values.")
    return 0


@state_group.command(name="show")
@click.argument("address")
@json_option("Print the values as JSON (docs/json.md).")
@click.pass_context
def state_show(ctx: click.Context, address: str, as_json: bool) -> int:
    """The values last applied to ADDRESS (such as 'listing.DE["HP-100"]'), field by field."""
    from engine.flows import state_view

    item = state_view.listing(ctx.obj["config_dir"], address)
    if as_json:
        data = {"format_version": STATE_JSON_VERSION, **_listing_json(item)}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    click.echo(_shown(item))
    return 0


def _shown(item: Any) -> str:
    lines = [f"{item.address}  (last applied {iso(item.applied_at)})"]
    width = max((len(name) for name in item.fields), default=0)
    for name, value in item.fields.items():
        text = "-" if value is None else json.dumps(value, ensure_ascii=False)
        lines.append(f"  {name.ljust(width)}  {text}")
    return "\n".join(lines)


@state_group.command(name="rm")
@click.argument("address")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def state_rm(ctx: click.Context, address: str, yes: bool) -> int:
    """Forget the values last applied to ADDRESS. The listing on Amazon is not touched; the
    next plan treats it as never applied by sellersync (not yet adopted)."""
    from engine.flows import state_view

    def confirm(item: Any) -> bool:
        click.echo(_shown(item))
        if yes:
            return True
        return click.confirm(
            f"Forget these values? Amazon is not touched; {address} then reads as never "
            "applied by sellersync",
            default=False,
        )

    if not state_view.forget(ctx.obj["config_dir"], address, confirm):
        click.echo("Cancelled; nothing was forgotten.", err=True)
        return 1
    click.echo(
        f"Forgot the last-applied values of {address}; nothing was sent to Amazon. The next "
        "plan treats it as never applied by sellersync (`sync drift --refresh-only` adopts it)."
    )
    return 0


@click.command(name="force-unlock")
@click.argument("lock_id", metavar="ID")
@json_option("Print the released lock as JSON (docs/json.md).")
@click.pass_context
def force_unlock_cmd(ctx: click.Context, lock_id: str, as_json: bool) -> int:
    """Release the account's apply lock ID, left behind by an apply that died."""
    config = load_config(ctx.obj["config_dir"])
    db = open_state(config.project.state, config.state_dir)
    try:
        released = force_unlock(db, config.project.seller_id, lock_id)
    finally:
        db.close()
    if as_json:
        data = {"format_version": STATE_JSON_VERSION, "released": released.to_dict()}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    click.echo(
        f"Released the apply lock of seller {released.seller_id}: it was {released.describe()}. "
        "The next apply resumes any unfinished run from the journal."
    )
    return 0


COMMANDS = [state_group, force_unlock_cmd]
