"""`sync sandbox ...`: run, reset, inspect and disturb the embedded SP-API sandbox.

Thin commands: they find the state directory and the seed, call `engine.sandbox`, and print.
The sandbox is seeded from the rendered desired state of the config (see
`engine.sandbox.seed` for the deliberate differences).

`--timing` (on the group) picks the sandbox's timing profile (engine.sandbox.timing) for the
command: `amazon` by default here, Amazon's processing times; `fast` for quick demos. It is
never saved. The clock speed is saved (every process sharing the state folder must agree on
virtual time), so `serve` says which speed it runs at and whether an earlier `--speed` set it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from engine.desired.resource import Resource
from engine.errors import UserError


def load_seed_resources(ctx: click.Context) -> tuple[str, list[Resource]]:
    """The seller id and the rendered desired state the sandbox is seeded from.

    Rendering happens at the current time (the CLI is the edge that reads the clock)."""
    try:
        from engine.config import load_config
        from engine.live.connect import sandbox_seed
    except ImportError as err:
        raise UserError(
            f"cannot seed the sandbox: config rendering is not available ({err})"
        ) from None
    config = load_config(_obj(ctx).get("config_dir", Path("config")))
    return sandbox_seed(config, datetime.now(UTC))


def sandbox_state_dir(ctx: click.Context) -> Path:
    """--state-dir if given, else the config's state_dir (project.yaml)."""
    obj = _obj(ctx)
    if obj.get("sandbox_state_dir") is not None:
        return Path(obj["sandbox_state_dir"])
    try:
        from engine.config import load_config
    except ImportError as err:
        raise UserError(f"give --state-dir: the config loader is not available ({err})") from None
    return load_config(obj.get("config_dir", Path("config"))).state_dir


def _obj(ctx: click.Context) -> dict[str, Any]:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = {}
    return root.obj


def _open(ctx: click.Context, *, reseed: bool = False, **options: Any) -> Any:
    from engine.sandbox.runtime import Sandbox
    from engine.sandbox.store import Store
    from engine.sandbox.timing import profile_named

    state_dir = sandbox_state_dir(ctx)
    seed = None
    if reseed or not Store(state_dir).is_seeded():
        seed = load_seed_resources(ctx)
    obj = _obj(ctx)
    options.setdefault("timing", profile_named(obj.get("timing", DEFAULT_TIMING)))
    options.setdefault("timing_seed", obj.get("timing_seed", 0))
    return Sandbox.open(state_dir, seed=seed, reseed=reseed, **options)


DEFAULT_TIMING = "amazon"
TIMINGS = ("amazon", "fast")


@click.group()
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SELLERSYNC_STATE_DIR",
    help="Sandbox state directory (default: state_dir from project.yaml).",
)
@click.option(
    "--timing",
    type=click.Choice(TIMINGS),
    default=DEFAULT_TIMING,
    show_default=True,
    envvar="SELLERSYNC_SANDBOX_TIMING",
    help="Processing times: amazon (listing writes 1-15 min, feeds 5-45 min, reports "
    "1-10 min, see docs/spapi.md) or fast (seconds). Not saved.",
)
@click.option(
    "--timing-seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the amazon profile's delays (same seed, same delays).",
)
@click.pass_context
def sandbox(ctx: click.Context, state_dir: Path | None, timing: str, timing_seed: int) -> None:
    """The embedded SP-API sandbox: a local, stateful Amazon for the demo seller."""
    obj = _obj(ctx)
    obj["sandbox_state_dir"] = state_dir
    obj["timing"] = timing
    obj["timing_seed"] = timing_seed


@sandbox.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Virtual seconds per real second (e.g. 60: an hour a minute). Saved in the state "
    "folder: later commands and serves keep it until another --speed.",
)
@click.option("--no-rate-limits", is_flag=True, help="Admit every call (benchmarks).")
@click.pass_context
def serve(ctx: click.Context, port: int, speed: float | None, no_rate_limits: bool) -> int:
    """Serve SP-API on 127.0.0.1 until interrupted."""
    box = _open(ctx, rate_limits=not no_rate_limits)
    saved_speed = box.clock.speed
    if speed is not None:
        box.set_speed(speed)
    url = box.start(port)
    _record_server(box, url)
    status = box.status()
    click.echo(f"sandbox for seller {status['seller_id']} serving at {url}")
    click.echo(
        f"state: {status['state_dir']}; virtual time {status['clock']['now']}; "
        f"timing {status['timing']}. Ctrl-C stops it."
    )
    click.echo(speed_note(saved_speed, speed))
    try:
        box.serve_forever(port)
    except KeyboardInterrupt:
        click.echo("sandbox stopped")
    finally:
        _forget_server(box)
        box.stop()
    return 0


