"""The spool: receipts waiting for the store, in a local SQLite file of their own.

A store that is down must not slow or fail a visitor's decision, nor lose the
receipt: appending here costs the same however many wait, survives a crash,
and what cannot be read (a torn line of an earlier version's JSON-lines
spool, a damaged file) is set aside for a person rather than blocking the rest.
The spool knows entries only as an id and a text; ``consent.receipts`` says
what they mean.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger("consent.receipts")

#: An entry's id and its text, from raw bytes or a line (``ValueError``: not an entry).
ReadEntry = Callable[[str | bytes], tuple[str, str]]

FileId = tuple[int, int]


def file_id(path: Path) -> FileId | None:
    """Which file ``path`` names right now (device and inode), or ``None``."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


_SPOOL_TABLE = (
    "CREATE TABLE IF NOT EXISTS spooled_receipts ("
    " seq INTEGER PRIMARY KEY, receipt_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)"
)
# Each bound is one b-tree lookup; rows only ever leave from the front, so
# last - first + 1 is the number of rows.
_SPOOL_SIZE = (
    "SELECT coalesce((SELECT max(seq) FROM spooled_receipts)"
    " - (SELECT min(seq) FROM spooled_receipts) + 1, 0)"
)
_SPOOL_APPEND = (
    "INSERT OR IGNORE INTO spooled_receipts (receipt_id, body)"
    f" SELECT ?, ? WHERE ({_SPOOL_SIZE}) < ?"
)
_SQLITE_HEADER = b"SQLite format 3\x00"
_DAMAGED = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


