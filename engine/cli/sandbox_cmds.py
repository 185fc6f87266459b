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
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from engine.cli.options import connection_fault_options, json_option, report_fault_options
from engine.cli.sandbox_box import DEFAULT_TIMING, TIMINGS, context_obj, open_box
from engine.core.errors import UserError


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
    obj = context_obj(ctx)
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
    from engine.sandbox.app import CannotListen

    box = open_box(ctx, rate_limits=not no_rate_limits)
    saved_speed = box.clock.speed
    if speed is not None:
        box.set_speed(speed)
    try:
        url = box.start(port)
    except CannotListen as err:
        box.stop()
        raise UserError(f"{err}; pick another with --port (--port 0 picks a free one)") from None
    _record_server(box, url)
    status = box.status()
    click.echo(f"sandbox for seller {status['seller_id']} serving at {url}")
    click.echo(
        f"state: {status['state_dir']}; virtual time {status['clock']['now']}; "
        f"timing {status['timing']}. Ctrl-C stops it."
    )
    click.echo(speed_note(saved_speed, speed))
    for line in client_lines(box.client_settings(url)):
        click.echo(line)
    try:
        box.serve_forever(port)
    except KeyboardInterrupt:
        click.echo("sandbox stopped")
    finally:
        _forget_server(box)
        box.stop()
    return 0


def client_lines(settings: dict[str, Any]) -> list[str]:
    """How to point another SP-API client at the sandbox (docs/spapi.md, "Other clients")."""
    lines = [
        f"other SP-API clients: endpoint {settings['endpoint']}, "
        f"LWA token URL {settings['lwa_token_url']}"
    ]
    demo = settings["demo_lwa_credentials"]
    if demo is not None:
        lines += [
            "demo LWA credentials of the sandbox's demo seller (published, not secrets; "
            "accepted only by this sandbox):",
            f"  client id:     {demo['client_id']}",
            f"  client secret: {demo['client_secret']}",
            f"  refresh token: {demo['refresh_token']}",
        ]
    return lines


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
@click.option(
    "--from-config",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    metavar="DIR",
    help="Seed from the config in DIR instead of the --config one (the sandbox stays the "
    "--config one's, in its state folder).",
)
@click.option(
    "--exact",
    is_flag=True,
    help="Seed exactly the rendered desired state: none of the demo's deliberate "
    "differences, so a plan shows only what changed in the config since.",
)
@click.pass_context
def reset(ctx: click.Context, stored: bool, from_config: Path | None, exact: bool) -> int:
    """Restore the seeded demo account (re-rendered from the config unless --stored)."""
    if stored and (from_config is not None or exact):
        raise UserError("--stored restores the stored seed; --from-config and --exact re-seed")
    box = open_box(ctx, reseed=not stored, from_config=from_config, exact=exact)
    if stored:
        box.reset()
    status = box.status()
    click.echo(reset_summary(status, stored=stored))
    return 0


def reset_summary(status: dict[str, Any], *, stored: bool) -> str:
    """What `sync sandbox reset` did, naming the config directory the seed came from."""
    where = status["seeded_from"] or "a config directory this sandbox did not record"
    how = (
        f"restored the stored seed, rendered from {where}"
        if stored
        else f"seeded from the config in {where}"
    )
    differences = (
        "exact: no deliberate differences from the config"
        if status["seed_exact"]
        else f"{len(status['seed_differences'])} deliberate difference(s) from the config"
    )
    return (
        f"sandbox reset: {how}; seller {status['seller_id']}, {status['listings']} listings "
        f"in {len(status['marketplaces'])} marketplace(s), {differences}"
    )


