"""The drift report: drift apart from pending config changes, as text, Markdown and JSON."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from engine.core.fields import MANAGED_FIELDS
from engine.core.identity import BackendIdentity
from engine.core.resource import address
from engine.plan.diff import diff
from engine.plan.drift import (
    MARKER,
    MAX_ROWS,
    PENDING_WRITE,
    DriftFacts,
    EmergencyWrite,
    drift_json,
    drift_report,
    render_drift_markdown,
    render_drift_text,
)
from engine.plan.model import Plan
from tests.conftest import NOW
from tests.minimal_config import MINIMAL_FILES

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
    assert report.pending[0].field_lines() == ("our_price = 57.99 EUR -> 54.99 EUR",)
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
        {
            "address": US_HP,
            "field": "our_price",
            "currency": "USD",
            "last_applied": "59.99",
            "live": "49.99",
        }
    ]
    assert data["format_version"] == 2
    [pending] = [p for p in data["pending"] if p["action"] == "update"]
    assert pending["currency"] == "EUR"
    assert pending["fields"] == {"our_price": {"before": "57.99", "after": "54.99"}}
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


# ---- expected differences: orders, breaker writes, ignore rules; listings never adopted ----

APPLIED_AT = NOW - timedelta(hours=24)
US_SPK = address("US", "SPK-1")


def applied_values(resources):
    return {a: {f: getattr(r, f) for f in MANAGED_FIELDS} for a, r in resources.items()}


def facts(**kwargs):
    base = {
        "applied_at": dict.fromkeys((US_HP, DE_HP, US_SPK), APPLIED_AT),
        "orders_pulled_until": {"US": NOW, "DE": NOW},
    }
    return DriftFacts(**{**base, **kwargs})


def sold_down(make_config_cached, live_quantity, want=None):
    """US HP-100 applied at 10 units and sold down to `live_quantity`; the config wants
    `want` (default: what is live, as stock allocation keeps a site above its alert level)."""
    desired = dict(make_config_cached)
    applied = applied_values(desired)
    live = dict(desired)
    live[US_HP] = replace(desired[US_HP], quantity=live_quantity)
    desired[US_HP] = replace(desired[US_HP], quantity=live_quantity if want is None else want)
    return plan_of(desired, live, applied), currencies(desired)


def test_a_quantity_sold_down_by_orders_is_counted_not_raised(make_config_cached):
    plan, money = sold_down(make_config_cached, 7)
    report = drift_report(plan, money, facts(sold={US_HP: 4}))
    assert not report.differs and report.drifted == ()
    [sold] = report.expected_of("orders")
    assert (sold.address, sold.field, sold.live) == (US_HP, "quantity", 7)
    assert sold.reason == "3 of 4 unit(s) ordered since the last apply"
    text = render_drift_text(report)
    assert text.startswith("No drift: live differs from the configuration only where expected.")
    assert "1 MFN quantity(ies) explained by orders placed since the last apply" in text
    data = drift_json(report)
    assert data["differs"] is False and data["drifted"] == []
    assert data["explained_by_orders"] == [
        {"address": US_HP, "field": "quantity", "live": 7, "reason": sold.reason}
    ]


def test_more_sold_than_ordered_or_a_quantity_that_went_up_is_drift(make_config_cached):
    plan, money = sold_down(make_config_cached, 5)
    report = drift_report(plan, money, facts(sold={US_HP: 4}))
    assert report.differs and report.expected == ()
    [value] = report.drifted
    assert value.describe() == (
        "quantity: last applied 10, live 5 (5 fewer, 4 unit(s) ordered since the last "
        "apply; orders pulled until 2026-11-22T12:00:00Z)"
    )
    plan, money = sold_down(make_config_cached, 12)
    report = drift_report(plan, money, facts(sold={US_HP: 40}))
    assert report.differs and [d.live for d in report.drifted] == [12]
    assert report.drifted[0].hint == ""


def test_orders_never_pulled_explain_nothing_and_the_report_says_so(make_config_cached):
    plan, money = sold_down(make_config_cached, 7)
    report = drift_report(plan, money, facts(orders_pulled_until={"DE": NOW}))
    assert report.differs
    assert report.drifted[0].hint == "orders never pulled for US"
    assert report.notes == (
        "Orders were never pulled for US (`sync orders pull`): MFN quantities sold down there "
        "cannot be told from edits, so they are listed as drift.",
    )
    assert "Note: Orders were never pulled for US" in render_drift_text(report)
    assert "> **Note:** Orders were never pulled for US" in render_drift_markdown(report)


def test_topping_up_a_sold_down_quantity_is_a_restock_not_a_change(make_config_cached):
    for want in (10, 15):  # back to what was applied (a restore), or more (allocation)
        plan, money = sold_down(make_config_cached, 3, want=want)
        report = drift_report(plan, money, facts(sold={US_HP: 7}))
        assert not report.differs and report.restocks == 1 and report.restores == 0
        assert "1 sold-down listing(s) the next apply tops up" in render_drift_text(report)
    plan, money = sold_down(make_config_cached, 3, want=10)
    report = drift_report(plan, money, facts(sold={US_HP: 6}))  # one unit unexplained
    assert report.differs and report.restores == 1 and report.restocks == 0


def breaker_held(make_config_cached):
    """US SPK-1 (FBA) whose minimum price a breaker raised to 99.00 after the last apply;
    the plan keeps it there (engine.watch.breaker.hold_tripped), so nothing changes."""
    desired = dict(make_config_cached)
    applied = applied_values(desired)
    desired[US_SPK] = replace(desired[US_SPK], minimum_seller_allowed_price=Decimal("99.00"))
    return plan_of(desired, desired, applied), currencies(desired)


def breaker_write(at, value="99.00"):
    return EmergencyWrite(
        US_SPK, "INC-202611220100-US-SPK-1", at, {"minimum_seller_allowed_price": Decimal(value)}
    )


def test_a_value_the_breaker_wrote_after_the_last_apply_is_held_not_drift(make_config_cached):
    plan, money = breaker_held(make_config_cached)
    writes = {US_SPK: (breaker_write(APPLIED_AT + timedelta(hours=13)),)}
    report = drift_report(plan, money, facts(breaker_writes=writes))
    assert not report.differs
    [held] = report.expected_of("breaker")
    assert held.reason == "held by breaker INC-202611220100-US-SPK-1"
    text = render_drift_text(report)
    assert (
        f"  {US_SPK} minimum_seller_allowed_price held by breaker INC-202611220100-US-SPK-1\n"
    ) in text
    assert drift_json(report)["held_by_breaker"] == [
        {
            "address": US_SPK,
            "field": "minimum_seller_allowed_price",
            "live": "99.00",
            "reason": held.reason,
        }
    ]


def test_a_breaker_write_explains_only_its_own_value_after_the_last_apply(make_config_cached):
    plan, money = breaker_held(make_config_cached)
    for write in (
        breaker_write(APPLIED_AT - timedelta(hours=1)),  # before the last apply
        breaker_write(APPLIED_AT + timedelta(hours=1), "98.00"),  # edited again since
    ):
        report = drift_report(plan, money, facts(breaker_writes={US_SPK: (write,)}))
        assert report.differs and [d.field for d in report.drifted] == [
            "minimum_seller_allowed_price"
        ]


def test_ignore_rules_count_matching_differences_only(make_config_cached, make_config):
    rules = make_config(
        {
            "project.yaml": textwrap.dedent(MINIMAL_FILES["project.yaml"])
            + "drift:\n  ignore:\n"
            + "    - {field: our_price, skus: [HP-*], marketplaces: [US], reason: repricer}\n"
        }
    ).project.drift_ignore
    desired = dict(make_config_cached)
    applied = applied_values(desired)
    live = dict(desired)
    for key in (US_HP, DE_HP):  # both edited out of band; only US is the repricer's
        live[key] = replace(desired[key], our_price=desired[key].our_price - 1)
    report = drift_report(plan_of(desired, live, applied), currencies(desired), facts(ignore=rules))
    assert [d.address for d in report.drifted] == [DE_HP]
    [ignored] = report.expected_of("ignored")
    assert (ignored.address, ignored.field, ignored.reason) == (US_HP, "our_price", "repricer")
    assert report.restores == 1  # DE only: US's restore is the ignored difference
    assert "1 difference(s) ignored by project.yaml drift.ignore: repricer" in (
        render_drift_text(report)
    )
    del live[DE_HP]  # DE left out on both sides: only the ignored difference is left
    del desired[DE_HP]
    report = drift_report(plan_of(desired, live, applied), currencies(desired), facts(ignore=rules))
    assert not report.differs and len(report.expected) == 1


def test_a_listing_never_applied_is_not_yet_adopted_not_a_pending_change(make_config_cached):
    desired = dict(make_config_cached)
    live = dict(desired)
    live[US_HP] = replace(desired[US_HP], our_price=Decimal("49.99"))  # edited, never applied
    report = drift_report(
        plan_of(desired, live, {}), currencies(desired), DriftFacts(never_applied={US_HP})
    )
    assert report.differs and report.pending == () and report.drifted == ()
    [adopt] = report.not_adopted
    assert adopt.field_lines() == ("our_price = 49.99 USD -> 59.99 USD",)
    text = render_drift_text(report)
    assert text.startswith(
        "Live differs from the configuration: 0 listing(s) changed outside sellersync, "
        "0 listing(s) with config changes not yet applied, 1 listing(s) never applied by "
        "sellersync (not yet adopted).\n"
    )
    assert (
        "Not yet adopted: never applied by sellersync, live differs from the config "
        f"(1 listing(s)):\n  {US_HP} live -> config\n      our_price = 49.99 USD -> 59.99 USD\n"
        "  Adopt what is live with `sync drift --refresh-only --out FILE`"
    ) in text
    assert "#### Not yet adopted: never applied by sellersync" in render_drift_markdown(report)
    assert drift_json(report)["not_adopted"] == [
        {
            "address": US_HP,
            "action": "update",
            "currency": "USD",
            "fields": {"our_price": {"before": "49.99", "after": "59.99"}},
        }
    ]


# ---- the watchdog's refills of capped listings ----------------------------------------------


def refill_write(at, value):
    return EmergencyWrite(US_HP, "refill run R-1", at, {"quantity": value}, "refill")


def test_a_quantity_the_watchdog_refilled_is_a_refill_not_drift(make_config_cached):
    refilled_at = APPLIED_AT + timedelta(hours=5)
    plan, money = sold_down(make_config_cached, 12)  # applied 10, refilled to 12 (the cap grew)
    report = drift_report(plan, money, facts(refills={US_HP: (refill_write(refilled_at, 12),)}))
    assert not report.differs and report.drifted == ()
    [refill] = report.expected_of("refill")
    assert (refill.address, refill.field, refill.live) == (US_HP, "quantity", 12)
    assert refill.reason == (
        "refilled to 12 by the watchdog at 2026-11-21T17:00:00Z (refill run R-1)"
    )
    text = render_drift_text(report)
    assert "1 MFN quantity(ies) set by the watchdog's refills of capped listings" in text
    assert drift_json(report)["refilled_by_watchdog"] == [
        {"address": US_HP, "field": "quantity", "live": 12, "reason": refill.reason}
    ]
    # Sold down since the refill, by no more than the units ordered since it: still a refill.
    plan, money = sold_down(make_config_cached, 9)
    refills = {US_HP: (refill_write(refilled_at, 12),)}
    report = drift_report(plan, money, facts(refills=refills, sold_since_refill={US_HP: 3}))
    assert not report.differs
    [refill] = report.expected_of("refill")
    assert refill.reason.endswith(", then 3 of 3 unit(s) ordered since")


def test_a_refill_explains_only_its_value_and_the_orders_after_it(make_config_cached):
    refilled_at = APPLIED_AT + timedelta(hours=5)
    # Raised past the refill's value, or sold further than ordered since: drift.
    for live, sold in ((14, 0), (8, 3)):
        plan, money = sold_down(make_config_cached, live)
        refills = {US_HP: (refill_write(refilled_at, 12),)}
        report = drift_report(
            plan, money, facts(refills=refills, sold_since_refill={US_HP: sold}, sold={US_HP: 9})
        )
        assert report.differs and [d.live for d in report.drifted] == [live]
        assert report.drifted[0].hint == (
            f"refilled to 12 by the watchdog at 2026-11-21T17:00:00Z; {sold} unit(s) ordered since"
        )
    # A refill before the last apply is history: the apply's value is what live is read from.
    plan, money = sold_down(make_config_cached, 12)
    refills = {US_HP: (refill_write(APPLIED_AT - timedelta(hours=1), 12),)}
    report = drift_report(plan, money, facts(refills=refills))
    assert report.differs and report.expected_of("refill") == ()


def test_a_refill_amazon_has_not_shown_yet_is_measured_from_what_it_replaced(make_config_cached):
    """Sold out (10 units ordered since the last apply), then refilled from 0 to 2: Amazon
    accepted the refill, and live still holds 0 while it processes it (up to 15 minutes)."""
    plan, money = sold_down(make_config_cached, 0)  # plan.created_at is NOW

    def pending(written_at, shown=False):
        refill = EmergencyWrite(
            US_HP, "refill run R-2", written_at, {"quantity": 2}, "refill", {"quantity": 0}, shown
        )
        return drift_report(plan, money, facts(refills={US_HP: (refill,)}, sold={US_HP: 10}))

    report = pending(NOW - timedelta(minutes=6))
    assert not report.differs
    [refill] = report.expected_of("refill")
    assert refill.reason == (
        "refill to 2 written by the watchdog at 2026-11-22T11:54:00Z (refill run R-2), not "
        "shown by Amazon yet: live still holds 0"
    )
    # Not shown after an hour, or shown once and back at 0 since: live is drift again.
    assert pending(NOW - PENDING_WRITE - timedelta(minutes=1)).differs
    assert pending(NOW - timedelta(minutes=6), shown=True).differs
