"""The apply journal: forward-only transitions, the resume query, one unfinished run."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.state import journal
from engine.state.journal import Change, InvalidTransition, UnfinishedRun
from engine.state.tables import apply_runs
from tests.state.conftest import NOW, OTHER_SELLER, SELLER

LATER = NOW + timedelta(minutes=1)


def changes(count: int) -> list[Change]:
    return [
        Change(f'listing.DE["HP-{i:03d}"]', "update", {"our_price": Decimal(f"{50 + i}.99")})
        for i in range(count)
    ]


def start(db, count: int = 3, seller: str = SELLER) -> journal.Run:
    with db.write() as conn:
        return journal.start_run(conn, seller, "sha256:plan", changes(count), NOW)


def move(db, run: journal.Run, seq: int, *states: str, **fields: str) -> journal.Entry:
    with db.write() as conn:
        for state in states:
            entry = journal.transition(conn, run.id, seq, state, LATER, **fields)
    return entry


def test_a_new_run_journals_every_change_pending_with_exact_payloads(db):
    run = start(db)
    assert run.status == "running" and run.finished_at is None
    with db.read() as conn:
        stored = journal.entries(conn, run.id)
    assert [e.seq for e in stored] == [0, 1, 2]
    assert {e.state for e in stored} == {"pending"}
    assert stored[1].address == 'listing.DE["HP-001"]'
    assert stored[1].payload == {"our_price": Decimal("51.99")}
    assert type(stored[1].payload["our_price"]) is Decimal
    assert stored[1].created_at == NOW


def test_the_full_lifecycle_records_ids_and_times(db):
    run = start(db)
    move(db, run, 0, "sent", request_id="req-1")
    entry = move(db, run, 0, "accepted", submission_id="sub-1")
    assert (entry.state, entry.request_id, entry.submission_id) == ("accepted", "req-1", "sub-1")
    entry = move(db, run, 0, "verified")
    assert entry.state == "verified"
    assert entry.created_at == NOW and entry.updated_at == LATER
    assert entry.submission_id == "sub-1"


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ((), "accepted"),  # pending must be sent first
        ((), "verified"),
        (("sent", "accepted"), "sent"),  # sent only from pending
        (("sent", "accepted", "verified"), "failed"),  # nothing leaves verified
        (("sent", "accepted", "verified"), "pending"),
        (("failed",), "pending"),  # nor failed
        ((), "not_visible"),
        (("sent", "accepted", "not_visible"), "sent"),
    ],
)
def test_forbidden_transitions_are_refused_and_change_nothing(db, path, refused):
    run = start(db, 1)
    if path:
        move(db, run, 0, *path)
    current = path[-1] if path else "pending"
    with pytest.raises(InvalidTransition, match=f"is {current}; it cannot become {refused}"):
        move(db, run, 0, refused)
    with db.read() as conn:
        assert journal.entries(conn, run.id)[0].state == current


def test_a_lost_answer_is_noted_on_the_sent_entry_until_live_decides(db):
    run = start(db, 2)
    move(db, run, 0, "sent")
    with db.write() as conn:
        noted = journal.note_lost_answer(conn, run.id, 0, "HTTP 504 NonJsonError", LATER)
    assert (noted.state, noted.error) == ("sent", "answer lost: HTTP 504 NonJsonError")
    # Live could not be read either: not visible, for the re-check to follow up.
    assert move(db, run, 0, "not_visible").error == noted.error
    with db.write() as conn, pytest.raises(InvalidTransition, match="is not sent"):
        journal.note_lost_answer(conn, run.id, 1, "pending entries have no answer", LATER)


def test_a_second_mover_from_the_same_state_loses(db):
    run = start(db, 1)
    move(db, run, 0, "sent")
    with pytest.raises(InvalidTransition, match="is sent; it cannot become sent"):
        move(db, run, 0, "sent")


def test_unknown_entries_and_states_are_refused(db):
    run = start(db, 1)
    with pytest.raises(InvalidTransition, match="no journal entry 7"):
        move(db, run, 7, "sent")
    with pytest.raises(InvalidTransition, match="unknown journal state 'done'"):
        move(db, run, 0, "done")


def test_failures_keep_their_error(db):
    run = start(db, 1)
    entry = move(db, run, 0, "sent", "failed", error="InvalidInput: price below minimum")
    assert entry.error == "InvalidInput: price below minimum"


def test_resume_point_splits_what_is_owed_by_what_to_do(db):
    run = start(db, 7)
    move(db, run, 1, "sent")
    move(db, run, 2, "sent", "accepted")
    move(db, run, 3, "sent", "accepted", "not_visible")
    move(db, run, 4, "sent", "accepted", "verified")
    move(db, run, 5, "sent", "failed")
    move(db, run, 6, "sent")
    start(db, 2, seller=OTHER_SELLER)
    with db.read() as conn:
        point = journal.resume_point(conn, SELLER)
    assert point is not None and point.run.id == run.id
    assert [e.seq for e in point.to_send] == [0]
    assert [e.seq for e in point.outcome_unknown] == [1, 6]
    assert [e.seq for e in point.to_verify] == [2, 3]


def test_no_resume_point_without_an_unfinished_run(db):
    with db.read() as conn:
        assert journal.resume_point(conn, SELLER) is None


def test_a_new_run_waits_for_the_unfinished_one_and_writes_nothing(db):
    run = start(db)
    with pytest.raises(UnfinishedRun, match=f"apply run {run.id} for seller {SELLER}"):
        start(db)
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(apply_runs)).scalar() == 1
    start(db, seller=OTHER_SELLER)


def test_finish_refuses_while_changes_are_pending_or_sent(db):
    run = start(db, 2)
    move(db, run, 0, "sent")
    with pytest.raises(InvalidTransition, match="still has 2 change"), db.write() as conn:
        journal.finish_run(conn, run.id, LATER)


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ((("sent", "accepted", "verified"), ("sent", "accepted", "not_visible")), "succeeded"),
        ((("sent", "accepted", "verified"), ("sent", "failed")), "failed"),
    ],
)
def test_finish_sets_the_status_from_the_outcomes(db, outcomes, status):
    run = start(db, len(outcomes))
    for seq, path in enumerate(outcomes):
        move(db, run, seq, *path)
    with db.write() as conn:
        finished = journal.finish_run(conn, run.id, LATER)
    assert (finished.status, finished.finished_at) == (status, LATER)
    with db.read() as conn:
        assert journal.resume_point(conn, SELLER) is None
    with pytest.raises(InvalidTransition, match="already finished"), db.write() as conn:
        journal.finish_run(conn, run.id, LATER)
    start(db)


def test_a_killed_apply_resumes_without_writing_anything_twice(db):
    """An executor in miniature: it sends, the process dies after one send whose answer was
    lost, and a second executor resumes from the journal alone."""
    live: dict[str, Decimal] = {}
    writes: list[str] = []

    def send(conn, entry: journal.Entry) -> None:
        journal.transition(conn, entry.run_id, entry.seq, "sent", LATER)
        writes.append(entry.address)
        live[entry.address] = entry.payload["our_price"]

    run = start(db, 3)
    with db.write() as conn:
        first, second, _ = journal.entries(conn, run.id)
        send(conn, first)
        journal.transition(conn, run.id, 0, "accepted", LATER, submission_id="s0")
    with db.write() as conn:
        send(conn, second)  # ...killed before the answer was journaled

    with db.write() as conn:
        point = journal.resume_point(conn, SELLER)
        assert point is not None
        for entry in point.outcome_unknown:
            landed = live.get(entry.address) == entry.payload["our_price"]
            journal.transition(conn, run.id, entry.seq, "verified" if landed else "pending", LATER)
        for entry in point.to_verify:
            journal.transition(conn, run.id, entry.seq, "verified", LATER)
    with db.write() as conn:
        point = journal.resume_point(conn, SELLER)
        assert point is not None
        for entry in point.to_send:
            send(conn, entry)
            journal.transition(conn, run.id, entry.seq, "verified", LATER)
        assert journal.finish_run(conn, run.id, LATER).status == "succeeded"

    assert writes == [c.address for c in changes(3)]


def test_an_abandoned_run_is_finished_never_resumed_and_blocks_nothing(db):
    run = start(db, 3)
    move(db, run, 0, "sent", "unknown")  # sent before the process died, not seen live
    move(db, run, 1, "failed", error="not sent: the run was abandoned")
    move(db, run, 2, "sent", "verified")
    with db.write() as conn:
        closed = journal.abandon_run(conn, run.id, LATER)
    assert (closed.status, closed.finished_at) == ("abandoned", LATER)
    with db.read() as conn:
        assert journal.resume_point(conn, SELLER) is None
        assert journal.find_run(conn, SELLER, run.id) == closed
        assert journal.find_run(conn, OTHER_SELLER, run.id) is None  # another account's
    finished = pytest.raises(InvalidTransition, match="already finished \\(abandoned\\)")
    with finished, db.write() as conn:
        journal.abandon_run(conn, run.id, LATER)
    start(db)  # a new run may start


def test_abandoning_refuses_while_an_entry_is_pending_or_sent(db):
    run = start(db, 2)
    move(db, run, 0, "sent")
    with pytest.raises(InvalidTransition, match="still has 2 change"), db.write() as conn:
        journal.abandon_run(conn, run.id, LATER)
    with db.read() as conn:
        assert journal.find_run(conn, SELLER, run.id).finished_at is None


@pytest.mark.parametrize("source", [(), ("sent", "accepted"), ("sent", "accepted", "not_visible")])
def test_only_a_sent_entry_may_become_unknown_and_it_stays_so(db, source):
    run = start(db, 1)
    if source:
        move(db, run, 0, *source)
        current = source[-1]
        with pytest.raises(InvalidTransition, match=f"is {current}; it cannot become unknown"):
            move(db, run, 0, "unknown")
        return
    move(db, run, 0, "sent", "unknown")
    with pytest.raises(InvalidTransition, match="is unknown; it cannot become verified"):
        move(db, run, 0, "verified")


def test_not_visible_entries_come_from_finished_runs_of_the_account(db):
    first = start(db, 2)
    move(db, first, 0, "sent", "accepted", "not_visible")
    move(db, first, 1, "sent", "accepted", "verified")
    with db.write() as conn:
        journal.finish_run(conn, first.id, LATER)
    second = start(db, 2)
    move(db, second, 1, "sent", "accepted", "not_visible")  # its run is still unfinished
    other = start(db, 1, seller=OTHER_SELLER)
    move(db, other, 0, "sent", "accepted", "not_visible")
    with db.write() as conn:
        journal.finish_run(conn, other.id, LATER)
    with db.read() as conn:
        assert [(e.run_id, e.seq) for e in journal.not_visible_entries(conn, SELLER)] == [
            (first.id, 0)
        ]
    move(db, second, 0, "sent", "accepted", "not_visible")
    with db.write() as conn:
        journal.finish_run(conn, second.id, LATER + timedelta(minutes=1))
    with db.read() as conn:
        waiting = journal.not_visible_entries(conn, SELLER)
    assert sorted((e.run_id == first.id, e.seq) for e in waiting) == [
        (False, 0),
        (False, 1),
        (True, 0),
    ]
    assert waiting[0].payload == {"our_price": Decimal("50.99")}


def emergency(db, address: str = 'listing.US["HP-100"]', seller: str = SELLER) -> journal.Run:
    """A breaker write's run, claimed and sent, as engine.watch.breaker journals it."""
    with db.write() as conn:
        run = journal.start_run(
            conn,
            seller,
            "breaker:INC-1",
            [Change(address, "update", {"emergency": True})],
            NOW,
            kind="emergency",
        )
        journal.transition(conn, run.id, 0, "sent", NOW)
    return run