@sandbox.command()
@json_option("Machine-readable output.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> int:
    """Show the sandbox account, clock, faults and (if one runs) the server URL."""
    box = open_box(ctx)
    info = box.status()
    server = _running_server(box)
    info["url"] = None if server is None else server["url"]
    # The profile is the serving process's, not this command's (it is never saved).
    info["timing"] = None if server is None else server.get("timing")
    info["client"] = box.client_settings(info["url"])
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    click.echo(f"url:          {info['url'] or 'not serving (commands start it in-process)'}")
    if info["url"]:
        click.echo(f"LWA token:    {info['client']['lwa_token_url']} (demo credentials: --json)")
    if info["timing"]:
        click.echo(f"timing:       {info['timing']} (the serving process's)")
    click.echo(f"seller:       {info['seller_id']} ({info['store_name']})")
    click.echo("marketplaces: " + ", ".join(m["code"] for m in info["marketplaces"]))
    click.echo(f"listings:     {info['listings']} ({info['pending_writes']} write(s) pending)")
    click.echo(
        f"seeded from:  {info['seeded_from'] or 'not recorded'}"
        + (" (exact: no deliberate differences)" if info["seed_exact"] else "")
    )
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
@click.option("--title", help="New title.")
@click.option("--brand", help="New brand.")
@click.option("--description", help="New description.")
@click.option("--bullet-point", "bullet_points", multiple=True, help="New bullet points.")
@click.option("--delete", is_flag=True, help="Delete the listing.")
@click.pass_context
def drift(
    ctx: click.Context,
    marketplace: str,
    sku: str,
    price: str | None,
    quantity: int | None,
    title: str | None,
    brand: str | None,
    description: str | None,
    bullet_points: tuple[str, ...],
    delete: bool,
) -> int:
    """Make an out-of-band edit, as if someone changed the listing in Seller Central."""
    from engine.sandbox import faults

    texts: dict[str, str | list[str]] = {
        name: value
        for name, value in (("title", title), ("brand", brand), ("description", description))
        if value is not None
    }
    if bullet_points:
        texts["bullet_points"] = list(bullet_points)
    if price is None and quantity is None and not texts and not delete:
        raise UserError(
            "give --price, --quantity, --title, --brand, --description, --bullet-point or --delete"
        )
    if delete and (price is not None or quantity is not None or texts):
        raise UserError("--delete deletes the listing; give it alone")
    box = open_box(ctx)
    try:
        if delete:
            faults.out_of_band_delete(box.account, marketplace, sku)
        if price is not None:
            faults.out_of_band_price(box.account, marketplace, sku, price)
        if quantity is not None:
            faults.out_of_band_quantity(box.account, marketplace, sku, quantity)
        for field, value in texts.items():
            faults.out_of_band_text(box.account, marketplace, sku, field, value)
    except (LookupError, faults.FaultError) as err:
        raise UserError(f"sandbox drift: {err.args[0] if err.args else err}") from None
    changes = (
        (["deleted"] if delete else [])
        + ([f"price {price}"] if price is not None else [])
        + ([f"quantity {quantity}"] if quantity is not None else [])
        + [f"{field} changed" for field in texts]
    )
    click.echo(f"out-of-band edit: {marketplace} {sku}: {', '.join(changes)}")
    return 0


@sandbox.group(name="participation")
def participation_group() -> None:
    """Add or remove a marketplace participation of the sandbox account (what
    getMarketplaceParticipations lists). `sync sandbox reset` restores the seeded ones."""


@participation_group.command(name="add")
@click.argument("marketplace", metavar="MARKETPLACE")
@click.pass_context
def participation_add(ctx: click.Context, marketplace: str) -> int:
    """Make the sandbox account participate in MARKETPLACE (a code, e.g. ES)."""
    return _set_participation(ctx, marketplace, participating=True)


@participation_group.command(name="remove")
@click.argument("marketplace", metavar="MARKETPLACE")
@click.pass_context
def participation_remove(ctx: click.Context, marketplace: str) -> int:
    """Stop the sandbox account participating in MARKETPLACE: calls naming it are refused."""
    return _set_participation(ctx, marketplace, participating=False)


def _set_participation(ctx: click.Context, marketplace: str, *, participating: bool) -> int:
    box = open_box(ctx)
    code = marketplace.upper()
    try:
        codes = box.account.set_participation(code, participating)
    except (LookupError, ValueError) as err:
        raise UserError(f"sandbox participation: {err.args[0]}") from None
    done = "now participates in" if participating else "no longer participates in"
    click.echo(f"sandbox account {done} {code}; marketplaces: {', '.join(codes)}")
    return 0


@sandbox.group(name="faults")
def faults_group() -> None:
    """Switch faults on and off (they persist in the state directory until cleared)."""


def _set_report_faults(
    store: Any, *, reports_cancelled: bool, report_variant: str | None
) -> list[str]:
    """Switch on the faults `engine.cli.options.report_fault_options` asked for; returns
    what was set."""
    from engine.sandbox import faults

    done = []
    if reports_cancelled:
        faults.set_report_cancelled(store)
        done.append("reports cancelled")
    if report_variant is not None:
        faults.set_report_variant(store, report_variant)
        done.append(f"report variant {report_variant}")
    return done


def _set_connection_faults(
    store: Any,
    operations: list[str] | None,
    *,
    drop_connections: float | None,
    drop_when: str,
    lost_answers: float | None,
    document_errors: float | None,
    throttle_share: float | None,
) -> list[str]:
    """Switch on the faults `engine.cli.options.connection_fault_options` asked for;
    returns what was set."""
    from engine.sandbox import faults

    chosen = []
    if drop_connections is not None:
        faults.set_dropped_connections(
            store, drop_connections, when=drop_when, operations=operations
        )
        chosen.append(f"dropped connections p={drop_connections} ({drop_when})")
    if lost_answers is not None:
        faults.set_lost_answers(store, lost_answers, operations=operations)
        chosen.append(f"lost answers p={lost_answers}")
    if document_errors is not None:
        faults.set_document_errors(store, document_errors)
        chosen.append(f"document errors p={document_errors}")
    if throttle_share is not None:
        faults.set_throttle_share(store, throttle_share, operations=operations)
        chosen.append(f"throttle share p={throttle_share}")
    return chosen


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
    "--token-errors",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="P",
    help="The LWA token endpoint fails with probability P (see --token-error).",
)
@click.option(
    "--token-error",
    type=click.Choice(["server_error", "temporarily_unavailable", "invalid_grant"]),
    default="server_error",
    show_default=True,
)
@click.option(
    "--tokens",
    "token_invalidation",
    type=click.Choice(["expired", "revoked"]),
    default=None,
    help="Access tokens issued so far stop working now (revoked: the refresh token too).",
)
@click.option(
    "--feeds-stuck",
    type=click.Choice(["IN_QUEUE", "IN_PROGRESS"]),
    default=None,
    help="New feeds stay in this status for --stuck-hours (virtual time).",
)
@click.option("--stuck-hours", type=click.FloatRange(0, 720, min_open=True), default=8.0)
@click.option("--feeds-cancelled", is_flag=True, help="Feeds end CANCELLED, by Amazon.")
@click.option(
    "--region-down",
    "regions_down",
    type=click.Choice(["NA", "EU", "FE"]),
    multiple=True,
    help="Calls naming a marketplace of this region answer 503 (repeatable).",
)
@click.option(
    "--bad-json",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="P",
    help="Successful answers come back as broken JSON with probability P (see --bad-json-mode).",
)
@click.option("--bad-json-mode", type=click.Choice(["truncated", "malformed"]), default="truncated")
@click.option(
    "--bad-gzip",
    type=click.Choice(["truncated", "corrupt"]),
    default=None,
    help="GZIP report documents download truncated or corrupt.",
)
@click.option(
    "--writes",
    "write_visibility",
    type=click.Choice(["delayed", "never", "reverted"]),
    default=None,
    help="Accepted listings writes show after --write-hours, never, or are taken back after "
    "--write-hours.",
)
@click.option("--write-hours", type=click.FloatRange(0, 720, min_open=True), default=4.0)
@click.option(
    "--operation",
    "operations",
    multiple=True,
    metavar="NAME",
    help="Only these SP-API operations, e.g. getListingsItem (repeatable).",
)
@click.option("--seed", type=int, default=None, help="Seed for the fault RNG (reproducible).")
@connection_fault_options
@report_fault_options
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
    token_errors: float | None,
    token_error: str,
    token_invalidation: str | None,
    feeds_stuck: str | None,
    stuck_hours: float,
    feeds_cancelled: bool,
    regions_down: tuple[str, ...],
    bad_json: float | None,
    bad_json_mode: str,
    bad_gzip: str | None,
    write_visibility: str | None,
    write_hours: float,
    operations: tuple[str, ...],
    seed: int | None,
    **connection: Any,
) -> int:
    """Turn faults on."""
    from engine.sandbox import faults
    from engine.sandbox.ratelimit import LIMITS

    unknown = [op for op in operations if op not in LIMITS]
    if unknown:
        raise UserError(f"unknown operation(s) {', '.join(unknown)}; known: {', '.join(LIMITS)}")
    ops = list(operations) or None
    box = open_box(ctx)
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
    chosen += _set_edge_faults(
        box,
        ops,
        token_errors=token_errors,
        token_error=token_error,
        token_invalidation=token_invalidation,
        feeds_stuck=feeds_stuck,
        stuck_hours=stuck_hours,
        feeds_cancelled=feeds_cancelled,
        regions_down=regions_down,
        bad_json=bad_json,
        bad_json_mode=bad_json_mode,
        bad_gzip=bad_gzip,
        write_visibility=write_visibility,
        write_hours=write_hours,
    )
    chosen += _set_report_faults(
        box.store,
        reports_cancelled=connection.pop("reports_cancelled"),
        report_variant=connection.pop("report_variant"),
    )
    chosen += _set_connection_faults(box.store, ops, **connection)
    if not chosen:
        raise UserError(
            "nothing to set: give --throttle, --server-errors, --gateway, --slow, --feeds-fatal, "
            "--feed-message-errors, --token-errors, --tokens, --feeds-stuck, --feeds-cancelled, "
            "--region-down, --bad-json, --bad-gzip, --writes, --drop-connections, "
            "--lost-answers, --document-errors, --throttle-share, --reports-cancelled, "
            "--report-variant or --seed"
        )
    click.echo("faults on: " + ", ".join(chosen))
    return 0


