"""The drift report: drift apart from pending config changes, as text, Markdown and JSON."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from engine.desired.resource import address
from engine.plan.diff import diff
from engine.plan.drift import (
    MARKER,
    MAX_ROWS,
    drift_json,
    drift_report,
    render_drift_markdown,
    render_drift_text,
)
from engine.plan.model import BackendIdentity, Plan
from tests.conftest import NOW

US_HP = address("US", "HP-100")
DE_HP = address("DE", "HP-100")
JP_SPK = address("JP", "SPK-1")


def plan_of(desired, live, applied):
    changes = diff(desired, live, applied)
    return Plan.build(
        changes,
        created_at=NOW,
        config_digest="d" * 64,
        backend=BackendIdentity("sandbox", "A1TESTSELLER", "http://127.0.0.1:1"),
    )


def currencies(resources):
    return {a: r.currency for a, r in resources.items()}


def test_drift_is_told_apart_from_pending_config_changes(make_config_cached):
    desired = dict(make_config_cached)
    applied = {a: {"our_price": r.our_price} for a, r in desired.items()}
    live = dict(desired)
    live[US_HP] = replace(desired[US_HP], our_price=Decimal("49.99"))  # edited in Seller Central
    desired[DE_HP] = replace(desired[DE_HP], our_price=Decimal("54.99"))  # config changed
    del live[JP_SPK]  # never created
    report = drift_report(plan_of(desired, live, applied), currencies(desired))

    assert report.differs
    assert [(d.address, d.field) for d in report.drifted] == [(US_HP, "our_price")]
    assert [(p.address, p.action) for p in report.pending] == [
        (DE_HP, "update"),
        (JP_SPK, "create"),
    ]
    assert report.pending[0].fields == ("our_price = 57.99 EUR -> 54.99 EUR",)
    assert report.restores == 1
    text = render_drift_text(report)
    assert text.startswith(
        "Live differs from the configuration: 1 listing(s) changed outside sellersync, "
        "2 listing(s) with config changes not yet applied.\n\n"
        "Changed outside sellersync since the last apply (1):\n"
        f"  {US_HP} our_price: last applied 59.99 USD, live 49.99 USD\n"
    )
    assert "1 listing(s) would only be restored to the config." in text
    data = drift_json(report)
    assert data["drifted"] == [
        {"address": US_HP, "field": "our_price", "last_applied": "59.99", "live": "49.99"}
    ]
    assert data["restores"] == 1 and data["differs"] is True


def test_no_difference_is_no_drift(make_config_cached):
    desired = dict(make_config_cached)
    report = drift_report(plan_of(desired, desired, {}), currencies(desired))
    assert not report.differs
    assert render_drift_text(report).startswith("No drift: live listings match the configuration.")


def test_markdown_caps_rows_and_stays_under_the_limit(make_config_cached):
    base = make_config_cached[US_HP]
    desired, live, applied = {}, {}, {}
    for n in range(MAX_ROWS + 50):
        want = replace(base, sku=f"SKU-{n:05d}", title="x" * 150)
        desired[want.address] = want
        live[want.address] = replace(want, our_price=want.our_price + 1)
        applied[want.address] = {"our_price": want.our_price}
    report = drift_report(plan_of(desired, live, applied), currencies(desired))
    body = render_drift_markdown(report)
    assert body.startswith(MARKER)
    assert body.count("| `listing.US") == MAX_ROWS
    assert "... and 50 more (see `sync drift --json`)." in body
    small = render_drift_markdown(report, limit=4000)
    assert len(small) <= 4000 and small.endswith("run `sync drift --json`.\n")