def speed_note(saved: float, given: float | None) -> str:
    """Which speed the clock runs at, and where that speed comes from."""
    if given is not None:
        return (
            f"clock speed {given:g}x (--speed), saved in the state folder: later commands "
            "and serves keep it until another --speed"
        )
    if saved != 1:
        return f"clock speed {saved:g}x, saved by an earlier --speed; give --speed 1 for real time"
    return "clock speed 1x (real time)"


@sandbox.command()
@click.option(
    "--stored", is_flag=True, help="Restore the stored seed instead of re-seeding from the config."
)
@click.pass_context
def reset(ctx: click.Context, stored: bool) -> int:
    """Restore the seeded demo account (re-rendered from the config unless --stored)."""
    box = _open(ctx, reseed=not stored)
    if stored:
        box.reset()
    status = box.status()
    click.echo(
        f"sandbox reset: seller {status['seller_id']}, {status['listings']} listings in "
        f"{len(status['marketplaces'])} marketplace(s), "
        f"{len(status['seed_differences'])} deliberate difference(s) from the config"
    )
    return 0


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> int:
    """Show the sandbox account, clock, faults and (if one runs) the server URL."""
    box = _open(ctx)
    info = box.status()
    server = _running_server(box)
    info["url"] = None if server is None else server["url"]
    # The profile is the serving process's, not this command's (it is never saved).
    info["timing"] = None if server is None else server.get("timing")
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    click.echo(f"url:          {info['url'] or 'not serving (commands start it in-process)'}")
    if info["timing"]:
        click.echo(f"timing:       {info['timing']} (the serving process's)")
    click.echo(f"seller:       {info['seller_id']} ({info['store_name']})")
    click.echo("marketplaces: " + ", ".join(m["code"] for m in info["marketplaces"]))
    click.echo(f"listings:     {info['listings']} ({info['pending_writes']} write(s) pending)")
    click.echo(
        f"clock:        {info['clock']['now']} at {info['clock']['speed']}x"
        + (" (frozen)" if info["clock"]["frozen"] else "")
    )
    click.echo("faults:       " + (", ".join(sorted(info["faults"])) or "none"))
    for diff in info["seed_differences"]:
        click.echo(
            f"  seeded {diff['kind']:<9} {diff['marketplace']} {diff['sku']}: {diff['detail']}"
        )
    return 0


@sandbox.command()
@click.option("--marketplace", "-m", required=True, metavar="CODE", help="e.g. DE")
@click.option("--sku", required=True)
@click.option("--price", metavar="AMOUNT", help="New our_price, in the marketplace currency.")
@click.option("--quantity", type=click.IntRange(min=0), help="New merchant-fulfilled quantity.")
@click.pass_context
def drift(
    ctx: click.Context, marketplace: str, sku: str, price: str | None, quantity: int | None
) -> int:
    """Make an out-of-band edit, as if someone changed the listing in Seller Central."""
    from engine.sandbox import faults

    if price is None and quantity is None:
        raise UserError("give --price and/or --quantity")
    box = _open(ctx)
    try:
        if price is not None:
            faults.out_of_band_price(box.account, marketplace, sku, price)
        if quantity is not None:
            faults.out_of_band_quantity(box.account, marketplace, sku, quantity)
    except (LookupError, faults.FaultError) as err:
        raise UserError(f"sandbox drift: {err.args[0] if err.args else err}") from None
    changes = ([f"price {price}"] if price is not None else []) + (
        [f"quantity {quantity}"] if quantity is not None else []
    )
    click.echo(f"out-of-band edit: {marketplace} {sku}: {', '.join(changes)}")
    return 0


@sandbox.group(name="faults")
def faults_group() -> None:
    """Switch faults on and off (they persist in the state directory until cleared)."""