def _set_edge_faults(box: Any, ops: list[str] | None, **chosen: Any) -> list[str]:
    """The faults of issue 19 (engine.sandbox.faults, after EDGE_FAULT_NAMES) that
    `faults set` was given; returns what it turned on, for the confirmation line."""
    import time

    from engine.sandbox import faults

    done = []
    if chosen["token_errors"] is not None:
        faults.set_token_endpoint_errors(
            box.store, chosen["token_errors"], error=chosen["token_error"]
        )
        done.append(f"token endpoint {chosen['token_error']} p={chosen['token_errors']}")
    if chosen["token_invalidation"] is not None:
        faults.invalidate_tokens(box.store, chosen["token_invalidation"], wall_now=time.time())
        done.append(f"tokens {chosen['token_invalidation']}")
    if chosen["feeds_stuck"] is not None:
        faults.set_feed_stuck(box.store, chosen["feeds_stuck"], chosen["stuck_hours"])
        done.append(f"feeds stuck {chosen['feeds_stuck']} {chosen['stuck_hours']} h")
    if chosen["feeds_cancelled"]:
        faults.set_feed_cancelled(box.store)
        done.append("feeds cancelled")
    if chosen["regions_down"]:
        faults.set_region_down(box.store, chosen["regions_down"])
        done.append(f"region down {', '.join(sorted(set(chosen['regions_down'])))}")
    if chosen["bad_json"] is not None:
        faults.set_bad_json(
            box.store, chosen["bad_json"], mode=chosen["bad_json_mode"], operations=ops
        )
        done.append(f"bad JSON {chosen['bad_json_mode']} p={chosen['bad_json']}")
    if chosen["bad_gzip"] is not None:
        faults.set_bad_gzip(box.store, chosen["bad_gzip"])
        done.append(f"bad GZIP {chosen['bad_gzip']}")
    if chosen["write_visibility"] is not None:
        faults.set_write_visibility(box.store, chosen["write_visibility"], chosen["write_hours"])
        hours = "" if chosen["write_visibility"] == "never" else f" {chosen['write_hours']} h"
        done.append(f"writes {chosen['write_visibility']}{hours}")
    return done


@faults_group.command(name="clear")
@click.argument("name", required=False)
@click.pass_context
def faults_clear(ctx: click.Context, name: str | None) -> int:
    """Turn one fault (throttle, server_error, gateway, slow, feed_fatal, feed_message_errors,
    token_endpoint, token_invalidated, feed_stuck, feed_cancelled, region_down, bad_json,
    bad_gzip, write_visibility, dropped_connections, lost_answers, document_errors,
    throttle_share, report_cancelled, report_variant, seed) or all faults off."""
    from engine.sandbox import faults

    box = open_box(ctx)
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

    active = faults.active(open_box(ctx).store)
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
