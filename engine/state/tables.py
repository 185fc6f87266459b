"""The state store's tables, in SQLAlchemy Core, shared by the SQLite and PostgreSQL backends.

Every table but `state_meta` and `app_rate_buckets` (one row per application) starts with
`seller_id`, so several seller accounts (an agency's config directories) can share one
PostgreSQL database without seeing each other's rows.

Times are stored as UTC and read back timezone-aware; JSON is written with exact Decimals
(`engine.core.jsonio`) so money never passes through float on either backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from engine.core import jsonio

# Bump when a table changes shape; `engine.state.db` refuses a database of another version.
SCHEMA_VERSION = "1"


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends. SQLite has no time zones, so it stores naive
    UTC; PostgreSQL gets `timestamptz`. Naive input is a bug and is refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: state times are UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DecimalJSON(sa.TypeDecorator[Any]):
    """JSON text whose non-integer numbers read back as Decimal."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else jsonio.dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else jsonio.loads(value)


class DecimalText(sa.TypeDecorator[Decimal]):
    """Exact decimal text (money, rates) on both backends: never REAL or float."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else f"{value:f}"

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


metadata = sa.MetaData()


def _seller(primary_key: bool = False) -> sa.Column[str]:
    return sa.Column("seller_id", sa.String, primary_key=primary_key, nullable=False)


state_meta = sa.Table(
    "state_meta",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)

apply_runs = sa.Table(
    "apply_runs",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    _seller(),
    sa.Column("plan_digest", sa.String, nullable=False),
    # apply | emergency (the breaker) | incident (cancellations): see engine.state.journal
    sa.Column("kind", sa.String, nullable=False, server_default="apply"),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("status", sa.String, nullable=False),
    sa.Index("apply_runs_by_seller", "seller_id", "finished_at"),
)

journal_entries = sa.Table(
    "journal_entries",
    metadata,
    sa.Column("run_id", sa.String, sa.ForeignKey(apply_runs.c.id), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    _seller(),
    sa.Column("address", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("payload", DecimalJSON, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("submission_id", sa.String),
    sa.Column("request_id", sa.String),
    sa.Column("error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # A change written in two steps (price, then quantity: engine.live.patches
    # price_then_quantity): the step being written while the entry is `sent`.
    sa.Column("step", sa.String),
)

last_applied = sa.Table(
    "last_applied",
    metadata,
    _seller(primary_key=True),
    sa.Column("address", sa.String, primary_key=True),
    sa.Column("fields", DecimalJSON, nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

# The guardrails the last successful apply ran under (engine.guardrails.baseline): the
# settings, fx rates and weakening approvals the next plan is judged from. One row per seller.
applied_guardrails = sa.Table(
    "applied_guardrails",
    metadata,
    _seller(primary_key=True),
    sa.Column("baseline", DecimalJSON, nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

apply_locks = sa.Table(
    "apply_locks",
    metadata,
    _seller(primary_key=True),
    sa.Column("id", sa.String, nullable=False, unique=True),
    sa.Column("holder", sa.String, nullable=False),
    sa.Column("operation", sa.String, nullable=False),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    # The holding process, so that a lock left by a dead one can be taken over (see
    # engine.state.lock). Null in rows written before these columns existed.
    sa.Column("host", sa.String),
    sa.Column("pid", sa.Integer),
    sa.Column("pid_scope", sa.String),
)

# Apply locks taken over from a holder that was provably gone (engine.state.lock): who held
# it, since when, and why it was known to be gone.
lock_takeovers = sa.Table(
    "lock_takeovers",
    metadata,
    _seller(),
    sa.Column("lock_id", sa.String, primary_key=True),
    sa.Column("holder", sa.String, nullable=False),
    sa.Column("operation", sa.String, nullable=False),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("taken_over_at", UTCDateTime, nullable=False),
    sa.Column("taken_over_by", sa.String, nullable=False),
    sa.Column("new_lock_id", sa.String, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    _seller(primary_key=True),
    sa.Column("marketplace", sa.String, primary_key=True),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    sa.Column("path", sa.String, nullable=False),
    sa.Column("digest", sa.String, nullable=False),
)

api_calls = sa.Table(
    "api_calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _seller(),
    sa.Column("operation", sa.String, nullable=False),
    sa.Column("marketplace", sa.String),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("request_id", sa.String),
    sa.Column("retries", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("api_calls_by_time", "seller_id", "at"),
)

breakers = sa.Table(
    "breakers",
    metadata,
    _seller(primary_key=True),
    sa.Column("marketplace", sa.String, primary_key=True),
    sa.Column("sku", sa.String, primary_key=True),
    sa.Column("tripped_at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("incident_id", sa.String, nullable=False),
)

watch_checkpoints = sa.Table(
    "watch_checkpoints",
    metadata,
    _seller(primary_key=True),
    sa.Column("marketplace", sa.String, primary_key=True),
    sa.Column("checked_until", UTCDateTime, nullable=False),
)

# Notifications `sync watch --follow` has handled, so a redelivered one (SQS delivers at least
# once) or a second notification of the same order state is handled once. `key` is
# `notification:<NotificationId>` or `order:<AmazonOrderId>:<status>:<buyer-cancel flag>`.
watch_notifications = sa.Table(
    "watch_notifications",
    metadata,
    _seller(primary_key=True),
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("handled_at", UTCDateTime, nullable=False),
)

# Orders pulled from every marketplace (`sync orders pull`), one row per order and per item.
# `shipped_at` is the LastUpdateDate of the first pull that saw the order Shipped (the pull
# reads no ship time); money is decimal text in the order's currency.
orders = sa.Table(
    "orders",
    metadata,
    _seller(primary_key=True),
    sa.Column("amazon_order_id", sa.String, primary_key=True),
    sa.Column("marketplace", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("channel", sa.String, nullable=False),
    sa.Column("currency", sa.String, nullable=False),
    sa.Column("purchase_date", UTCDateTime, nullable=False),
    sa.Column("last_update", UTCDateTime, nullable=False),
    sa.Column("latest_ship_date", UTCDateTime),
    sa.Column("ship_country", sa.String),
    sa.Column("order_total", DecimalText),
    sa.Column("shipped_at", UTCDateTime),
    sa.Index("orders_by_purchase", "seller_id", "marketplace", "purchase_date"),
)

order_items = sa.Table(
    "order_items",
    metadata,
    _seller(primary_key=True),
    sa.Column("order_item_id", sa.String, primary_key=True),
    sa.Column("amazon_order_id", sa.String, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("asin", sa.String, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("quantity_shipped", sa.Integer, nullable=False),
    sa.Column("item_price", DecimalText),
    sa.Column("promotion_discount", DecimalText),
    sa.Column("promotion_ids", DecimalJSON, nullable=False),
    sa.Column("buyer_requested_cancel", sa.Boolean, nullable=False),
    sa.Column("buyer_cancel_reason", sa.Text),
    sa.Index("order_items_by_order", "seller_id", "amazon_order_id", "position"),
)

order_checkpoints = sa.Table(
    "order_checkpoints",
    metadata,
    _seller(primary_key=True),
    sa.Column("marketplace", sa.String, primary_key=True),
    sa.Column("pulled_until", UTCDateTime, nullable=False),
)

# The last run of each scheduled activity (plan, apply, watch, pull, ...), for `sync status`.
heartbeats = sa.Table(
    "heartbeats",
    metadata,
    _seller(primary_key=True),
    sa.Column("activity", sa.String, primary_key=True),
    sa.Column("last_run_at", UTCDateTime, nullable=False),
    sa.Column("last_ok", sa.Boolean, nullable=False),
    sa.Column("last_success_at", UTCDateTime),
)

# Units per order line seen by the watchdog: the history a SKU's velocity baseline comes
# from. Keyed by order item, so re-reading an order (the overlap window) counts it once.
watch_order_units = sa.Table(
    "watch_order_units",
    metadata,
    _seller(primary_key=True),
    sa.Column("order_item_id", sa.String, primary_key=True),
    sa.Column("amazon_order_id", sa.String, nullable=False),
    sa.Column("marketplace", sa.String, nullable=False),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("purchased_at", UTCDateTime, nullable=False),
    sa.Column("units", sa.Integer, nullable=False),
    sa.Index("watch_order_units_by_time", "seller_id", "marketplace", "purchased_at"),
)

# Listings whose exposure refills the watchdog holds (engine.desired.exposure): since when,
# why, and for a hold on orders not priced yet (`kind` unjudged) the ids it waits for.
refill_holds = sa.Table(
    "refill_holds",
    metadata,
    _seller(primary_key=True),
    sa.Column("marketplace", sa.String, primary_key=True),
    sa.Column("sku", sa.String, primary_key=True),
    sa.Column("since", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String, nullable=False),  # detection | unjudged
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("waiting", DecimalJSON, nullable=False),
)

# The application-wide token buckets (engine.state.app_quota): one row per SP-API application
# and operation, shared by every seller account and process of that application, so it has no
# seller_id. `application` is a digest of the LWA client id, never the id itself. `updated` is
# the database's own clock (PostgreSQL only: `clock_timestamp()`), so hosts need not agree.
app_rate_buckets = sa.Table(
    "app_rate_buckets",
    metadata,
    sa.Column("application", sa.String, primary_key=True),
    sa.Column("operation", sa.String, primary_key=True),
    sa.Column("rate", sa.Float, nullable=False),  # requests per second, a rate not money
    sa.Column("burst", sa.Integer, nullable=False),
    sa.Column("tokens", sa.Float, nullable=False),  # below 0: reserved ahead by waiting callers
    sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
)


def upsert(conn: sa.Connection, table: sa.Table, key: dict[str, Any], **values: Any) -> None:
    """Insert the row with primary key `key`, or overwrite its other columns. Both dialects
    spell this `INSERT ... ON CONFLICT DO UPDATE`, which stays atomic under concurrent writers
    (a delete-then-insert would not on PostgreSQL)."""
    insert = _INSERTS[conn.dialect.name](table).values(**key, **values)
    conn.execute(insert.on_conflict_do_update(index_elements=list(key), set_=values))


_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