@faults_group.command(name="set")
@click.option(
    "--throttle",
    "throttle_seconds",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="429 storm for this many virtual seconds (0: until cleared).",
)
@click.option(
    "--server-errors",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="P",
    help="JSON 5xx with probability P.",
)
@click.option(
    "--server-status", type=click.Choice(["500", "503"]), default="500", show_default=True
)
@click.option(
    "--gateway",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="P",
    help="Non-JSON 502/504 with probability P.",
)
@click.option(
    "--slow",
    type=click.FloatRange(0, 120),
    default=None,
    metavar="SECONDS",
    help="Delay responses by SECONDS of real time.",
)
@click.option("--slow-probability", type=click.FloatRange(0, 1), default=1.0, show_default=True)
@click.option("--feeds-fatal", is_flag=True, help="Feeds end FATAL instead of being processed.")
@click.option(
    "--feed-message-errors",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="P",
    help="Each feed message fails with an ERROR issue with probability P.",
)
@click.option(
    "--operation",
    "operations",
    multiple=True,
    metavar="NAME",
    help="Only these SP-API operations, e.g. getListingsItem (repeatable).",
)
@click.option("--seed", type=int, default=None, help="Seed for the fault RNG (reproducible).")
@click.pass_context
def faults_set(
    ctx: click.Context,
    throttle_seconds: float | None,
    server_errors: float | None,
    server_status: str,
    gateway: float | None,
    slow: float | None,
    slow_probability: float,
    feeds_fatal: bool,
    feed_message_errors: float | None,
    operations: tuple[str, ...],
    seed: int | None,
) -> int:
    """Turn faults on."""
    from engine.sandbox import faults
    from engine.sandbox.ratelimit import LIMITS

    unknown = [op for op in operations if op not in LIMITS]
    if unknown:
        raise UserError(f"unknown operation(s) {', '.join(unknown)}; known: {', '.join(LIMITS)}")
    ops = list(operations) or None
    box = _open(ctx)
    chosen = []
    if seed is not None:
        faults.set_seed(box.store, seed)
        chosen.append(f"seed {seed}")
    if throttle_seconds is not None:
        until = box.clock.now() + timedelta(seconds=throttle_seconds) if throttle_seconds else None
        faults.set_throttle_storm(box.store, until=until, operations=ops)
        chosen.append("throttle")
    if server_errors is not None:
        faults.set_server_errors(
            box.store, server_errors, status=int(server_status), operations=ops
        )
        chosen.append(f"server errors p={server_errors}")
    if gateway is not None:
        faults.set_gateway_errors(box.store, gateway, operations=ops)
        chosen.append(f"gateway errors p={gateway}")
    if slow is not None:
        faults.set_slow(box.store, slow, probability=slow_probability, operations=ops)
        chosen.append(f"slow {slow}s")
    if feeds_fatal:
        faults.set_feed_fatal(box.store)
        chosen.append("feeds fatal")
    if feed_message_errors is not None:
        faults.set_feed_message_errors(box.store, feed_message_errors)
        chosen.append(f"feed message errors p={feed_message_errors}")
    if not chosen:
        raise UserError(
            "nothing to set: give --throttle, --server-errors, --gateway, --slow, --feeds-fatal, "
            "--feed-message-errors or --seed"
        )
    click.echo("faults on: " + ", ".join(chosen))
    return 0


@faults_group.command(name="clear")
@click.argument("name", required=False)
@click.pass_context
def faults_clear(ctx: click.Context, name: str | None) -> int:
    """Turn one fault (throttle, server_error, gateway, slow, feed_fatal, feed_message_errors,
    seed) or all faults off."""
    from engine.sandbox import faults

    box = _open(ctx)
    try:
        faults.clear(box.store, name)
    except faults.FaultError as err:
        raise UserError(str(err)) from None
    click.echo(f"faults cleared: {name or 'all'}")
    return 0


@faults_group.command(name="list")
@click.pass_context
def faults_list(ctx: click.Context) -> int:
    """Show the faults that are on."""
    from engine.sandbox import faults

    active = faults.active(_open(ctx).store)
    if not active:
        click.echo("no faults")
    for name, config in sorted(active.items()):
        click.echo(f"{name}: {json.dumps(config, sort_keys=True, default=str)}")
    return 0


def _record_server(box: Any, url: str) -> None:
    """Let `status` in another process find a running `serve`."""
    with box.store.write() as tx:
        tx.set_meta(
            "server",
            json.dumps({"url": url, "pid": os.getpid(), "timing": box.timings.profile.name}),
        )


def _forget_server(box: Any) -> None:
    with box.store.write() as tx:
        tx.set_meta("server", "null")


def _running_server(box: Any) -> dict[str, Any] | None:
    """What a running `serve` recorded (url, pid, timing), or None when none runs."""
    with box.store.read() as tx:
        recorded = json.loads(tx.meta("server") or "null")
    if not recorded:
        return None
    try:
        os.kill(int(recorded["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return dict(recorded)


def _register_order_commands() -> None:
    """promo, simulate, scenario and messages live in `engine.cli.sandbox_orders`."""
    from engine.cli import sandbox_orders

    for command in sandbox_orders.COMMANDS:
        sandbox.add_command(command)


_register_order_commands()
COMMANDS = [sandbox]
