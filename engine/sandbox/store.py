"""The sandbox's state: one SQLite file in the state directory, shared by every process.

`sync apply` in one process and `sync plan` in the next must see the same account, and a
`sync sandbox serve` may run beside them, so state lives in `<state_dir>/sandbox.sqlite3`
(WAL mode, short write transactions). The seed is stored next to the live tables so that
`reset()` restores the demo account without re-rendering the config.

Attributes are stored as JSON text exactly as SP-API carries them; numbers are read back as
Decimal (see `jsonio`), so money never passes through float. Times are integer microseconds
since the Unix epoch (UTC), which index and compare cheaply.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.core import jsonio
from engine.sandbox import notificationschema, orderschema

FILENAME = "sandbox.sqlite3"
SCHEMA_VERSION = "1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Attributes = dict[str, list[dict[str, Any]]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seed_listings (
    seller_id TEXT NOT NULL, sku TEXT NOT NULL, marketplace_id TEXT NOT NULL,
    product_type TEXT NOT NULL, asin TEXT NOT NULL, attributes TEXT NOT NULL,
    fba_quantity INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (seller_id, sku, marketplace_id));
CREATE TABLE IF NOT EXISTS listings (
    seller_id TEXT NOT NULL, sku TEXT NOT NULL, marketplace_id TEXT NOT NULL,
    product_type TEXT NOT NULL, asin TEXT NOT NULL, attributes TEXT NOT NULL,
    fba_quantity INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (seller_id, sku, marketplace_id));
CREATE TABLE IF NOT EXISTS seed_issues (
    seller_id TEXT NOT NULL, sku TEXT NOT NULL, marketplace_id TEXT NOT NULL,
    position INTEGER NOT NULL, issue TEXT NOT NULL,
    PRIMARY KEY (seller_id, sku, marketplace_id, position));
CREATE TABLE IF NOT EXISTS issues (
    seller_id TEXT NOT NULL, sku TEXT NOT NULL, marketplace_id TEXT NOT NULL,
    position INTEGER NOT NULL, issue TEXT NOT NULL,
    PRIMARY KEY (seller_id, sku, marketplace_id, position));
CREATE TABLE IF NOT EXISTS pending_writes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, submission_id TEXT NOT NULL,
    seller_id TEXT NOT NULL, sku TEXT NOT NULL, marketplace_id TEXT NOT NULL,
    kind TEXT NOT NULL, payload TEXT NOT NULL,
    submitted_at INTEGER NOT NULL, visible_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS pending_by_time ON pending_writes (visible_at);
CREATE INDEX IF NOT EXISTS pending_by_key ON pending_writes (seller_id, sku, marketplace_id);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_hash TEXT PRIMARY KEY, expires_wall REAL NOT NULL);
CREATE TABLE IF NOT EXISTS listing_history (
    seller_id TEXT NOT NULL, sku TEXT NOT NULL, marketplace_id TEXT NOT NULL,
    replaced_at INTEGER NOT NULL, previous TEXT);
CREATE INDEX IF NOT EXISTS history_by_time
    ON listing_history (seller_id, marketplace_id, replaced_at);
CREATE TABLE IF NOT EXISTS restricted_tokens (
    token_hash TEXT PRIMARY KEY, expires_wall REAL NOT NULL, resources TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (name TEXT PRIMARY KEY, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, job_type TEXT NOT NULL,
    marketplace_ids TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL,
    start_at INTEGER NOT NULL, end_at INTEGER NOT NULL, claimed INTEGER NOT NULL DEFAULT 0,
    input_document_id TEXT, result_document_id TEXT, options TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_by_kind ON jobs (kind, created_at);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, content_type TEXT NOT NULL, compression TEXT, content BLOB,
    sealed INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS document_urls (
    token_hash TEXT PRIMARY KEY, document_id TEXT NOT NULL, method TEXT NOT NULL,
    expires_wall REAL NOT NULL);
"""