def _damaged(exc: sqlite3.Error) -> bool:
    """A file that is not (or no longer) a sound SQLite database."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    return type(exc) is sqlite3.DatabaseError or name.startswith(tuple(_DAMAGED))


@contextlib.contextmanager
def _file_lock(path: Path, *, blocking: bool = True) -> Iterator[bool]:
    """An ``flock`` on ``path`` (created when missing); yields ``False`` when
    ``blocking`` is off and another process holds it."""
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Spool:
    """Receipts waiting for the store, in a local SQLite file of their own.

    Appending costs the same however many wait: one indexed insert whose size
    check reads the first and last sequence number. WAL with ``synchronous=FULL``
    keeps a spooled receipt through a crash of the process or the machine. Each
    process keeps one connection, and opens a new one when the path no longer
    names the file it opened (removed, replaced, or set aside as damaged).
    """

    def __init__(self, path: Path, limit: int, read_entry: ReadEntry) -> None:
        self.path = path
        self.limit = limit
        #: An entry's id and its text as it is kept, from a line of an earlier
        #: version's spool or bytes found in a damaged one; ``ValueError`` if not one.
        self.read_entry = read_entry
        #: Entries that cannot be read as receipts, one per line, kept for a person.
        self.unreadable_path = path.with_name(path.name + ".unreadable")
        self._lock_path = path.with_name(path.name + ".lock")
        self._flush_lock_path = path.with_name(path.name + ".flushing")
        self._mutex = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._db_file: FileId | None = None

    def after_fork(self) -> None:
        """A forked child must not use its parent's connection (nor close it)."""
        self._mutex = threading.RLock()
        if self._db is not None:
            _INHERITED.append(self._db)
        self._db = None

    def close(self) -> None:
        with self._mutex:
            if self._db is not None:
                self._db.close()
            self._db = None

    # -- writing -----------------------------------------------------------------
    def append(self, receipt_id: str, body: str) -> bool:
        """Queue one receipt; ``False`` when the spool is full. Raises
        ``sqlite3.Error`` or ``OSError`` when the spool cannot be written."""
        with self._mutex:
            for _ in range(3):
                queued = bool(self._run(lambda db: self._append(db, receipt_id, body)))
                if not queued or file_id(self.path) == self._db_file:
                    return queued
                # The file was moved away after the write: write it again into
                # the one at the path (the receipt id makes that idempotent).
                self._forget()
            raise OSError(f"the spool {self.path} keeps being replaced")

    def _append(self, db: sqlite3.Connection, receipt_id: str, body: str) -> bool:
        if db.execute(_SPOOL_SIZE).fetchone()[0] >= self.limit:
            return False
        if db.execute(_SPOOL_APPEND, (receipt_id, body, self.limit)).rowcount:
            return True
        exists = db.execute(
            "SELECT 1 FROM spooled_receipts WHERE receipt_id = ?", (receipt_id,)
        ).fetchone()
        return exists is not None

    def extend(self, db: sqlite3.Connection, entries: Sequence[tuple[str, str]]) -> None:
        """Queue many receipts in one transaction, beyond the limit (taken over, not new)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR IGNORE INTO spooled_receipts (receipt_id, body) VALUES (?, ?)", entries
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def set_aside(self, entries: Sequence[bytes], why: str) -> None:
        """Keep what cannot be read beside the spool, and say so once, at ERROR."""
        if not entries:
            return
        try:
            self.unreadable_path.parent.mkdir(parents=True, exist_ok=True)
            with self.unreadable_path.open("ab") as out:
                for entry in entries:
                    out.write(entry.rstrip(b"\r\n") + b"\n")
        except OSError as exc:
            logger.error(
                "consent receipts: %d spooled entr%s cannot be read (%s) nor kept in %s (%s): %r",
                len(entries),
                "y" if len(entries) == 1 else "ies",
                why,
                self.unreadable_path,
                exc,
                entries,
            )
            return
        logger.error(
            "consent receipts: %d spooled entr%s cannot be read (%s); set aside in %s,"
            " the rest of the spool is written as usual",
            len(entries),
            "y" if len(entries) == 1 else "ies",
            why,
            self.unreadable_path,
        )

    # -- reading -----------------------------------------------------------------
    def size(self) -> int:
        """How many receipts wait (0 when there is no spool file)."""
        with self._mutex:
            if self._db is None and not self.path.exists():
                return 0
            return int(self._run(lambda db: db.execute(_SPOOL_SIZE).fetchone()[0]))

    def head(self, n: int) -> list[tuple[int, str]]:
        """The oldest ``n`` entries, as (sequence number, body)."""
        with self._mutex:
            if self._db is None and not self.path.exists():
                return []
            rows = self._run(
                lambda db: db.execute(
                    "SELECT seq, body FROM spooled_receipts ORDER BY seq LIMIT ?", (n,)
                ).fetchall()
            )
            return [(int(seq), str(body)) for seq, body in rows]

    def drop_through(self, seq: int) -> None:
        """Forget every entry up to and including ``seq`` (they are stored or set aside)."""
        with self._mutex:
            self._run(lambda db: db.execute("DELETE FROM spooled_receipts WHERE seq <= ?", (seq,)))

    def flushing(self, *, blocking: bool) -> contextlib.AbstractContextManager[bool]:
        """One flush at a time per spool file, across processes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return _file_lock(self._flush_lock_path, blocking=blocking)

    # -- the file ------------------------------------------------------------------
    def _run(self, operation: Callable[[sqlite3.Connection], Any]) -> Any:
        """``operation`` on this process's connection; a damaged file is set aside
        (keeping every row still readable) and the operation runs once more."""
        seen = file_id(self.path)
        try:
            return operation(self._connection())
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise
            self._recover(exc, seen)
        return operation(self._connection())

    def _connection(self) -> sqlite3.Connection:
        if self._db is not None and file_id(self.path) == self._db_file:
            return self._db
        self._forget()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One process at a time: two creating the file at once may see "database
        # is locked" while it turns to WAL, and a takeover must happen once.
        with _file_lock(self._lock_path):
            self._take_over_legacy()
            return self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA secure_delete=ON")
            db.execute(_SPOOL_TABLE)
        except BaseException:
            db.close()
            raise
        self._db, self._db_file = db, file_id(self.path)
        return db

    def _forget(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = self._db_file = None

    @property
    def _legacy_path(self) -> Path:
        return self.path.with_name(self.path.name + ".jsonl-taken-over")

    def _legacy_waiting(self) -> bool:
        """A JSON-lines spool of an earlier version at the path (or half taken over)."""
        if self._legacy_path.exists():
            return True
        try:
            with self.path.open("rb") as spool:
                head = spool.read(len(_SQLITE_HEADER))
        except FileNotFoundError:
            return False
        return bool(head) and head != _SQLITE_HEADER

    def _take_over_legacy(self) -> None:
        """Queue the readable lines of an earlier version's JSON-lines spool and set
        the others aside. The file is renamed first, so a crash part way through
        leaves it to be read again (the receipt ids make that idempotent)."""
        if not self._legacy_waiting():
            return
        if not self._legacy_path.exists():
            os.replace(self.path, self._legacy_path)
        entries: list[tuple[str, str]] = []
        unreadable: list[bytes] = []
        with self._legacy_path.open("rb") as old:
            for line in old:
                if not line.strip():
                    continue
                try:
                    entries.append(self.read_entry(line))
                except ValueError:
                    unreadable.append(line)
        self.set_aside(unreadable, "a torn or foreign line in an earlier version's spool")
        db = self._open()
        self.extend(db, entries)
        self._legacy_path.unlink()
        logger.warning(
            "consent receipts: took over %d receipt(s) from the JSON-lines spool of an"
            " earlier version at %s",
            len(entries),
            self.path,
        )

    def _recover(self, exc: sqlite3.Error, damaged: FileId | None) -> None:
        """Set the damaged spool file (``damaged``, with its WAL) aside, start a new
        one holding every receipt still readable in it, and log it once at ERROR."""
        with _file_lock(self._lock_path):
            self._forget()
            if damaged is None or file_id(self.path) != damaged:
                return  # another process has set it aside already
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
            rows = _salvage(aside, self.read_entry)
            self.extend(self._open(), rows)
        logger.error(
            "consent receipts: the spool %s is damaged (%s); it is kept as %s and the %d"
            " receipt(s) still readable in it are queued again (for the rest, try"
            " `sqlite3 %s .recover`)",
            self.path,
            exc,
            aside,
            len(rows),
            aside,
        )


#: Connections a forked child inherited: never used, never closed (closing one
#: could disturb the parent's locks on the file).
_INHERITED: list[sqlite3.Connection] = []


#: A spooled body: one flat JSON object (``read_entry`` says whether it is one of ours).
_BODY = re.compile(rb"\{[^{}]*\}")


def _salvage(path: Path, read_entry: ReadEntry) -> list[tuple[str, str]]:
    """Every receipt still readable in a damaged spool file and its WAL.

    The bytes are searched rather than the b-tree walked: one damaged page can cut
    a walk short anywhere. Each body is small enough to lie whole in one page, and
    deleted rows are zeroed (``secure_delete``), so what is found is a receipt that
    was waiting, or one already stored (skipped by its id).
    """
    found: dict[str, str] = {}
    for part in (path, Path(f"{path}-wal")):
        try:
            data = part.read_bytes()
        except OSError:
            continue
        for match in _BODY.finditer(data):
            try:
                key, body = read_entry(match.group())
            except ValueError:
                continue
            found[key] = body
    return list(found.items())
