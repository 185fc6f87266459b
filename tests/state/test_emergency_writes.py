"""The breaker's emergency writes read back from the journal: accepted ones only, with the
values they set, never an ordinary apply's."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from engine.plan.drift import EmergencyWrite
from engine.state import journal
from engine.watch.breaker import EMERGENCY_DIGEST_PREFIX
from engine.watch.emergency import accepted_writes
from engine.watch.refill import REFILL_DIGEST_PREFIX
from tests.state.conftest import NOW, SELLER

ADDRESS = 'listing.US["SPK-1"]'


def journal_run(db, digest, payload, outcome, at):
    with db.write() as conn:
        run = journal.start_run(
            conn, SELLER, digest, [journal.Change(ADDRESS, "update", payload)], at
        )
        journal.transition(conn, run.id, 0, "sent", at)
        journal.transition(conn, run.id, 0, outcome, at)
        journal.finish_run(conn, run.id, at)


def breaker_payload(incident, minimum):
    return {
        "emergency": True,
        "incident": incident,
        "reason": "velocity: test",
        "fields": {"minimum_seller_allowed_price": {"before": Decimal("33.00"), "after": minimum}},
    }


def test_only_accepted_breaker_writes_are_read_back(db):
    accepted = breaker_payload("INC-1", Decimal("99.00"))
    journal_run(db, EMERGENCY_DIGEST_PREFIX + "INC-1", accepted, "accepted", NOW)
    refused = breaker_payload("INC-2", Decimal("98.00"))
    journal_run(db, EMERGENCY_DIGEST_PREFIX + "INC-2", refused, "failed", NOW + timedelta(1))
    apply_payload = {"fields": {"our_price": {"before": "1", "after": "2"}}}
    journal_run(db, "a" * 64, apply_payload, "accepted", NOW + timedelta(2))  # an apply
    with db.read() as conn:
        writes = accepted_writes(conn, SELLER)
    assert writes == [
        EmergencyWrite(
            ADDRESS,
            "INC-1",
            NOW,
            {"minimum_seller_allowed_price": Decimal("99.00")},
            before={"minimum_seller_allowed_price": Decimal("33.00")},
            shown=False,  # accepted; live was not seen showing it
        )
    ]


def test_refill_writes_are_read_back_as_refills(db):
    refill = {"refill": True, "fields": {"quantity": {"before": 0, "after": 2}}}
    digest = f"{REFILL_DIGEST_PREFIX}{ADDRESS}@2026-11-22T12:00:00Z"
    journal_run(db, digest, refill, "accepted", NOW)
    journal_run(db, digest + "x", refill, "failed", NOW + timedelta(1))  # refused: nothing live
    breaker = breaker_payload("INC-1", 1)
    journal_run(db, EMERGENCY_DIGEST_PREFIX + "INC-1", breaker, "accepted", NOW + timedelta(2))
    with db.read() as conn:
        writes = accepted_writes(conn, SELLER)
        [run_id] = [r.id for r in journal.runs(conn, SELLER) if r.plan_digest == digest]
    assert [(w.kind, w.incident, w.values) for w in writes] == [
        ("refill", f"refill run {run_id}", {"quantity": 2}),
        ("breaker", "INC-1", {"minimum_seller_allowed_price": 1}),
    ]


def test_a_write_live_was_seen_showing_reads_back_as_shown(db):
    refill = {"refill": True, "fields": {"quantity": {"before": 0, "after": 2}}}
    digest = f"{REFILL_DIGEST_PREFIX}{ADDRESS}@2026-11-22T12:00:00Z"
    journal_run(db, digest, refill, "accepted", NOW)
    with db.write() as conn:
        [run] = [r for r in journal.runs(conn, SELLER) if r.plan_digest == digest]
        journal.transition(conn, run.id, 0, "verified", NOW + timedelta(minutes=9))
    with db.read() as conn:
        [write] = accepted_writes(conn, SELLER)
    assert (write.before, write.values, write.shown) == ({"quantity": 0}, {"quantity": 2}, True)