EXPIRED_URLS_KEPT = 3600.0  # seconds an expired document URL is remembered


def to_micros(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: sandbox times are UTC")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def token_hash(token: str) -> str:
    """Access tokens are stored hashed: the file holds nothing a client could replay."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Listing:
    """One SKU in one marketplace: its attributes as SP-API holds them."""

    seller_id: str
    sku: str
    marketplace_id: str
    product_type: str
    asin: str
    attributes: Attributes
    created_at: datetime
    updated_at: datetime
    fba_quantity: int | None = None


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """An accepted submission waiting to be processed (visible at `visible_at`)."""

    id: int
    submission_id: str
    seller_id: str
    sku: str
    marketplace_id: str
    kind: str  # put | patch | delete
    payload: dict[str, Any]
    submitted_at: datetime
    visible_at: datetime


@dataclass(frozen=True, slots=True)
class Job:
    """A feed or a report (`kind`): SP-API processes both the same way, in the background.

    `start_at` and `end_at` are planned when the job is created, on the virtual clock; the
    status moves IN_QUEUE -> IN_PROGRESS -> DONE | FATAL | CANCELLED as that clock passes them.
    """

    id: str
    kind: str  # feed | report
    job_type: str  # the feedType or reportType
    marketplace_ids: tuple[str, ...]
    status: str
    created_at: datetime
    start_at: datetime
    end_at: datetime
    input_document_id: str | None
    result_document_id: str | None
    options: dict[str, Any]
    processed: bool  # its processing ran (a job cancelled while queued never ran)


@dataclass(frozen=True, slots=True)
class Document:
    """A feed or report document: the bytes behind a presigned-style URL. `sealed` once a
    feed has taken it as input (further uploads are refused, as the feed reads it later)."""

    id: str
    content_type: str
    compression: str | None
    content: bytes | None
    sealed: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Seed:
    """The demo account as first created; `reset()` returns to exactly this."""

    seller_id: str
    store_name: str
    marketplaces: tuple[str, ...]  # marketplace codes, e.g. ("US", "DE")
    listings: tuple[Listing, ...]
    issues: dict[tuple[str, str], tuple[dict[str, Any], ...]] = field(default_factory=dict)
    notes: tuple[dict[str, str], ...] = ()  # the deliberate differences, for status output
    source: str = ""  # the config directory the listings were rendered from ("" unknown)
    exact: bool = False  # seeded without the demo's deliberate differences


def _listing(row: sqlite3.Row | tuple[Any, ...]) -> Listing:
    return Listing(
        seller_id=row[0],
        sku=row[1],
        marketplace_id=row[2],
        product_type=row[3],
        asin=row[4],
        attributes=jsonio.loads(row[5]),
        fba_quantity=row[6],
        created_at=from_micros(row[7]),
        updated_at=from_micros(row[8]),
    )


_LISTING_COLUMNS = (
    "seller_id, sku, marketplace_id, product_type, asin, attributes, fba_quantity, "
    "created_at, updated_at"
)


def _listing_values(listing: Listing) -> tuple[Any, ...]:
    return (
        listing.seller_id,
        listing.sku,
        listing.marketplace_id,
        listing.product_type,
        listing.asin,
        jsonio.dumps(listing.attributes),
        listing.fba_quantity,
        to_micros(listing.created_at),
        to_micros(listing.updated_at),
    )


class Tx:
    """Reads and writes on one connection inside one transaction (see `Store.read/write`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    @property
    def connection(self) -> sqlite3.Connection:
        """For data access kept in other modules (see `orderstore`), inside this transaction."""
        return self._c

    # -- meta -------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self._c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self._c.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- listings ---------------------------------------------------------------------------
    def listing(self, seller_id: str, sku: str, marketplace_id: str) -> Listing | None:
        row = self._c.execute(
            f"SELECT {_LISTING_COLUMNS} FROM listings "
            "WHERE seller_id = ? AND sku = ? AND marketplace_id = ?",
            (seller_id, sku, marketplace_id),
        ).fetchone()
        return None if row is None else _listing(row)

    def listings(
        self, seller_id: str, marketplace_ids: Iterable[str], skus: Iterable[str] | None = None
    ) -> list[Listing]:
        """The seller's listings in the marketplaces (only those of `skus` when given)."""
        ids = list(marketplace_ids)
        where = f"seller_id = ? AND marketplace_id IN ({','.join('?' * len(ids))})"
        args = [seller_id, *ids]
        if skus is not None:
            wanted = list(skus)
            where += f" AND sku IN ({','.join('?' * len(wanted))})"
            args += wanted
        rows = self._c.execute(
            f"SELECT {_LISTING_COLUMNS} FROM listings WHERE {where} ORDER BY sku, marketplace_id",
            args,
        ).fetchall()
        return [_listing(r) for r in rows]

    def count_listings(self, seller_id: str) -> int:
        row = self._c.execute(
            "SELECT COUNT(*) FROM listings WHERE seller_id = ?", (seller_id,)
        ).fetchone()
        return int(row[0])

    def save_listing(self, listing: Listing) -> None:
        self._c.execute(
            f"INSERT OR REPLACE INTO listings ({_LISTING_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
            _listing_values(listing),
        )

    def remember_listing(
        self, seller_id: str, sku: str, marketplace_id: str, previous: Listing | None, at: datetime
    ) -> None:
        """Keep the listing as it was before a write processed `at` replaced it (None: there
        was none), for reports that lag (`listings_as_of`)."""
        saved = None if previous is None else jsonio.dumps(list(_listing_values(previous)))
        self._c.execute(
            "INSERT INTO listing_history (seller_id, sku, marketplace_id, replaced_at, previous) "
            "VALUES (?, ?, ?, ?, ?)",
            (seller_id, sku, marketplace_id, to_micros(at), saved),
        )

    def listings_as_of(self, seller_id: str, marketplace_id: str, at: datetime) -> list[Listing]:
        """The seller's listings in the marketplace as they were at `at`: the current ones,
        each replaced by its state before the first write processed after `at` (absent when
        that write created it; back when a later one deleted it)."""
        current = {li.sku: li for li in self.listings(seller_id, [marketplace_id])}
        rows = self._c.execute(
            "SELECT sku, previous FROM listing_history WHERE seller_id = ? AND marketplace_id = ? "
            "AND replaced_at > ? ORDER BY replaced_at DESC",
            (seller_id, marketplace_id, to_micros(at)),
        ).fetchall()
        for sku, previous in rows:  # newest first: the earliest write's "previous" wins
            if previous is None:
                current.pop(sku, None)
            else:
                current[sku] = _listing(jsonio.loads(previous))
        return [current[sku] for sku in sorted(current)]

    def delete_listing(self, seller_id: str, sku: str, marketplace_id: str) -> bool:
        cur = self._c.execute(
            "DELETE FROM listings WHERE seller_id = ? AND sku = ? AND marketplace_id = ?",
            (seller_id, sku, marketplace_id),
        )
        self.set_issues(seller_id, sku, marketplace_id, ())
        return cur.rowcount > 0

    # -- issues -----------------------------------------------------------------------------
    def issues(self, seller_id: str, sku: str, marketplace_id: str) -> list[dict[str, Any]]:
        rows = self._c.execute(
            "SELECT issue FROM issues WHERE seller_id = ? AND sku = ? AND marketplace_id = ? "
            "ORDER BY position",
            (seller_id, sku, marketplace_id),
        ).fetchall()
        return [jsonio.loads(r[0]) for r in rows]

    def issue_severities(self, seller_id: str) -> dict[tuple[str, str], set[str]]:
        """Severities of every listing's issues, for search filters and statuses."""
        result: dict[tuple[str, str], set[str]] = {}
        for sku, mid, text in self._c.execute(
            "SELECT sku, marketplace_id, issue FROM issues WHERE seller_id = ?", (seller_id,)
        ):
            result.setdefault((sku, mid), set()).add(jsonio.loads(text)["severity"])
        return result

    def set_issues(
        self, seller_id: str, sku: str, marketplace_id: str, issues: Iterable[dict[str, Any]]
    ) -> None:
        self._c.execute(
            "DELETE FROM issues WHERE seller_id = ? AND sku = ? AND marketplace_id = ?",
            (seller_id, sku, marketplace_id),
        )
        self._c.executemany(
            "INSERT INTO issues (seller_id, sku, marketplace_id, position, issue) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (seller_id, sku, marketplace_id, i, jsonio.dumps(issue))
                for i, issue in enumerate(issues)
            ],
        )

    # -- pending writes ---------------------------------------------------------------------
    def add_pending(
        self,
        *,
        submission_id: str,
        seller_id: str,
        sku: str,
        marketplace_id: str,
        kind: str,
        payload: dict[str, Any],
        submitted_at: datetime,
        visible_at: datetime,
    ) -> int:
        cur = self._c.execute(
            "INSERT INTO pending_writes (submission_id, seller_id, sku, marketplace_id, kind, "
            "payload, submitted_at, visible_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                submission_id,
                seller_id,
                sku,
                marketplace_id,
                kind,
                jsonio.dumps(payload),
                to_micros(submitted_at),
                to_micros(visible_at),
            ),
        )
        return int(cur.lastrowid or 0)

    def _pending(self, where: str, args: tuple[Any, ...]) -> list[PendingWrite]:
        rows = self._c.execute(
            "SELECT id, submission_id, seller_id, sku, marketplace_id, kind, payload, "
            f"submitted_at, visible_at FROM pending_writes WHERE {where} ORDER BY id",
            args,
        ).fetchall()
        return [
            PendingWrite(
                id=r[0],
                submission_id=r[1],
                seller_id=r[2],
                sku=r[3],
                marketplace_id=r[4],
                kind=r[5],
                payload=jsonio.loads(r[6]),
                submitted_at=from_micros(r[7]),
                visible_at=from_micros(r[8]),
            )
            for r in rows
        ]

    def has_due(self, now: datetime) -> bool:
        row = self._c.execute(
            "SELECT 1 FROM pending_writes WHERE visible_at <= ? LIMIT 1", (to_micros(now),)
        ).fetchone()
        return row is not None

    def due(self, now: datetime) -> list[PendingWrite]:
        return self._pending("visible_at <= ?", (to_micros(now),))

    def pending_for(self, seller_id: str, sku: str, marketplace_id: str) -> list[PendingWrite]:
        return self._pending(
            "seller_id = ? AND sku = ? AND marketplace_id = ?", (seller_id, sku, marketplace_id)
        )

    def all_pending(self) -> list[PendingWrite]:
        return self._pending("1 = 1", ())

    def drop_pending(self, ids: Iterable[int]) -> None:
        self._c.executemany("DELETE FROM pending_writes WHERE id = ?", [(i,) for i in ids])

    # -- access tokens ----------------------------------------------------------------------
    def add_token(self, token: str, expires_wall: float) -> None:
        self._c.execute(
            "INSERT OR REPLACE INTO access_tokens (token_hash, expires_wall) VALUES (?, ?)",
            (token_hash(token), expires_wall),
        )

    def token_expiry(self, token: str) -> float | None:
        row = self._c.execute(
            "SELECT expires_wall FROM access_tokens WHERE token_hash = ?", (token_hash(token),)
        ).fetchone()
        return None if row is None else float(row[0])

    def forget_expired_tokens(self, wall_now: float) -> None:
        self._c.execute("DELETE FROM access_tokens WHERE expires_wall < ?", (wall_now,))

    def add_restricted_token(
        self, token: str, expires_wall: float, resources: str, wall_now: float
    ) -> None:
        """A restricted data token (engine.sandbox.tokens) and the resources it grants (JSON)."""
        self._c.execute("DELETE FROM restricted_tokens WHERE expires_wall < ?", (wall_now,))
        self._c.execute(
            "INSERT INTO restricted_tokens (token_hash, expires_wall, resources) VALUES (?, ?, ?)",
            (token_hash(token), expires_wall, resources),
        )

    def restricted_token(self, token: str) -> tuple[float, str] | None:
        """(expiry, resources JSON) of a restricted data token, or None."""
        row = self._c.execute(
            "SELECT expires_wall, resources FROM restricted_tokens WHERE token_hash = ?",
            (token_hash(token),),
        ).fetchone()
        return None if row is None else (float(row[0]), str(row[1]))

    # -- faults -----------------------------------------------------------------------------
    def faults(self) -> dict[str, dict[str, Any]]:
        return {
            name: jsonio.loads(config)
            for name, config in self._c.execute("SELECT name, config FROM faults ORDER BY name")
        }

    def set_fault(self, name: str, config: dict[str, Any]) -> None:
        self._c.execute(
            "INSERT OR REPLACE INTO faults (name, config) VALUES (?, ?)",
            (name, jsonio.dumps(config)),
        )
        self._bump_faults_version()

    def clear_faults(self, name: str | None = None) -> None:
        if name is None:
            self._c.execute("DELETE FROM faults")
        else:
            self._c.execute("DELETE FROM faults WHERE name = ?", (name,))
        self._bump_faults_version()

    def faults_version(self) -> int:
        value = self.meta("faults_version")
        return int(value) if value else 0

    def _bump_faults_version(self) -> None:
        self.set_meta("faults_version", str(self.faults_version() + 1))

    # -- feeds, reports and their documents -------------------------------------------------
    def add_job(
        self,
        *,
        kind: str,
        job_type: str,
        marketplace_ids: Iterable[str],
        created_at: datetime,
        start_at: datetime,
        end_at: datetime,
        input_document_id: str | None,
        options: dict[str, Any],
    ) -> str:
        cur = self._c.execute(
            "INSERT INTO jobs (kind, job_type, marketplace_ids, status, created_at, start_at, "
            "end_at, input_document_id, options) VALUES (?, ?, ?, 'IN_QUEUE', ?, ?, ?, ?, ?)",
            (
                kind,
                job_type,
                jsonio.dumps(list(marketplace_ids)),
                to_micros(created_at),
                to_micros(start_at),
                to_micros(end_at),
                input_document_id,
                jsonio.dumps(options),
            ),
        )
        return str(cur.lastrowid)

    def _jobs(self, where: str, args: tuple[Any, ...]) -> list[Job]:
        rows = self._c.execute(
            "SELECT id, kind, job_type, marketplace_ids, status, created_at, start_at, end_at, "
            f"input_document_id, result_document_id, options, claimed FROM jobs WHERE {where} "
            "ORDER BY created_at DESC, id DESC",
            args,
        ).fetchall()
        return [
            Job(
                id=str(r[0]),
                kind=r[1],
                job_type=r[2],
                marketplace_ids=tuple(jsonio.loads(r[3])),
                status=r[4],
                created_at=from_micros(r[5]),
                start_at=from_micros(r[6]),
                end_at=from_micros(r[7]),
                input_document_id=r[8],
                result_document_id=r[9],
                options=jsonio.loads(r[10]),
                processed=bool(r[11]),
            )
            for r in rows
        ]

    def job(self, kind: str, job_id: str) -> Job | None:
        if not job_id.isdigit():
            return None
        found = self._jobs("kind = ? AND id = ?", (kind, int(job_id)))
        return found[0] if found else None

    def jobs(self, kind: str) -> list[Job]:
        """Newest first."""
        return self._jobs("kind = ?", (kind,))

    def start_due_jobs(self, kind: str, now: datetime) -> None:
        self._c.execute(
            "UPDATE jobs SET status = 'IN_PROGRESS' "
            "WHERE kind = ? AND status = 'IN_QUEUE' AND start_at <= ?",
            (kind, to_micros(now)),
        )

    def claim_finished_jobs(self, kind: str, now: datetime) -> list[Job]:
        """Jobs whose processing time is over, each handed to exactly one caller (even across
        processes sharing the file) to compute the outcome."""
        due = self._jobs(
            "kind = ? AND status = 'IN_PROGRESS' AND claimed = 0 AND end_at <= ?",
            (kind, to_micros(now)),
        )
        self._c.executemany("UPDATE jobs SET claimed = 1 WHERE id = ?", [(int(j.id),) for j in due])
        return due

    def finish_job(self, job_id: str, status: str, result_document_id: str | None = None) -> None:
        self._c.execute(
            "UPDATE jobs SET status = ?, result_document_id = ? WHERE id = ?",
            (status, result_document_id, int(job_id)),
        )

    def add_document(self, document: Document) -> None:
        self._c.execute(
            "INSERT INTO documents (id, content_type, compression, content, sealed, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                document.id,
                document.content_type,
                document.compression,
                document.content,
                int(document.sealed),
                to_micros(document.created_at),
            ),
        )

    def document(self, document_id: str) -> Document | None:
        row = self._c.execute(
            "SELECT id, content_type, compression, content, sealed, created_at FROM documents "
            "WHERE id = ?",
            (document_id,),
        ).fetchone()
        if row is None:
            return None
        return Document(row[0], row[1], row[2], row[3], bool(row[4]), from_micros(row[5]))

    def upload_document(self, document_id: str, content: bytes) -> bool:
        """Store uploaded bytes unless the document is sealed; False when refused."""
        cur = self._c.execute(
            "UPDATE documents SET content = ? WHERE id = ? AND sealed = 0", (content, document_id)
        )
        return cur.rowcount > 0

    def seal_document(self, document_id: str) -> None:
        self._c.execute("UPDATE documents SET sealed = 1 WHERE id = ?", (document_id,))

    def add_document_url(
        self, token: str, document_id: str, method: str, expires_wall: float, wall_now: float
    ) -> None:
        """Grant `method` on a document to whoever holds `token` (stored hashed)."""
        # Expired grants are kept an hour, so that their URLs answer "Request has expired".
        self._c.execute(
            "DELETE FROM document_urls WHERE expires_wall < ?", (wall_now - EXPIRED_URLS_KEPT,)
        )
        self._c.execute(
            "INSERT INTO document_urls (token_hash, document_id, method, expires_wall) "
            "VALUES (?, ?, ?, ?)",
            (token_hash(token), document_id, method, expires_wall),
        )

    def document_url(self, token: str, method: str) -> tuple[str, float] | None:
        """The document a URL token grants `method` on, and when the grant expires (wall
        seconds), expired or not; None for a token that grants nothing."""
        row = self._c.execute(
            "SELECT document_id, expires_wall FROM document_urls "
            "WHERE token_hash = ? AND method = ?",
            (token_hash(token), method),
        ).fetchone()
        return None if row is None else (str(row[0]), float(row[1]))

    def document_for_url(self, token: str, method: str, wall_now: float) -> str | None:
        row = self._c.execute(
            "SELECT document_id FROM document_urls "
            "WHERE token_hash = ? AND method = ? AND expires_wall >= ?",
            (token_hash(token), method, wall_now),
        ).fetchone()
        return None if row is None else str(row[0])


