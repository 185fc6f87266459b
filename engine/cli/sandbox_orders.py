"""`sync sandbox promo | simulate | scenario | messages`: buyers, promotions and messages.

Registered on the `sync sandbox` group by `engine.cli.sandbox_cmds`. Thin: parse options,
call `engine.sandbox.{scenario,simulation}`, print text or JSON.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from engine.cli.options import json_option, marketplace_option
from engine.cli.sandbox_box import open_box
from engine.cli.tables import print_table
from engine.core.errors import UserError


def _when(value: str, option: str) -> datetime:
    from engine.sandbox.listings import parse_when

    parsed = parse_when(value)
    if parsed is None:
        raise UserError(f"{option} {value!r}: give an ISO 8601 date-time such as 2026-11-28T22:00Z")
    return parsed


def _rng(seed: int | None, now: datetime) -> random.Random:
    """Seeded by --seed, else by the virtual time: the same state gives the same run."""
    return random.Random(seed if seed is not None else now.isoformat())


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _echo_summary(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _echo_json(data)
        return
    click.echo(
        f"simulated {data['from']} to {data['to']}: {data['orders']} orders, {data['units']} units"
    )
    for note in data["notes"]:
        click.echo(f"note: {note}")
    numbers = ("orders", "units", "revenue", "unit price min", "unit price median")
    if data["by_marketplace"]:
        click.echo("by marketplace:")
        print_table(
            ("marketplace", "currency", "orders", "units", "revenue"),
            [
                (r["marketplace"], r["currency"], r["orders"], r["units"], r["revenue"])
                for r in data["by_marketplace"]
            ],
            right=numbers,
            indent=2,
        )
    if data["by_sku"]:
        click.echo("by SKU (unit price = what buyers paid per unit):")
        print_table(
            ("marketplace", "sku", "orders", "units", "revenue", "currency", *numbers[3:]),
            [
                (
                    r["marketplace"],
                    r["sku"],
                    r["orders"],
                    r["units"],
                    r["revenue"],
                    r["currency"],
                    r["unit_price_min"],
                    r["unit_price_median"],
                )
                for r in data["by_sku"]
            ],
            right=numbers,
            indent=2,
        )
    for row in data["sold_out"]:
        click.echo(f"sold out: {row['marketplace']} {row['sku']} at {row['at']}")
    statuses = ", ".join(f"{k} {v}" for k, v in data["statuses"].items())
    click.echo(f"order statuses now: {statuses or 'no orders'}")


@click.group()
def promo() -> None:
    """Promotions as made in Seller Central (SP-API cannot create or read them)."""


@promo.command(name="create")
@click.option("--kind", type=click.Choice(["percent-off", "promo-code"]), required=True)
@click.option("--discount", required=True, metavar="PERCENT", help="e.g. 10 or 12.5")
@click.option("--sku", "sku_pattern", required=True, metavar="PATTERN", help="e.g. HP-*")
@marketplace_option()
@click.option("--start", metavar="WHEN", help="ISO 8601 (default: now, virtual time).")
@click.option("--end", metavar="WHEN", help="ISO 8601 end (exclusive).")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), help="Or: duration.")
@click.option("--max-redemptions", type=click.IntRange(min=1), help="Orders it may discount.")
@click.option("--code", help="The promo code (default: SAVE<discount>).")
@click.option("--id", "promotion_id", help="Promotion id (default: SBX-<random>).")
@click.pass_context
def promo_create(
    ctx: click.Context,
    kind: str,
    discount: str,
    sku_pattern: str,
    marketplace: str,
    start: str | None,
    end: str | None,
    hours: float | None,
    max_redemptions: int | None,
    code: str | None,
    promotion_id: str | None,
) -> int:
    """Create a percent-off promotion or a promo code."""
    from engine.core.marketplaces import MARKETPLACES
    from engine.sandbox.promotions import Promotion, PromotionError
    from engine.sandbox.scenario import add_promotion

    if (end is None) == (hours is None):
        raise UserError("give exactly one of --end and --hours")
    try:
        pct = Decimal(discount)
    except InvalidOperation:
        raise UserError(f"--discount {discount!r}: give a percentage such as 10") from None
    mkt = MARKETPLACES.get(marketplace)
    if mkt is None:
        raise UserError(f"--marketplace {marketplace!r}: unknown marketplace code")
    box = open_box(ctx)
    now = box.clock.now()
    starts = _when(start, "--start") if start else now
    ends = _when(end, "--end") if end else starts + timedelta(hours=hours or 0)
    if kind == "promo-code" and code is None:
        code = f"SAVE{pct.normalize():f}".replace(".", "")
    try:
        created = add_promotion(
            box.account,
            Promotion(
                promotion_id=promotion_id or f"SBX-{uuid.uuid4().hex[:8].upper()}",
                kind=kind,
                code=code,
                discount_pct=pct,
                sku_pattern=sku_pattern,
                marketplace_id=mkt.marketplace_id,
                starts_at=starts,
                ends_at=ends,
                created_at=now,
                max_redemptions=max_redemptions,
            ),
        )
    except PromotionError as err:
        raise UserError(f"sandbox promo create: {err}") from None
    click.echo(f"created {_describe(created)}")
    return 0


def _describe(p: Any) -> str:
    from engine.core.marketplaces import BY_ID
    from engine.sandbox.orders import iso

    code = f" code {p.code}" if p.code else ""
    limit = "" if p.max_redemptions is None else f" of at most {p.max_redemptions}"
    return (
        f"{p.promotion_id}: {p.kind}{code}, {p.discount_pct:f}% off {p.sku_pattern} in "
        f"{BY_ID[p.marketplace_id].code}, {iso(p.starts_at)} to {iso(p.ends_at)}, "
        f"{p.redemptions} redemption(s){limit}"
    )


def _promotion_dict(p: Any) -> dict[str, Any]:
    from engine.core.marketplaces import BY_ID
    from engine.sandbox.orders import iso

    return {
        "id": p.promotion_id,
        "kind": p.kind,
        "code": p.code,
        "discount_pct": f"{p.discount_pct:f}",
        "sku": p.sku_pattern,
        "marketplace": BY_ID[p.marketplace_id].code,
        "start": iso(p.starts_at),
        "end": iso(p.ends_at),
        "max_redemptions": p.max_redemptions,
        "redemptions": p.redemptions,
    }


@promo.command(name="list")
@json_option("Machine-readable output.")
@click.pass_context
def promo_list(ctx: click.Context, as_json: bool) -> int:
    """Show every sandbox promotion, running or not."""
    from engine.sandbox.orderstore import OrderTables

    box = open_box(ctx)
    with box.store.read() as tx:
        found = OrderTables(tx).promotions()
    if as_json:
        _echo_json([_promotion_dict(p) for p in found])
        return 0
    now = box.clock.now()
    if not found:
        click.echo("no promotions")
    for p in found:
        click.echo(("active  " if p.active(now) else "inactive") + " " + _describe(p))
    return 0


@promo.command(name="end")
@click.argument("promotion_id", metavar="ID")
@click.pass_context
def promo_end(ctx: click.Context, promotion_id: str) -> int:
    """End a promotion now."""
    from engine.sandbox.promotions import PromotionError
    from engine.sandbox.scenario import end_promotion

    box = open_box(ctx)
    try:
        ended = end_promotion(box.account, promotion_id, box.clock.now())
    except PromotionError as err:
        raise UserError(f"sandbox promo end: {err}") from None
    click.echo(f"ended {_describe(ended)}")
    return 0


@click.command()
@click.option("--hours", type=click.FloatRange(min=0, min_open=True, max=24 * 90), required=True)
@click.option("--seed", type=int, help="RNG seed (default: the virtual start time).")
@json_option("Machine-readable output.")
@click.pass_context
def simulate(ctx: click.Context, hours: float, seed: int | None, as_json: bool) -> int:
    """Let buyers order for HOURS of virtual time (the clock moves on), then summarise:
    orders, units and revenue per marketplace and SKU, unit prices paid, sold-out listings."""
    from engine.sandbox.simulation import simulate as run

    box = open_box(ctx)
    summary = run(box.account, box.advance, timedelta(hours=hours), _rng(seed, box.clock.now()))
    _echo_summary(summary.to_dict(), as_json)
    return 0


@click.command()
@click.argument("name", type=click.Choice(["incident"]))
@click.option("--seed", type=int, help="RNG seed (default: the virtual start time).")
@json_option("Machine-readable output.")
@click.pass_context
def scenario(ctx: click.Context, name: str, seed: int | None, as_json: bool) -> int:
    """Run a canned scenario. incident: the US headphones (HP-*) get 300 MFN units as in the
    story, a 99 %-off promo code runs for 10 hours overnight, and buyers clear the stock at
    about 1 USD a unit. The clock moves on 10 hours; reset with `sync sandbox reset`."""
    from engine.sandbox import scenario as scenarios
    from engine.sandbox.promotions import PromotionError

    box = open_box(ctx)
    try:
        summary = scenarios.incident(box.account, box.advance, _rng(seed, box.clock.now()))
    except (LookupError, PromotionError) as err:
        raise UserError(f"sandbox scenario {name}: {err}") from None
    _echo_summary(summary.to_dict(), as_json)
    return 0


@click.command()
@click.option("--order", "order_id", metavar="ID", help="Only this order's messages.")
@json_option("Machine-readable output.")
@click.pass_context
def messages(ctx: click.Context, order_id: str | None, as_json: bool) -> int:
    """Show messages sent to buyers through the Messaging API."""
    from engine.sandbox.orders import iso
    from engine.sandbox.orderstore import OrderTables

    box = open_box(ctx)
    with box.store.read() as tx:
        found = OrderTables(tx).messages(order_id)
    rows = [
        {
            "order": m.amazon_order_id,
            "marketplace_id": m.marketplace_id,
            "kind": m.kind,
            "sent_at": iso(m.sent_at),
            "text": m.text,
        }
        for m in found
    ]
    if as_json:
        _echo_json(rows)
        return 0
    if not rows:
        click.echo("no messages")
    for row in rows:
        click.echo(f"{row['sent_at']} {row['order']} {row['kind']}: {row['text']}")
    return 0


COMMANDS = [promo, simulate, scenario, messages]
