"""Proof of consent: one receipt per decision, kept in SQLite or PostgreSQL.

The signed cookie is the visitor's copy of their choice; a receipt is the
site's. It holds what GDPR Art. 7(1) asks a site to be able to show — when,
which policy revision and banner text, which categories were granted and
refused (and which the visitor was never asked about), through which control,
whether a GPC signal applied — and nothing that identifies a person beyond the
random consent id: no IP address, no user agent.

SQLAlchemy Core gives one code path for the embedded SQLite file and for a
PostgreSQL server shared by several app servers, with pooling and dialect
differences handled by a well-kept library. A store that is down never breaks
or slows the visitor's request: the receipt goes to a local spool (an SQLite
file of its own) and a background thread writes it once the store takes writes
again, retrying a failed store at a bounded, growing interval.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import sqlite3
import threading
import time
import uuid
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

try:
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine, make_url
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "consent receipts need SQLAlchemy: pip install 'flask-consent-banner[receipts]'"
    ) from exc

from .spool import FileId, Spool, file_id

logger = logging.getLogger("consent.receipts")

#: Bumped whenever the table layout changes; stored in ``consent_receipts_schema``.
#: 2 added ``unanswered``.
SCHEMA_VERSION = 2


#: Receipts per INSERT and per spool batch: one statement stays far below the
#: bind-parameter limits of PostgreSQL (65,535) and SQLite (32,766).
BATCH = 1000

#: Seconds a PostgreSQL connect may take before the store counts as down.
CONNECT_TIMEOUT = 3

metadata = sa.MetaData()

receipts_table = sa.Table(
    "consent_receipts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("receipt_id", sa.String(32), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("consent_id", sa.String(32), nullable=False, index=True),
    sa.Column("revision", sa.String(64), nullable=False),
    sa.Column("banner_fingerprint", sa.String(64), nullable=False),
    sa.Column("locale", sa.String(16), nullable=False),
    sa.Column("granted", sa.Text, nullable=False),
    sa.Column("refused", sa.Text, nullable=False),
    sa.Column("unanswered", sa.Text, nullable=False, server_default=""),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("control", sa.String(16), nullable=False),
    sa.Column("gpc", sa.Boolean, nullable=False),
    sa.Column("withdrawal", sa.Boolean, nullable=False),
    sa.Column("reconsent", sa.Boolean, nullable=False),
)

schema_table = sa.Table(
    "consent_receipts_schema",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

#: Version 1 → 2, for a table created by an earlier release.
_ADD_UNANSWERED = "ALTER TABLE consent_receipts ADD COLUMN unanswered TEXT NOT NULL DEFAULT ''"
#: Serialises schema set-up between the app servers of one PostgreSQL database.
_SCHEMA_LOCK_KEY = 0x636F6E73656E74  # "consent"


@dataclass(frozen=True)
class Receipt:
    """One decision, as the site keeps it."""

    consent_id: str
    revision: str
    banner_fingerprint: str
    locale: str
    granted: tuple[str, ...]
    refused: tuple[str, ...]
    #: Optional categories the visitor was not asked about: neither granted nor refused.
    unanswered: tuple[str, ...] = field(default=(), kw_only=True)
    action: str
    control: str
    gpc: bool = False
    withdrawal: bool = False
    reconsent: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    receipt_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        for name in _CATEGORY_FIELDS:
            row[name] = " ".join(getattr(self, name))
        return row

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        for name in _CATEGORY_FIELDS:
            data[name] = list(getattr(self, name))
        return data

    @classmethod
    def from_row(cls, row: Any) -> Receipt:
        created = row.created_at
        if created.tzinfo is None:  # SQLite keeps no zone; we only ever write UTC
            created = created.replace(tzinfo=UTC)
        return cls(
            consent_id=row.consent_id,
            revision=row.revision,
            banner_fingerprint=row.banner_fingerprint,
            locale=row.locale,
            granted=tuple(row.granted.split()),
            refused=tuple(row.refused.split()),
            unanswered=tuple((row.unanswered or "").split()),
            action=row.action,
            control=row.control,
            gpc=bool(row.gpc),
            withdrawal=bool(row.withdrawal),
            reconsent=bool(row.reconsent),
            created_at=created,
            receipt_id=row.receipt_id,
        )

    @classmethod
    def from_json(cls, data: Any) -> Receipt:
        """The receipt ``as_json`` gave; ``ValueError`` for anything else, so that a
        damaged or foreign entry is set aside rather than stored half right."""
        if not isinstance(data, dict):
            raise ValueError("a receipt is a JSON object")
        data = dict(data)
        try:
            created = datetime.fromisoformat(data["created_at"])
            for name in _CATEGORY_FIELDS:
                if name in data:
                    if not isinstance(data[name], list):
                        raise TypeError(f"{name} is not a list")
                    data[name] = tuple(data[name])
            receipt = cls(**{**data, "created_at": created})
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a receipt: {exc}") from None
        if created.tzinfo is None:
            raise ValueError("created_at has no time zone")
        for f in fields(cls):
            value = getattr(receipt, f.name)
            kind = _FIELD_TYPES[str(f.type)]
            if not isinstance(value, kind) or (
                isinstance(value, tuple) and not all(isinstance(v, str) for v in value)
            ):
                raise ValueError(f"{f.name} is not {f.type}")
        return receipt


_CATEGORY_FIELDS = ("granted", "refused", "unanswered")
_FIELD_TYPES: dict[str, type] = {
    "str": str,
    "bool": bool,
    "tuple[str, ...]": tuple,
    "datetime": datetime,
}


def receipt_from_text(text: str | bytes) -> Receipt:
    """A receipt from one line of JSON; ``ValueError`` when it is not one."""
    try:
        return Receipt.from_json(json.loads(text))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"not JSON: {exc}") from None


def spool_entry(text: str | bytes) -> tuple[str, str]:
    """A spooled receipt's id and text, rewritten the way this version writes it."""
    receipt = receipt_from_text(text)
    return receipt.receipt_id, receipt_text(receipt)


