"""`sync state list | show | rm`: the values sellersync last applied, per listing.

Only the state store is read (and, for `rm`, written): never Amazon. Forgetting a listing's
values makes the next plan treat it as never applied by sellersync (its differences from
live read as "not yet adopted" instead of drift), which is how a listing handed back to
Seller Central, or recorded wrongly, is let go of.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.config.loader import load_project
from engine.core.errors import UserError
from engine.state import last_applied
from engine.state.db import StateDB, open_state

CLOSE_MATCHES = 3


class UnknownAddress(UserError):
    """No values are recorded for the address asked about."""


@dataclass(frozen=True, slots=True)
class AppliedListing:
    """One listing's last-applied values, as stored (the JSON view of each field)."""

    address: str
    applied_at: datetime
    fields: dict[str, Any]


@contextmanager
def _store(config_dir: Path) -> Iterator[tuple[str, StateDB]]:
    project = load_project(config_dir)
    db = open_state(project.state, project.state_dir)
    try:
        yield project.seller_id, db
    finally:
        db.close()


def listings(config_dir: Path) -> list[AppliedListing]:
    """Every listing with last-applied values, by address."""
    with _store(config_dir) as (seller_id, db), db.read() as conn:
        found = last_applied.stored(conn, seller_id)
    return [AppliedListing(address, at, fields) for address, (fields, at) in found.items()]


def listing(config_dir: Path, address: str) -> AppliedListing:
    """The values last applied to `address`; UnknownAddress naming close matches."""
    found = {item.address: item for item in listings(config_dir)}
    if address not in found:
        raise unknown(address, list(found))
    return found[address]


def forget(config_dir: Path, address: str, confirm: Callable[[AppliedListing], bool]) -> bool:
    """Forget the values last applied to `address` once `confirm` agrees (it sees them).
    Returns whether they were forgotten; UnknownAddress when there are none."""
    with _store(config_dir) as (seller_id, db):
        with db.read() as conn:
            found = last_applied.stored(conn, seller_id)
        if address not in found:
            raise unknown(address, list(found))
        fields, at = found[address]
        if not confirm(AppliedListing(address, at, fields)):
            return False
        with db.write() as conn:
            last_applied.forget(conn, seller_id, address)
        return True


def unknown(address: str, known: list[str]) -> UnknownAddress:
    """The one-line error for an address with no values, naming the closest ones."""
    close = difflib.get_close_matches(address, known, n=CLOSE_MATCHES, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    if not known:
        hint = "; nothing has been applied yet"
    return UnknownAddress(f"no last-applied values for {address}{hint}")