class Store:
    """The SQLite file of one sandbox account, safe to use from many threads and processes."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.state_dir / FILENAME
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._watch: sqlite3.Connection | None = None
        self._watch_lock = threading.Lock()
        conn = self._open()
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA + orderschema.SCHEMA + notificationschema.SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )
        finally:
            self._release(conn)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _acquire(self) -> sqlite3.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._open()

    def _release(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        with self._lock:
            self._idle.append(conn)

    @contextmanager
    def _tx(self, begin: str) -> Iterator[Tx]:
        conn = self._acquire()
        try:
            conn.execute(begin)
            try:
                yield Tx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            self._release(conn)

    def read(self) -> Iterator[Tx]:
        """A consistent snapshot for reading (deferred transaction)."""
        return self._tx("BEGIN")

    def write(self) -> Iterator[Tx]:
        """A write transaction; takes the write lock up front so read-modify-write is safe
        across threads and processes."""
        return self._tx("BEGIN IMMEDIATE")

    def data_version(self) -> int:
        """A number that changes whenever any connection, of this process or another, commits
        to the file: SQLite's `PRAGMA data_version` on a connection of its own that never
        writes (https://www.sqlite.org/pragma.html#pragma_data_version). One statement and no
        transaction, so much cheaper than reading what it guards; callers that cache store
        data re-read it when the number moves. Read the number before the data it guards."""
        with self._watch_lock:
            if self._watch is None:
                self._watch = self._open()
            return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        with self._watch_lock:
            if self._watch is not None:
                idle.append(self._watch)
                self._watch = None
        for conn in idle:
            conn.close()

    # -- seed and reset ---------------------------------------------------------------------
    def is_seeded(self) -> bool:
        with self.read() as tx:
            return tx.meta("seller_id") is not None

    def install_seed(self, seed: Seed) -> None:
        """Replace the stored seed and reset the account to it."""
        with self.write() as tx:
            c = tx._c
            c.execute("DELETE FROM seed_listings")
            c.execute("DELETE FROM seed_issues")
            c.executemany(
                f"INSERT INTO seed_listings ({_LISTING_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                [_listing_values(listing) for listing in seed.listings],
            )
            c.executemany(
                "INSERT INTO seed_issues (seller_id, sku, marketplace_id, position, issue) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (seed.seller_id, sku, mid, i, jsonio.dumps(issue))
                    for (sku, mid), issues in sorted(seed.issues.items())
                    for i, issue in enumerate(issues)
                ],
            )
            tx.set_meta("seller_id", seed.seller_id)
            tx.set_meta("store_name", seed.store_name)
            tx.set_meta("marketplaces", jsonio.dumps(list(seed.marketplaces)))
            tx.set_meta("seed_marketplaces", jsonio.dumps(list(seed.marketplaces)))
            tx.set_meta("seed_notes", jsonio.dumps(list(seed.notes)))
            tx.set_meta("seed_source", jsonio.dumps({"config": seed.source, "exact": seed.exact}))
            self._reset(tx)

    def reset(self) -> None:
        """Back to the seeded demo account: listings, issues, marketplace participations, no
        pending writes, no faults, no feeds, reports or documents.
        Idempotent; issued access tokens and the clock survive (they are not account data)."""
        with self.write() as tx:
            if tx.meta("seller_id") is None:
                raise LookupError(f"{self.path} has no seed yet")
            self._reset(tx)

    @staticmethod
    def _reset(tx: Tx) -> None:
        c = tx._c
        for table in (
            "listings",
            "issues",
            "pending_writes",
            "listing_history",
            "faults",
            "jobs",
            "documents",
            "document_urls",
            *orderschema.TABLES,
            *notificationschema.TABLES,
        ):
            c.execute(f"DELETE FROM {table}")
        c.execute("DELETE FROM meta WHERE key = ?", (orderschema.SERIAL,))
        c.execute(
            f"INSERT INTO listings ({_LISTING_COLUMNS}) SELECT {_LISTING_COLUMNS} "
            "FROM seed_listings"
        )
        c.execute(
            "INSERT INTO issues (seller_id, sku, marketplace_id, position, issue) "
            "SELECT seller_id, sku, marketplace_id, position, issue FROM seed_issues"
        )
        seeded = tx.meta("seed_marketplaces")  # absent in stores seeded before it was kept
        if seeded is not None:
            tx.set_meta("marketplaces", seeded)
        tx._bump_faults_version()