def receipt_text(receipt: Receipt) -> str:
    """One line of JSON: how a receipt is spooled and logged."""
    return json.dumps(receipt.as_json(), separators=(",", ":"))


_AGE = re.compile(r"^\s*(\d+)\s*([ymwd])\s*$")
_AGE_DAYS = {"y": 365, "m": 30, "w": 7, "d": 1}


def parse_age(value: str | timedelta) -> timedelta:
    """``3y``, ``18m``, ``2w`` or ``90d`` (or a ``timedelta``) as a ``timedelta``."""
    if isinstance(value, timedelta):
        return value
    match = _AGE.match(str(value).lower())
    if not match:
        raise ValueError(f"{value!r} is not an age such as 3y, 18m, 2w or 90d")
    return timedelta(days=int(match.group(1)) * _AGE_DAYS[match.group(2)])


def resolve_url(url: str, instance_path: str) -> str:
    """A relative SQLite path lives in the app's instance folder, not wherever the
    process happened to start."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.drivername.startswith("sqlite") and database and database != ":memory:":
        path = Path(database)
        if not path.is_absolute():
            path = Path(instance_path) / path
            return parsed.set(database=str(path)).render_as_string(hide_password=False)
    if parsed.drivername in ("postgresql", "postgres"):
        # Prefer psycopg 3 (the postgres extra) over SQLAlchemy's psycopg2 default.
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def require_driver(url: str) -> None:
    """Raise ``ImportError`` at start-up, not on a visitor's decision, when the
    database driver the URL names is not installed."""
    dialect = make_url(url).get_dialect()
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        extra = "postgres" if dialect.name == "postgresql" else "receipts"
        raise ImportError(
            f"CONSENT_RECEIPTS_URL needs the {dialect.driver} driver ({exc}):"
            f" pip install 'flask-consent-banner[{extra}]'"
        ) from None


def sqlite_file(url: str) -> Path | None:
    """The database file a SQLite URL names (``None``: another database, or in memory)."""
    parsed = make_url(url)
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None  # a URI filename: its options are SQLite's business
    return Path(database)


class StoreFileGone(OSError):
    """The SQLite file the store wrote to is no longer the one at its path."""


# -- the store -------------------------------------------------------------------

#: Every store of this process, so that a forked child can drop what it inherited.
_STORES: weakref.WeakSet[ReceiptStore] = weakref.WeakSet()
_JITTER = random.SystemRandom()


class ReceiptStore:
    """Writes and reads receipts; the database is reached lazily and on demand.

    ``record`` writes a receipt straight to the store while the store takes
    writes. Once a write fails, receipts go to the spool and no request tries
    the store again: a daemon thread (one per process, started by the first
    ``record``) retries it after ``retry_first`` seconds, doubling up to
    ``retry_max``, and writes the spool once it answers.
    """

    def __init__(
        self,
        url: str,
        spool_path: str | Path,
        spool_max: int = 10_000,
        *,
        retry_first: float = 1.0,
        retry_max: float = 30.0,
    ) -> None:
        self.url = url
        self.spool_path = Path(spool_path)
        self.spool_max = spool_max
        self.spool = Spool(self.spool_path, spool_max, spool_entry)
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.sqlite_path = sqlite_file(url)
        if self.sqlite_path is not None:
            # The same rule for relative and absolute paths: the folder is made
            # here, once. A folder that disappears later is an outage (it may be
            # an unmounted volume), not something to create again.
            try:
                self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                logger.warning("consent receipts: cannot create %s: %s", self.sqlite_path, exc)
        self._engine: Engine | None = None
        self._schema_file: FileId | bool | None = False
        self._init_process()
        _STORES.add(self)

    def _init_process(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._flusher: threading.Thread | None = None
        self._stopping = False
        self._up = True
        self._delay = self.retry_first
        # The first look (for receipts an earlier process left) comes a moment
        # after start, never at the instant the first decision finds the store down.
        self._next_try = time.monotonic() + self.retry_first

    def _after_fork(self) -> None:
        self._init_process()
        self.spool.after_fork()
        if self._engine is not None:
            self._engine.dispose(close=False)  # the parent's connections stay the parent's

    # -- connection ---------------------------------------------------------
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = _create_engine(self.url, self.sqlite_path)
            # A new SQLite file (its folder was put back empty) needs its tables.
            current = True if self.sqlite_path is None else file_id(self.sqlite_path)
            if current is None or current != self._schema_file:
                self._create_schema(self._engine)
                self._schema_file = True if self.sqlite_path is None else file_id(self.sqlite_path)
            return self._engine

    @staticmethod
    def _create_schema(engine: Engine) -> None:
        """Create or migrate the tables, one app server at a time."""
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif engine.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY}
                )
            metadata.create_all(conn, checkfirst=True)
            version = conn.execute(sa.select(schema_table.c.version)).scalar()
            if version is not None and version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"the receipts table is at schema {version}, newer than this"
                    f" version of the package understands ({SCHEMA_VERSION})"
                )
            columns = {c["name"] for c in sa.inspect(conn).get_columns(receipts_table.name)}
            if "unanswered" not in columns:
                conn.execute(sa.text(_ADD_UNANSWERED))
            if version is None:
                conn.execute(schema_table.insert().values(version=SCHEMA_VERSION))
            elif version < SCHEMA_VERSION:
                conn.execute(schema_table.update().values(version=SCHEMA_VERSION))
            conn.commit()

    def dispose(self) -> None:
        """Stop the flusher and close every connection (tests, and the end of a process)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        flusher = self._flusher
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join(10)
        self._flusher = None
        self.spool.close()
        if self._engine is not None:
            self._engine.dispose()

    # -- writing ------------------------------------------------------------
    def record(self, receipt: Receipt) -> bool:
        """Store a receipt, or spool it; ``True`` when the store has it. Never raises.

        A store known to be down is not tried: the receipt is spooled at once.
        """
        try:
            self._start_flusher()
            if self._up:
                try:
                    self._insert([receipt])
                    return True
                except Exception as exc:
                    if not _outage(exc):
                        self._refused(receipt, exc)
                        return False
                    self._went_down(exc)
            self._spool(receipt)
        except Exception as exc:
            _log_lost(receipt, f"{type(exc).__name__}: {exc}")
        return False

    def _spool(self, receipt: Receipt) -> None:
        """Queue one receipt; when it cannot be queued, log it whole (never silent)."""
        body = receipt_text(receipt)
        try:
            queued = self.spool.append(receipt.receipt_id, body)
        except (sqlite3.Error, OSError) as exc:
            _log_lost(receipt, f"cannot write the spool {self.spool_path}: {exc}", body)
            return
        if not queued:
            _log_lost(
                receipt,
                f"the spool {self.spool_path} holds {self.spool_max} receipts"
                " (CONSENT_RECEIPTS_SPOOL_MAX); bring the receipt store back",
                body,
            )

    def _refused(self, receipt: Receipt, exc: Exception) -> None:
        """The store is up and refuses this receipt (a bad value): trying it again
        would not help, so it is kept beside the spool for a person."""
        self.spool.set_aside([receipt_text(receipt).encode()], f"the store refuses it: {exc}")

    def _insert(self, receipts: Sequence[Receipt]) -> int:
        """Write receipts, ``BATCH`` per statement; one already stored is skipped.

        Returns how many were new. For SQLite, a write into a file no longer at
        the store's path (its folder removed, the file replaced) raises
        ``StoreFileGone``: it does not count as stored.
        """
        if not receipts:
            return 0
        engine = self.engine()
        written = 0
        for start in range(0, len(receipts), BATCH):
            rows = [r.as_row() for r in receipts[start : start + BATCH]]
            with engine.begin() as conn:
                written += _insert_new(conn, rows)
                opened = conn.connection.info.get(_FILE_KEY)
            if self.sqlite_path is not None and file_id(self.sqlite_path) != opened:
                raise StoreFileGone(
                    f"{self.sqlite_path} is no longer the file the receipts were written to"
                    " (its folder was removed, or the file moved or replaced)"
                )
        return written

    def write(self, receipts: Sequence[Receipt]) -> int:
        """Write receipts now (an import), skipping those already stored; how many
        were new. Raises when the store fails."""
        return self._insert(receipts)

    def spooled(self) -> int:
        """How many receipts wait in the spool."""
        return self.spool.size()

    def flush_spool(self) -> int:
        """Write every spooled receipt now, oldest first; return how many were new.

        Waits while another process flushes the same spool. Raises when the
        store fails; what was not written stays spooled. Entries that are not
        receipts, or that the store refuses as data, are set aside.
        """
        written = self._drain(blocking=True)
        assert written is not None
        self._back_up()
        return written

    def _drain(self, *, blocking: bool) -> int | None:
        """Write the spool to the store, ``BATCH`` at a time; ``None`` when another
        process is doing it."""
        with self.spool.flushing(blocking=blocking) as ours:
            if not ours:
                return None
            written = 0
            while batch := self.spool.head(BATCH):
                receipts: list[Receipt] = []
                unreadable: list[bytes] = []
                for _seq, body in batch:
                    try:
                        receipts.append(receipt_from_text(body))
                    except ValueError:
                        unreadable.append(body.encode("utf-8", "surrogateescape"))
                self.spool.set_aside(unreadable, "not a receipt this version can read")
                written += self._insert_or_set_aside(receipts)
                self.spool.drop_through(batch[-1][0])
        if written:
            logger.info("consent receipts: %d spooled receipt(s) written", written)
        return written

    def _insert_or_set_aside(self, receipts: list[Receipt]) -> int:
        """Insert a batch; when the store refuses it as data, insert one by one and
        set aside those it refuses, so one bad receipt cannot hold up the spool."""
        try:
            return self._insert(receipts)
        except Exception as exc:
            if _outage(exc):
                raise
        written = 0
        for receipt in receipts:
            try:
                written += self._insert([receipt])
            except Exception as exc:
                if _outage(exc):
                    raise
                self._refused(receipt, exc)
        return written

    # -- the flusher ----------------------------------------------------------
    def _start_flusher(self) -> None:
        if self._flusher is not None:
            return
        with self._cond:
            if self._flusher is not None:
                return
            self._stopping = False
            self._flusher = threading.Thread(
                target=self._flush_loop, name="consent-receipts-flusher", daemon=True
            )
            self._flusher.start()

    def _flush_loop(self) -> None:
        """Write the spool whenever the store takes writes; no more than one try of
        a failed store per interval."""
        while True:
            with self._cond:
                while not self._stopping and time.monotonic() < self._next_try:
                    self._cond.wait(self._next_try - time.monotonic())
                if self._stopping:
                    return
            try:
                self._attempt()
            except Exception as exc:
                self._retry_later(exc)

    def _attempt(self) -> None:
        """One try: is the store back (when it was down), then write the spool.
        When another process is writing the spool, look again soon."""
        with self._cond:
            up, due = self._up, time.monotonic() >= self._next_try
        if not due:
            return  # a write failed meanwhile and set a later time: keep to it
        if not up:
            with self.engine().connect() as conn:
                conn.execute(sa.select(1))
        written = self._drain(blocking=False) if self.spool.size() else 0
        self._back_up(idle=written is not None)

    def _went_down(self, exc: Exception) -> None:
        """The first failure of a write: spool from now on, retry in the background."""
        with self._cond:
            if not self._up:
                return
            self._up = False
            self._delay = self.retry_first
            self._next_try = time.monotonic() + self._delay
            self._cond.notify_all()
        level = logging.ERROR if isinstance(exc, StoreFileGone) else logging.WARNING
        logger.log(
            level,
            "consent receipts: the store is unavailable (%s); receipts are spooled in %s"
            " and written once it is back",
            exc,
            self.spool_path,
        )

    def _retry_later(self, exc: Exception) -> None:
        """A try failed: the next one waits twice as long (up to ``retry_max``),
        give or take a fifth, so that workers do not try all at once."""
        with self._cond:
            was_up, self._up = self._up, False
            delay = self._delay if not was_up else self.retry_first
            self._next_try = time.monotonic() + delay * _JITTER.uniform(0.8, 1.2)
            self._delay = min(self.retry_max, delay * 2)
        logger.log(
            logging.WARNING if was_up else logging.INFO,
            "consent receipts: the store is unavailable (%s); next try in about %.0f s",
            exc,
            delay,
        )

    def _back_up(self, *, idle: bool = True) -> None:
        """The store took writes: record goes to it again."""
        with self._cond:
            was_down, self._up = not self._up, True
            self._delay = self.retry_first
            self._next_try = time.monotonic() + (_IDLE_CHECK if idle else self.retry_first)
        if was_down:
            logger.warning("consent receipts: the store is back")

    # -- reading ------------------------------------------------------------
    def history(self, consent_id: str) -> list[Receipt]:
        query = (
            sa.select(receipts_table)
            .where(receipts_table.c.consent_id == consent_id)
            .order_by(receipts_table.c.created_at, receipts_table.c.id)
        )
        with self.engine().connect() as conn:
            return [Receipt.from_row(row) for row in conn.execute(query)]

    def export(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[Receipt]:
        """Receipts in time order, streamed from the database in constant memory."""
        query = sa.select(receipts_table).order_by(receipts_table.c.created_at, receipts_table.c.id)
        if since is not None:
            query = query.where(receipts_table.c.created_at >= since)
        if until is not None:
            query = query.where(receipts_table.c.created_at < until)
        with self.engine().connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=500).execute(query)
            for row in result:
                yield Receipt.from_row(row)

    def prune(self, older_than: timedelta) -> int:
        """Delete receipts older than ``older_than``; return how many."""
        cutoff = datetime.now(UTC) - older_than
        with self.engine().begin() as conn:
            result = conn.execute(
                receipts_table.delete().where(receipts_table.c.created_at < cutoff)
            )
            return int(result.rowcount or 0)

    def count(self) -> int:
        with self.engine().connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(receipts_table)).scalar() or 0
            )

    def stats(self, by: str, since: datetime | None = None) -> list[dict[str, Any]]:
        """Opt-in figures per day or per category, from one streaming pass.

        Per category, a decision counts where the visitor answered for it: a
        category they were never asked about is neither granted nor refused.
        """
        if by == "day":
            days: dict[date, Counter[str]] = defaultdict(Counter)
            for receipt in self.export(since):
                counter = days[receipt.created_at.date()]
                counter["decisions"] += 1
                if not receipt.refused:
                    counter["all_granted"] += 1
                elif not receipt.granted:
                    counter["all_refused"] += 1
                else:
                    counter["partial"] += 1
            return [
                {
                    "day": day.isoformat(),
                    "decisions": c["decisions"],
                    "all_granted": c["all_granted"],
                    "all_refused": c["all_refused"],
                    "partial": c["partial"],
                    "opt_in_rate": round(c["all_granted"] / c["decisions"], 4),
                }
                for day, c in sorted(days.items())
            ]
        if by == "category":
            granted: Counter[str] = Counter()
            asked: Counter[str] = Counter()
            unanswered: Counter[str] = Counter()
            for receipt in self.export(since):
                for cid in receipt.granted:
                    granted[cid] += 1
                    asked[cid] += 1
                for cid in receipt.refused:
                    asked[cid] += 1
                for cid in receipt.unanswered:
                    unanswered[cid] += 1
            return [
                {
                    "category": cid,
                    "decisions": asked[cid],
                    "granted": granted[cid],
                    "unanswered": unanswered[cid],
                    "opt_in_rate": round(granted[cid] / asked[cid], 4) if asked[cid] else None,
                }
                for cid in sorted(asked.keys() | unanswered.keys())
            ]
        raise ValueError("stats are by 'day' or by 'category'")


