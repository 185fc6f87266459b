"""The values sellersync last wrote to each listing: the third side of the drift comparison.

`engine.plan.diff.diff(..., last_applied=...)` tells a config change from out-of-band drift
by comparing live with what was applied. It expects, per address, `{field: value}` in the
Python types the Resource uses (Decimal, SalePrice, tuples), so values are stored as the
Resource's own JSON view (Decimals as strings) and decoded back field by field here.

The apply executor records a listing when its journal entry is accepted or verified, in the
same transaction as the transition, and forgets it when a delete goes through.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.core import jsonio
from engine.core.fieldjson import FieldValues, decode
from engine.core.fields import MANAGED_FIELDS
from engine.core.resource import Resource
from engine.state.tables import last_applied, upsert


def record(conn: sa.Connection, seller_id: str, resource: Resource, now: datetime) -> None:
    """Remember every managed field of `resource` as applied at `now`."""
    view = resource.to_dict()
    upsert(
        conn,
        last_applied,
        {"seller_id": seller_id, "address": resource.address},
        fields={name: view[name] for name in MANAGED_FIELDS},
        applied_at=now,
    )


def forget(conn: sa.Connection, seller_id: str, address: str) -> None:
    """The listing was deleted: nothing of it is applied any more."""
    conn.execute(
        last_applied.delete().where(
            last_applied.c.seller_id == seller_id, last_applied.c.address == address
        )
    )


def withdraw(conn: sa.Connection, seller_id: str, resource: Resource) -> bool:
    """Forget the listing's values if they are still the ones `record(resource)` stored: a
    write that never landed must not pass for applied (drift detection would blame Seller
    Central for the difference), but a later apply's values for the same listing stay.
    Returns whether they were forgotten."""
    stored = conn.execute(
        sa.select(last_applied.c.fields).where(
            last_applied.c.seller_id == seller_id, last_applied.c.address == resource.address
        )
    ).scalar_one_or_none()
    view = resource.to_dict()
    recorded = jsonio.loads(jsonio.dumps({name: view[name] for name in MANAGED_FIELDS}))
    if stored is None or stored != recorded:  # compared as read back from the column
        return False
    forget(conn, seller_id, resource.address)
    return True


def load(conn: sa.Connection, seller_id: str) -> dict[str, FieldValues]:
    """address -> {field: value} for every listing of the account, ready for `diff`."""
    rows = conn.execute(
        sa.select(last_applied.c.address, last_applied.c.fields).where(
            last_applied.c.seller_id == seller_id
        )
    )
    return {address: decode(fields) for address, fields in rows}


def applied_times(
    conn: sa.Connection, seller_id: str, addresses: Iterable[str]
) -> dict[str, datetime]:
    """address -> when its values were last recorded, for those of `addresses` that have
    any: what happened live since then (orders, breaker writes) can explain a difference."""
    wanted = sorted(set(addresses))
    times: dict[str, datetime] = {}
    for start in range(0, len(wanted), 500):  # bound-parameter limits
        rows = conn.execute(
            sa.select(last_applied.c.address, last_applied.c.applied_at).where(
                last_applied.c.seller_id == seller_id,
                last_applied.c.address.in_(wanted[start : start + 500]),
            )
        )
        times.update({address: at for address, at in rows})
    return times


def written_since(conn: sa.Connection, seller_id: str, since: datetime) -> frozenset[str]:
    """The addresses whose values were recorded after `since`: listings sellersync wrote
    since then (a listings report may not show those writes yet)."""
    rows = conn.execute(
        sa.select(last_applied.c.address).where(
            last_applied.c.seller_id == seller_id, last_applied.c.applied_at > since
        )
    )
    return frozenset(address for (address,) in rows)


def stored(conn: sa.Connection, seller_id: str) -> dict[str, tuple[dict[str, Any], datetime]]:
    """address -> (the fields as stored, in their JSON view; when they were recorded), by
    address: what `sync state list | show` prints."""
    rows = conn.execute(
        sa.select(last_applied.c.address, last_applied.c.fields, last_applied.c.applied_at)
        .where(last_applied.c.seller_id == seller_id)
        .order_by(last_applied.c.address)
    )
    return {address: (dict(fields), at) for address, fields, at in rows}
