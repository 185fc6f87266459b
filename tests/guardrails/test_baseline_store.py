"""The guardrail baseline in the state store: what a successful apply records, read back
exactly (Decimal rates, approvals) on SQLite and PostgreSQL, merged per marketplace."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from engine.config import load_config
from engine.guardrails import baseline_store
from tests.conftest import NOW
from tests.guardrails.conftest import approval, files
from tests.minimal_config import edited, write_config

SELLER = "A1TESTSELLER"


def test_nothing_is_recorded_before_the_first_apply(db):
    with db.read() as conn:
        assert baseline_store.load(conn, SELLER) is None


def test_an_apply_records_settings_rates_and_weakening_approvals_exactly(db, tmp_path):
    weakening = approval("guardrail_weakening", approves="{value: advisory}")
    config = load_config(
        write_config(
            tmp_path / "a",
            {
                **files(approvals=(weakening, approval("max_discount"))),
                **edited("fx.yaml", 'EUR: "0.9200"', 'EUR: "0.91875"'),
            },
        )
    )
    recorded = baseline_store.record_applied(db, config, ("US", "DE", "JP"), NOW)
    with db.read() as conn:
        loaded = baseline_store.load(conn, SELLER)
    assert loaded == recorded
    assert loaded.rate("USD", "EUR") == Decimal("0.91875")
    assert loaded.rate("EUR", "USD") is None  # recorded against another base
    assert [a["rule"] for a in loaded.approvals] == ["guardrail_weakening"]
    assert loaded.settings["DE:guardrails.price_floor.level"] == "hard-mandatory"
    assert loaded.settings["*:promotion_limits.floor"] == {"cost_plus_margin_pct": "10"}


def test_an_apply_of_some_marketplaces_replaces_only_theirs(db, tmp_path):
    strict = load_config(write_config(tmp_path / "a"))
    baseline_store.record_applied(db, strict, ("US", "DE", "JP"), NOW)
    loose_us = "marketplace: US\nguardrails:\n  max_discount: {level: advisory}\n"
    loose = load_config(
        write_config(
            tmp_path / "b",
            {"marketplaces/US.yaml": loose_us, **edited("fx.yaml", '"150.00"', '"155.00"')},
        )
    )
    later = NOW + timedelta(hours=1)
    baseline_store.record_applied(db, loose, ("JP",), later)
    with db.read() as conn:
        loaded = baseline_store.load(conn, SELLER)
    assert loaded is not None and loaded.applied_at == later
    assert loaded.settings["US:guardrails.max_discount.level"] == "soft-mandatory"
    assert loaded.rate("USD", "JPY") == Decimal("155.00")
    assert loaded.rate("USD", "EUR") == Decimal("0.9200")
    baseline_store.record_applied(db, loose, ("US",), later)
    with db.read() as conn:
        loaded = baseline_store.load(conn, SELLER)
    assert loaded.settings["US:guardrails.max_discount.level"] == "advisory"
