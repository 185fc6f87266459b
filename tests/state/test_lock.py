"""The apply lock: one holder per account, clear refusals, force-unlock, and a holder that
is provably gone (its session ended; its process ended on this host) is taken over, journaled;
one that cannot be seen to have ended keeps the lock until a human releases it."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.state.lock import (
    HolderAlive,
    LockHeld,
    NoSuchLock,
    Process,
    account_key,
    acquire,
    force_unlock,
    lock_takeover_rows,
)
from engine.state.tables import apply_locks
from tests.state.conftest import NOW, OTHER_SELLER, SELLER, open_backend

REPO = Path(__file__).resolve().parents[2]

# Runs in a child process: take the lock, report its id, die without releasing it.
_DIE_HOLDING = """
import os, sys
from datetime import UTC, datetime
from tests.state.conftest import open_backend
from engine.state.lock import acquire
lock = acquire(open_backend(sys.argv[1]), sys.argv[2], "ci-runner-7", "apply", datetime.now(UTC))
print(lock.id, flush=True)
os._exit(0)
"""


def take(db, seller: str = SELLER, holder: str = "alice@laptop pid 4242"):
    return acquire(db, seller, holder, "apply", NOW)


def test_a_held_lock_refuses_others_saying_who_since_when_and_how_to_release(db):
    lock = take(db)
    with pytest.raises(LockHeld) as caught:
        take(db, holder="bob@ci")
    message = str(caught.value)
    assert "alice@laptop pid 4242 (apply) since 2026-11-22 12:00:00 UTC" in message
    assert f"lock id {lock.id}" in message
    assert f"sync force-unlock {lock.id}" in message
    assert caught.value.exit_code == 4
    assert caught.value.held == lock.info
    lock.release()


def test_release_frees_the_lock_for_the_next_apply(db):
    with take(db) as lock:
        pass
    lock.release()  # a second release is harmless
    second = take(db, holder="bob@ci")
    assert second.info.holder == "bob@ci"
    second.release()


def test_accounts_lock_independently(db):
    with take(db), take(db, seller=OTHER_SELLER) as other:
        assert other.info.seller_id == OTHER_SELLER


def test_force_unlock_of_a_live_holder(db):
    """SQLite cannot tell a live holder from a dead one and trusts the human; PostgreSQL
    can, and refuses: the live process would carry on writing."""
    lock = take(db)
    if db.is_postgresql:
        with pytest.raises(HolderAlive, match="still connected"):
            force_unlock(db, SELLER, lock.id)
    else:
        assert force_unlock(db, SELLER, lock.id) == lock.info
    lock.release()  # on SQLite: the original holder finishing later is harmless
    take(db, holder="bob@ci").release()


def test_force_unlock_of_an_unknown_id_says_what_is_held(db):
    with pytest.raises(NoSuchLock, match="no apply lock with id nope \\(it is free\\)"):
        force_unlock(db, SELLER, "nope")
    lock = take(db)
    with pytest.raises(NoSuchLock, match=f"it is held by .* lock id {lock.id}"):
        force_unlock(db, SELLER, "nope")
    with pytest.raises(NoSuchLock, match=f"seller {OTHER_SELLER}"):
        force_unlock(db, OTHER_SELLER, lock.id)
    lock.release()


def test_exactly_one_of_several_concurrent_acquirers_wins(db):
    contenders = 4
    barrier = threading.Barrier(contenders)
    won, refused = [], []

    def contend(n: int) -> None:
        barrier.wait()
        try:
            won.append(take(db, holder=f"runner-{n}"))
        except LockHeld as err:
            refused.append(err)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(won), len(refused)) == (1, contenders - 1)
    won[0].release()


def _die_holding(backend: str) -> str:
    """The id of the lock a child process took and died holding, without releasing it."""
    child = subprocess.run(
        [sys.executable, "-c", _DIE_HOLDING, backend, SELLER],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return child.stdout.strip()


def test_a_dead_holder_s_lock_is_taken_over_and_journaled(db, backend):
    """Issue 19, item 5: after the holder died, the next apply proceeds without force-unlock,
    on PostgreSQL because the dead session's advisory lock is free, on SQLite because the
    holder's pid no longer runs on this host."""
    lock_id = _die_holding(backend)
    if db.is_postgresql:
        assert _advisory_lock_is_free(backend)
    lock = take(db, holder="bob@ci pid 7")
    took = lock.took_over
    assert took is not None and took.previous.id == lock_id
    assert took.previous.holder == "ci-runner-7" and took.previous.operation == "apply"
    if db.is_postgresql:
        assert took.evidence == "that process is gone (its database session ended)"
    else:
        assert took.evidence.startswith("process ") and took.evidence.endswith(
            f" no longer runs on {Process.current().host}"
        )
    assert took.line().startswith(
        f"Took over the apply lock of seller {SELLER}, held by ci-runner-7 (apply) since "
    )
    assert f"lock id {lock_id}: {took.evidence}. Its unfinished run" in took.line()
    with db.read() as conn:
        (row,) = lock_takeover_rows(conn, SELLER)
    assert (row["lock_id"], row["holder"], row["new_lock_id"]) == (lock_id, "ci-runner-7", lock.id)
    assert (row["taken_over_by"], row["evidence"]) == ("bob@ci pid 7", took.evidence)
    with pytest.raises(LockHeld):  # the new holder is alive and holds it
        take(db, holder="carol@ci")
    lock.release()
    assert take(db).took_over is None


