"""Proof of consent: one receipt per decision, kept in SQLite or PostgreSQL.

The signed cookie is the visitor's copy of their choice; a receipt is the
site's. It holds what GDPR Art. 7(1) asks a site to be able to show — when,
which policy revision and banner text, which categories were granted and
refused, through which control, whether a GPC signal applied — and nothing
that identifies a person beyond the random consent id: no IP address, no user
agent.

SQLAlchemy Core gives one code path for the embedded SQLite file and for a
PostgreSQL server shared by several app servers, with pooling and dialect
differences handled by a well-kept library. A store that is down never breaks
the visitor's request: the receipt goes to a bounded local spool file and is
written with the next receipt that gets through.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine, make_url
    from sqlalchemy.exc import SQLAlchemyError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "consent receipts need SQLAlchemy: pip install 'flask-consent-banner[receipts]'"
    ) from exc

logger = logging.getLogger("consent.receipts")

#: Bumped whenever the table layout changes; stored in ``consent_receipts_schema``.
SCHEMA_VERSION = 1

#: What a form's ``control`` field may name (the UI element that was used).
CONTROLS = frozenset({"banner", "settings", "embed", "api"})

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


@dataclass(frozen=True)
class Receipt:
    """One decision, as the site keeps it."""

    consent_id: str
    revision: str
    banner_fingerprint: str
    locale: str
    granted: tuple[str, ...]
    refused: tuple[str, ...]
    action: str
    control: str
    gpc: bool = False
    withdrawal: bool = False
    reconsent: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    receipt_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["granted"] = " ".join(self.granted)
        row["refused"] = " ".join(self.refused)
        return row

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["granted"] = list(self.granted)
        data["refused"] = list(self.refused)
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
            action=row.action,
            control=row.control,
            gpc=bool(row.gpc),
            withdrawal=bool(row.withdrawal),
            reconsent=bool(row.reconsent),
            created_at=created,
            receipt_id=row.receipt_id,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Receipt:
        data = dict(data)
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        data["granted"] = tuple(data["granted"])
        data["refused"] = tuple(data["refused"])
        return cls(**data)


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
            path.parent.mkdir(parents=True, exist_ok=True)
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


class ReceiptStore:
    """Writes and reads receipts; the database is reached lazily and on demand."""

    def __init__(self, url: str, spool_path: str | Path, spool_max: int = 10_000) -> None:
        self.url = url
        self.spool_path = Path(spool_path)
        self.spool_max = spool_max
        self._engine: Engine | None = None
        self._ready = False
        self._lock = threading.Lock()

    # -- connection ---------------------------------------------------------
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = _create_engine(self.url)
            if not self._ready:
                self._create_schema(self._engine)
                self._ready = True
            return self._engine

    @staticmethod
    def _create_schema(engine: Engine) -> None:
        metadata.create_all(engine, checkfirst=True)
        with engine.begin() as conn:
            version = conn.execute(sa.select(schema_table.c.version)).scalar()
            if version is None:
                conn.execute(schema_table.insert().values(version=SCHEMA_VERSION))
            elif version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"the receipts table is at schema {version}, newer than this"
                    f" version of the package understands ({SCHEMA_VERSION})"
                )

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    # -- writing ------------------------------------------------------------
    def record(self, receipt: Receipt) -> bool:
        """Store a receipt; if the store is down, spool it. Never raises."""
        try:
            self.flush_spool()
            self._insert([receipt])
        except (SQLAlchemyError, OSError, RuntimeError) as exc:
            logger.warning("consent receipt spooled, store unavailable: %s", exc)
            self._spool(receipt)
            return False
        return True

    def _insert(self, receipts: list[Receipt]) -> int:
        if not receipts:
            return 0
        ids = [r.receipt_id for r in receipts]
        with self.engine().begin() as conn:
            # A receipt already stored (a spool flushed twice) is skipped.
            stored = set(
                conn.execute(
                    sa.select(receipts_table.c.receipt_id).where(
                        receipts_table.c.receipt_id.in_(ids)
                    )
                ).scalars()
            )
            rows = [r.as_row() for r in receipts if r.receipt_id not in stored]
            if rows:
                conn.execute(receipts_table.insert(), rows)
        return len(rows)

    def _spool(self, receipt: Receipt) -> None:
        try:
            self.spool_path.parent.mkdir(parents=True, exist_ok=True)
            with self.spool_path.open("a+", encoding="utf-8") as spool:
                fcntl.flock(spool, fcntl.LOCK_EX)
                spool.seek(0)
                count = sum(1 for _ in spool)
                if count >= self.spool_max:
                    logger.error(
                        "consent receipt LOST: the spool %s holds %d receipts (the limit);"
                        " bring the receipt store back",
                        self.spool_path,
                        count,
                    )
                    return
                spool.write(json.dumps(receipt.as_json()) + "\n")
        except OSError as exc:
            logger.error(
                "consent receipt LOST: cannot write the spool %s: %s", self.spool_path, exc
            )

    def spooled(self) -> int:
        """How many receipts wait in the spool."""
        try:
            with self.spool_path.open(encoding="utf-8") as spool:
                return sum(1 for line in spool if line.strip())
        except FileNotFoundError:
            return 0

    def flush_spool(self) -> int:
        """Write spooled receipts to the store, then empty the spool."""
        try:
            if self.spool_path.stat().st_size == 0:
                return 0
        except FileNotFoundError:
            return 0
        with self.spool_path.open("r+", encoding="utf-8") as spool:
            fcntl.flock(spool, fcntl.LOCK_EX)
            pending = [Receipt.from_json(json.loads(line)) for line in spool if line.strip()]
            written = self._insert(pending)
            spool.seek(0)
            spool.truncate()
        if pending:
            logger.info("consent receipts: %d spooled receipt(s) written", written)
        return written

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
        """Opt-in figures per day or per category, from one streaming pass."""
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
            for receipt in self.export(since):
                for cid in receipt.granted:
                    granted[cid] += 1
                    asked[cid] += 1
                for cid in receipt.refused:
                    asked[cid] += 1
            return [
                {
                    "category": cid,
                    "decisions": asked[cid],
                    "granted": granted[cid],
                    "opt_in_rate": round(granted[cid] / asked[cid], 4),
                }
                for cid in sorted(asked)
            ]
        raise ValueError("stats are by 'day' or by 'category'")


def _create_engine(url: str) -> Engine:
    if make_url(url).drivername.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets several worker processes write without blocking readers.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)
