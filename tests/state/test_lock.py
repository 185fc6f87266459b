"""The apply lock: one holder per account, clear refusals, force-unlock, and a holder that
dies keeps the lock until a human releases it."""

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
    account_key,
    acquire,
    force_unlock,
)
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


def test_a_dead_holder_keeps_the_lock_until_force_unlock(db, backend):
    child = subprocess.run(
        [sys.executable, "-c", _DIE_HOLDING, backend, SELLER],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lock_id = child.stdout.strip()
    with pytest.raises(LockHeld, match=f"sync force-unlock {lock_id}") as caught:
        take(db)
    gone = "that process is gone (its database session ended)"
    assert (gone in str(caught.value)) == db.is_postgresql
    if db.is_postgresql:
        assert _advisory_lock_is_free(backend)
    force_unlock(db, SELLER, lock_id)
    take(db).release()


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