def _plant(db, process: Process | None, lock_id: str = "planted") -> None:
    """A lock row as another process would have written it (none holds its advisory lock:
    on PostgreSQL, a holder whose session ended)."""
    with db.write() as conn:
        conn.execute(
            apply_locks.insert().values(
                seller_id=SELLER,
                id=lock_id,
                holder="ci-runner-9 pid 1",
                operation="apply",
                acquired_at=NOW,
                host=None if process is None else process.host,
                pid=None if process is None else process.pid,
                pid_scope=None if process is None else process.scope,
            )
        )


def test_a_holder_that_still_runs_on_this_host_keeps_its_lock(db):
    """On PostgreSQL too: a process that only lost its database session may still write."""
    _plant(db, Process.current())
    with pytest.raises(LockHeld) as caught:
        take(db)
    assert "still runs on this host" in str(caught.value)
    assert "sync force-unlock planted" in str(caught.value)
    force_unlock(db, SELLER, "planted")


def test_a_holder_on_another_host_or_of_an_older_store(db):
    """SQLite cannot see another host's processes, nor one an older row does not name: a
    human decides (force-unlock). PostgreSQL's proof is the ended session, wherever it ran."""
    here = Process.current()
    for n, process in enumerate((Process("build-host-2", 1, here.scope), None)):
        _plant(db, process, lock_id=f"planted-{n}")
        if db.is_postgresql:
            lock = take(db)
            assert lock.took_over is not None and lock.took_over.previous.id == f"planted-{n}"
            lock.release()
            continue
        with pytest.raises(LockHeld, match=f"sync force-unlock planted-{n}") as caught:
            take(db)
        why = "on host build-host-2" if process else "an older sellersync"
        assert why in str(caught.value)
        force_unlock(db, SELLER, f"planted-{n}")
    with db.read() as conn:
        assert len(lock_takeover_rows(conn, SELLER)) == (2 if db.is_postgresql else 0)


def test_a_pid_counts_only_in_its_own_pid_space(db):
    """The same host name with another PID namespace or boot (a container sharing the host's
    network, a reboot) cannot be checked from here."""
    here = Process.current()
    elsewhere = Process(here.host, 2**22 + 1, "another-boot/pidns:1")  # no such pid here
    assert not elsewhere.is_local() and Process(here.host, 1, here.scope).is_local()
    if not db.is_postgresql:
        _plant(db, elsewhere)
        with pytest.raises(LockHeld, match="whose processes cannot be seen from here"):
            take(db)
        force_unlock(db, SELLER, "planted")


def _advisory_lock_is_free(dsn: str) -> bool:
    """The server released the dead session's advisory lock: take and drop it ourselves."""
    probe = open_backend(dsn)
    with probe.read() as conn:
        key = account_key(conn, SELLER)
        got = conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar_one()
        if got:
            conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
    probe.close()
    return got