def test_an_emergency_run_starts_while_an_apply_is_unfinished_and_never_blocks_one(db):
    apply_run = start(db)
    move(db, apply_run, 0, "sent")
    breaker_run = emergency(db)  # not refused by the unfinished apply
    assert (breaker_run.kind, apply_run.kind) == ("emergency", "apply")
    with db.read() as conn:
        point = journal.resume_point(conn, SELLER)
        assert point.run.id == apply_run.id  # the apply's run, never the breaker's
        assert [e.run_id for e in journal.open_emergency_entries(conn, SELLER)] == [breaker_run.id]
        assert {r.id: r.kind for r in journal.runs(conn, SELLER)} == {
            apply_run.id: "apply",
            breaker_run.id: "emergency",
        }
    # The apply finishes; the breaker's unfinished run does not stop the next plan.
    for seq in range(3):
        move(db, apply_run, seq, *(("accepted",) if seq == 0 else ("sent", "accepted")))
    with db.write() as conn:
        journal.finish_run(conn, apply_run.id, LATER)
        assert journal.resume_point(conn, SELLER) is None
    start(db)


def test_an_incident_run_is_held_to_the_one_unfinished_run_rule(db):
    run = start(db)
    with pytest.raises(UnfinishedRun, match=run.id), db.write() as conn:
        journal.start_run(conn, SELLER, "incident:INC-1", changes(1), NOW, kind="incident")


def test_open_emergency_entries_are_the_unfinished_ones_of_the_account(db):
    done = emergency(db)
    with db.write() as conn:
        journal.transition(conn, done.id, 0, "accepted", LATER)
        journal.finish_run(conn, done.id, LATER)
    emergency(db, seller=OTHER_SELLER)
    open_run = emergency(db, 'listing.US["HP-200"]')
    with db.read() as conn:
        found = journal.open_emergency_entries(conn, SELLER)
    assert [(e.run_id, e.address, e.state) for e in found] == [
        (open_run.id, 'listing.US["HP-200"]', "sent")
    ]