#: Seconds between looks at the spool while the store is up (receipts another
#: process spooled and could not write, e.g. it was stopped first).
_IDLE_CHECK = 60.0
#: Where a pooled SQLite connection keeps the file it opened.
_FILE_KEY = "consent_receipts_file"


def _outage(exc: Exception) -> bool:
    """Whether a failed write means the store is unavailable, rather than that it
    refused this receipt (a bad value, which no retry would fix)."""
    if isinstance(exc, sa.exc.DataError | sa.exc.IntegrityError):
        return False
    return isinstance(
        exc,
        sa.exc.DBAPIError
        | sa.exc.DisconnectionError
        | sa.exc.TimeoutError
        | OSError
        | RuntimeError
        | sqlite3.Error,
    )


def _log_lost(receipt: Receipt, why: str, body: str | None = None) -> None:
    """A receipt that could not be kept: at ERROR, whole, so it can be recovered."""
    if body is None:
        try:
            body = receipt_text(receipt)
        except Exception:
            body = repr(receipt)
    logger.error("consent receipt LOST (%s): %s", why, body)


@cache
def _insert_new_statement(dialect: str) -> Any:
    """An INSERT that skips a receipt id already stored (a spool written twice, a
    race between two flushers), for the dialects that have one. Built on first
    use: an SQLite site does not import the PostgreSQL dialect at start-up."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(receipts_table).on_conflict_do_nothing(
            index_elements=["receipt_id"]
        )
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(receipts_table).on_conflict_do_nothing(index_elements=["receipt_id"])
    return None


def _insert_new(conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
    """Insert ``rows`` (at most ``BATCH``), skipping receipt ids already stored;
    how many were new."""
    statement = _insert_new_statement(conn.dialect.name)
    if statement is not None:
        result = conn.execute(statement, rows, execution_options={"preserve_rowcount": True})
        return int(result.rowcount)
    ids = [row["receipt_id"] for row in rows]
    stored = set(
        conn.execute(
            sa.select(receipts_table.c.receipt_id).where(receipts_table.c.receipt_id.in_(ids))
        ).scalars()
    )
    new = [row for row in rows if row["receipt_id"] not in stored]
    if new:
        conn.execute(receipts_table.insert(), new)
    return len(new)


def _create_engine(url: str, path: Path | None) -> Engine:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
            # WAL lets several worker processes write without blocking readers.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            record.info[_FILE_KEY] = file_id(path) if path is not None else None

        if path is not None:

            @sa.event.listens_for(engine, "checkout")
            def _same_file(dbapi_connection: Any, record: Any, proxy: Any) -> None:
                # A pooled connection to a file no longer at the path would
                # write where nobody reads: take a new one.
                if record.info.get(_FILE_KEY) != file_id(path):
                    message = (
                        f"{path} is no longer the file this connection opened (its folder"
                        " was removed, or the file moved or replaced): receipts written"
                        " through it went with that file"
                    )
                    logger.error("consent receipts: %s", message)
                    raise sa.exc.DisconnectionError(message)

        return engine
    connect_args: dict[str, Any] = {}
    if (
        parsed.get_driver_name() in ("psycopg", "psycopg2")
        and "connect_timeout" not in parsed.query
    ):
        # A store that does not answer (a dropped route, a firewall) must not
        # hold a decision for the operating system's TCP timeout.
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _reset_after_fork() -> None:
    for store in list(_STORES):
        store._after_fork()


os.register_at_fork(after_in_child=_reset_after_fork)
