"""fx.yaml: exchange rates from the base currency, one for every currency an enabled
marketplace sells in."""

from __future__ import annotations

from decimal import Decimal

from engine.config.builders.context import BuildContext
from engine.config.model import FxTable, Origin, Project
from engine.config.yamlsafe import SourceFile
from engine.core.marketplaces import MARKETPLACES
from engine.core.money import CURRENCIES


def build_fx(ctx: BuildContext, src: SourceFile, project: Project) -> FxTable:
    """The exchange rates of `src`, checked against the project's currencies."""
    data = src.data
    if data["base_currency"] != project.base_currency:
        ctx.errors.append(
            src.error(
                ("base_currency",),
                f"{data['base_currency']} differs from the project's base currency "
                f"{project.base_currency} (project.yaml base.currency)",
            )
        )
    rates: dict[str, Decimal] = {}
    origins: dict[str, Origin] = {}
    for code, value in data["rates"].items():
        origin = Origin(src, ("rates", code))
        if code not in CURRENCIES:
            ctx.errors.append(origin.error(f"unknown currency {code!r}", at_key=True))
            continue
        rate = ctx.decimal(value, origin, positive=True)
        if rate is not None:
            rates[code] = rate
            origins[code] = origin
    needed = {MARKETPLACES[m].currency for m in project.marketplaces}
    for code in sorted(needed - set(rates) - {data["base_currency"]}):
        ctx.errors.append(
            src.error(("rates",), f"no rate for {code}, which an enabled marketplace sells in")
        )
    return FxTable(
        base_currency=data["base_currency"],
        as_of=ctx.calendar_date(data["as_of"], Origin(src, ("as_of",))),
        source_name=data["source"],
        rates=rates,
        origins=origins,
    )
