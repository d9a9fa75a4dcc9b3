"""Receipts under faults, through real requests: every decision is answered, and
exactly one receipt is stored for each (none lost, none doubled).

These run with Flask's test client, in a few seconds each. The same faults
under gunicorn with concurrent clients, PostgreSQL killed mid-load among them,
are in ``test_receipt_faults_load.py`` (``make faults``).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from consent.receipts import (
    CONNECT_TIMEOUT,
    Receipt,
    ReceiptStore,
    receipt_from_text,
    receipt_text,
    spool_entry,
)
from consent.spool import _SPOOL_APPEND, _SPOOL_SIZE, Spool
from tests.postgres_cluster import PostgresCluster, postgres_cluster, skip_or_fail
from tests.test_receipts import app_for, down_url, receipt, store_of, wait_until

ROOT = Path(__file__).resolve().parent.parent
JSON = {"Accept": "application/json"}
ACTIONS = ("accept", "decline", "save")


@pytest.fixture(autouse=True)
def dispose_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Stop every store's flusher and close its pools when the test ends."""
    opened: list[ReceiptStore] = []
    original = ReceiptStore.__init__

    def tracking(self: ReceiptStore, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.retry_first = 0.1  # the tests wait for recovery: keep it short
        opened.append(self)

    monkeypatch.setattr(ReceiptStore, "__init__", tracking)
    yield
    for store in opened:
        store.dispose()


@dataclass(frozen=True)
class Audit:
    """Decisions answered against receipts stored, per visitor."""

    decisions: int
    stored: int
    lost: int
    doubled: int
    failed: int = 0  # requests not answered with success

    def exact(self) -> bool:
        return self.lost == 0 and self.doubled == 0 and self.failed == 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def audit(stored: list[Receipt], answered: Counter[str], failed: int = 0) -> Audit:
    """Compare the receipts of these visitors with the decisions they got answers to."""
    per_visitor = Counter(r.consent_id for r in stored if r.consent_id in answered)
    ids = Counter(r.receipt_id for r in stored)
    assert max(ids.values(), default=1) == 1, "a receipt id stored twice"
    return Audit(
        decisions=sum(answered.values()),
        stored=sum(per_visitor.values()),
        lost=sum(max(0, n - per_visitor[c]) for c, n in answered.items()),
        doubled=sum(max(0, per_visitor[c] - n) for c, n in answered.items()),
        failed=failed,
    )


class Visitors:
    """A few visitors of one app, each with its cookie, posting decisions the way
    the banner's script does; counts the decisions answered."""

    def __init__(self, app: Flask, count: int = 3) -> None:
        self.clients = [app.test_client() for _ in range(count)]
        self.answered: Counter[str] = Counter()
        self.failed = 0

    def decide(self, rounds: int = 1) -> None:
        for n in range(rounds):
            for client in self.clients:
                action = ACTIONS[n % len(ACTIONS)]
                form = {"category": "analytics"} if action == "save" else {}
                response = client.post(f"/consent/{action}", data=form, headers=JSON)
                if response.status_code != 200:
                    self.failed += 1
                    continue
                self.answered[response.get_json()["consent_id"]] += 1

    def audit(self, store: ReceiptStore) -> Audit:
        return audit(list(store.export()), self.answered, self.failed)


def legacy_lines(count: int, consent_id: str = "L" * 16) -> list[str]:
    """Spool lines as version 1 of the package wrote them (no ``unanswered``)."""
    lines = []
    for _ in range(count):
        data = receipt(consent_id=consent_id).as_json()
        del data["unanswered"]
        lines.append(json.dumps(data))
    return lines


# -- a torn or damaged spool -------------------------------------------------------


@pytest.mark.parametrize("where", ["last line", "middle line"])
def test_a_torn_spool_of_an_earlier_version_breaks_no_decision(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    """Version 1 crashed mid-write: its JSON-lines spool ends (or has, further up) half
    a line. Every decision is still answered, the readable lines are taken over and
    written, and the torn one is set aside beside the spool."""
    spool = tmp_path / "consent-receipts.spool"
    good = legacy_lines(6)
    torn = good[2][: len(good[2]) // 2]
    if where == "last line":
        spool.write_text("\n".join(good) + "\n" + torn)
    else:
        spool.write_text("\n".join([*good[:3], torn, *good[3:]]) + "\n")
    app = app_for(
        f"sqlite:///{tmp_path / 'db' / 'r.db'}", tmp_path, CONSENT_RECEIPTS_SPOOL=str(spool)
    )
    store = store_of(app)
    caplog.set_level(logging.INFO, logger="consent.receipts")

    visitors = Visitors(app)
    visitors.decide(rounds=3)
    wait_until(lambda: store.spooled() == 0 and store.count() == 6 + 9)
    assert visitors.audit(store) == Audit(decisions=9, stored=9, lost=0, doubled=0)
    assert sum(r.consent_id == "L" * 16 for r in store.export()) == 6
    assert store.spool.unreadable_path.read_text() == torn + "\n"
    set_aside = [r for r in caplog.records if "set aside" in r.getMessage()]
    assert [r.levelno for r in set_aside] == [logging.ERROR]
    assert spool.read_bytes().startswith(b"SQLite format 3\x00")

    result = app.test_cli_runner().invoke(args=["consent", "receipts", "flush"])
    assert result.exit_code == 0, result.output


def test_flush_takes_over_a_torn_spool_too(tmp_path: Path) -> None:
    """``flask consent receipts flush`` on a torn spool: no JSONDecodeError, the good
    receipts behind the bad line are written."""
    spool = tmp_path / "old.spool"
    good = legacy_lines(3)
    spool.write_text(good[0] + "\n" + '{"consent_id": "x", "revis\n' + good[1] + "\n" + good[2])
    app = app_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, CONSENT_RECEIPTS_SPOOL=str(spool))
    result = app.test_cli_runner().invoke(args=["consent", "receipts", "flush"])
    assert result.exit_code == 0, result.output
    assert "wrote 3 spooled receipt(s)" in result.output
    assert "old.spool.unreadable" in result.output
    assert store_of(app).count() == 3


def test_a_damaged_spool_file_is_set_aside_and_what_is_readable_flushes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The spool's own SQLite file is cut in half (a disk fault): decisions are still
    answered and spooled into a new file; the damaged one is kept beside it and every
    receipt still readable in it is written."""
    db_dir = tmp_path / "db"
    app = app_for(f"sqlite:///{db_dir / 'r.db'}", tmp_path)
    store = store_of(app)
    visitors = Visitors(app)
    visitors.decide()
    spool = store.spool
    flushed = [receipt() for _ in range(5)]
    for one in flushed:
        store._spool(one)
    assert store.flush_spool() == 5
    spool._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = store.spool_path.read_bytes()
    assert not [one for one in flushed if one.receipt_id.encode() in raw], "still in the file"
    away = tmp_path / "away"
    db_dir.rename(away)  # an outage, so that receipts are spooled
    spool.extend(
        spool._connection(),
        [(r.receipt_id, receipt_text(r)) for r in (receipt() for _ in range(3000))],
    )
    spool._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    spool.close()  # the damage is found by the next process to open the file
    size = store.spool_path.stat().st_size
    with store.spool_path.open("r+b") as file:
        file.truncate(size // 2)
    caplog.set_level(logging.ERROR, logger="consent.receipts")
    during = Visitors(app)
    during.decide(rounds=2)
    assert during.failed == 0
    damaged = list(tmp_path.glob("spool/*.damaged-*"))
    assert damaged, "the damaged spool is kept"
    assert "is damaged" in caplog.text
    salvaged = store.spooled() - 6
    waiting = {receipt_from_text(body).receipt_id for _, body in spool.head(10_000)}
    assert not waiting & {one.receipt_id for one in flushed}, "a stored receipt came back"

    away.rename(db_dir)
    wait_until(lambda: store.spooled() == 0)
    assert visitors.audit(store).exact()
    assert during.audit(store) == Audit(decisions=6, stored=6, lost=0, doubled=0)
    assert 1000 < salvaged <= 3000
    assert store.count() == 3 + 5 + 6 + salvaged


# -- a full spool ----------------------------------------------------------------------


def test_a_full_spool_logs_each_lost_receipt_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Past CONSENT_RECEIPTS_SPOOL_MAX a receipt is LOST, at ERROR, with its full JSON:
    what the spool kept and what the log kept add up to every decision."""
    db_dir = tmp_path / "db"
    app = app_for(f"sqlite:///{db_dir / 'r.db'}", tmp_path, CONSENT_RECEIPTS_SPOOL_MAX=4)
    store = store_of(app)
    db_dir.rmdir()
    caplog.set_level(logging.ERROR, logger="consent.receipts")
    visitors = Visitors(app)
    visitors.decide(rounds=4)
    assert visitors.failed == 0
    assert store.spooled() == 4
    lost_lines = [
        r.getMessage() for r in caplog.records if "consent receipt LOST" in r.getMessage()
    ]
    assert len(lost_lines) == 12 - 4
    assert all("CONSENT_RECEIPTS_SPOOL_MAX" in line for line in lost_lines)
    from_log = [
        Receipt.from_json(json.loads(line[line.index('{"consent_id"') :])) for line in lost_lines
    ]

    db_dir.mkdir()
    wait_until(lambda: store.spooled() == 0)
    stored = list(store.export())
    assert len(stored) == 4
    assert audit(stored + from_log, visitors.answered) == Audit(12, 12, 0, 0)


def test_a_spool_that_cannot_be_written_logs_each_receipt_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app = app_for(down_url(), tmp_path, CONSENT_RECEIPTS_SPOOL=str(blocker / "spool"))
    caplog.set_level(logging.ERROR, logger="consent.receipts")
    visitors = Visitors(app)
    visitors.decide()
    assert visitors.failed == 0
    lost = [r.getMessage() for r in caplog.records if "consent receipt LOST" in r.getMessage()]
    assert len(lost) == 3
    assert "cannot write the spool" in lost[0]
    ids = {
        Receipt.from_json(json.loads(line[line.index('{"consent_id"') :])).consent_id
        for line in lost
    }
    assert ids == set(visitors.answered)


def test_record_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Whatever goes wrong on the receipt path, the visitor's request is not its victim."""
    store = ReceiptStore(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "spool")
    caplog.set_level(logging.ERROR, logger="consent.receipts")
    broken = receipt(created_at="not a time")  # type: ignore[arg-type]
    assert store.record(broken) is False
    assert "consent receipt LOST" in caplog.text
    assert "not a time" in caplog.text
    assert store.record(receipt()) is True


# -- the SQLite store's folder -----------------------------------------------------------


@pytest.mark.parametrize("how", ["removed and made again", "moved away and back"])
def test_sqlite_folder_removed_and_put_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    """The pooled connection would go on writing into the deleted file: those writes
    do not count; the receipts are spooled and written to the file at the path once
    its folder is back."""
    db_dir = tmp_path / "db"
    app = app_for(f"sqlite:///{db_dir / 'r.db'}", tmp_path)
    store = store_of(app)
    before = Visitors(app)
    before.decide(rounds=2)
    assert before.audit(store).exact()
    caplog.set_level(logging.WARNING, logger="consent.receipts")

    away = tmp_path / "away"
    if how == "removed and made again":
        shutil.rmtree(db_dir)
    else:
        db_dir.rename(away)
    during = Visitors(app)
    during.decide(rounds=3)
    assert during.failed == 0
    assert store.spooled() == 9
    gone = [r for r in caplog.records if "is no longer the file" in r.getMessage()]
    assert gone
    assert gone[0].levelno == logging.ERROR

    if how == "removed and made again":
        db_dir.mkdir()
    else:
        away.rename(db_dir)
    wait_until(lambda: store.spooled() == 0)
    after = Visitors(app)
    after.decide()
    assert during.audit(store) == Audit(decisions=9, stored=9, lost=0, doubled=0)
    assert after.audit(store).exact()
    if how == "moved away and back":
        assert before.audit(store).exact()
    assert "the store is back" in caplog.text


def test_sqlite_folder_read_only(tmp_path: Path) -> None:
    """The store's folder (and file) turn read-only, the spool lives elsewhere: every
    decision is answered, spooled, and written once the folder is writable again.

    Root ignores permissions, so as root the scenario runs in a child process
    without the capabilities that bypass them (``setpriv``)."""
    result = run_unprivileged(read_only_scenario, tmp_path)
    assert result["refused_write"], "the folder was not read-only for the app"
    assert Audit(**result["during"]) == Audit(decisions=6, stored=6, lost=0, doubled=0)
    assert Audit(**result["before"]).exact()


def run_unprivileged(scenario: Any, root: Path) -> dict[str, Any]:
    """Run ``scenario(root)`` in a child process for which file permissions hold."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            skip_or_fail("as root this needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
        caps = "-dac_override,-dac_read_search"
        prefix = [str(setpriv), f"--bounding-set={caps}", f"--inh-caps={caps}", "--"]
    code = (
        "import json, sys; from pathlib import Path;"
        f" from {scenario.__module__} import {scenario.__name__} as run;"
        " print('RESULT ' + json.dumps(run(Path(sys.argv[1]))))"
    )
    done = subprocess.run(
        [*prefix, sys.executable, "-c", code, str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT "))
    data: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return data


def read_only_scenario(root: Path) -> dict[str, Any]:
    db_dir = root / "db"
    url = f"sqlite:///{db_dir / 'r.db'}"
    first = app_for(url, root)
    before = Visitors(first)
    before.decide()
    store_of(first).dispose()  # that worker ends; the next one finds the folder read-only
    for path in (db_dir / "r.db", db_dir):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        (db_dir / "probe").touch()
        refused_write = False
    except PermissionError:
        refused_write = True
    app = app_for(url, root)
    store = store_of(app)
    store.retry_first = 0.1
    during = Visitors(app)
    during.decide(rounds=2)
    spooled = store.spooled()
    db_dir.chmod(0o755)
    (db_dir / "r.db").chmod(0o644)
    wait_until(lambda: store.spooled() == 0)
    result = {
        "refused_write": refused_write,
        "spooled": spooled,
        "before": before.audit(store).as_dict(),
        "during": during.audit(store).as_dict(),
    }
    store.dispose()
    return result


# -- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL server of this module's own, which its tests may kill."""
    with postgres_cluster() as server:
        yield server


def test_postgres_killed_and_restarted(
    cluster: PostgresCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = cluster.create_database("killed")
    app = app_for(url, tmp_path)
    store = store_of(app)
    visitors = Visitors(app)
    visitors.decide(rounds=2)
    caplog.set_level(logging.WARNING, logger="consent.receipts")
    cluster.kill()
    visitors.decide(rounds=3)
    assert visitors.failed == 0
    assert store.spooled() == 9
    cluster.start()
    wait_until(lambda: store.spooled() == 0)
    visitors.decide()
    assert visitors.audit(store) == Audit(decisions=18, stored=18, lost=0, doubled=0)
    assert "the store is back" in caplog.text


class Listener:
    """A TCP port standing in for a store that is down in one of two ways: it
    accepts connections and never answers (hung, or black-holed), or it accepts
    and hangs up at once. Counts the connections made to it."""

    def __init__(self, *, answer: bool) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.connections = 0
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, args=(answer,), daemon=True)
        self._thread.start()

    def _accept(self, hang_up: bool) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            if hang_up:
                conn.close()
            else:
                self._held.append(conn)

    def close(self) -> None:
        self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept() in our thread
        self.server.close()
        for conn in self._held:
            conn.close()
        self._thread.join(5)


@pytest.fixture
def silent_store() -> Iterator[Listener]:
    listener = Listener(answer=False)
    yield listener
    listener.close()


@pytest.fixture
def refusing_store() -> Iterator[Listener]:
    listener = Listener(answer=True)
    yield listener
    listener.close()


def test_a_silent_postgres_holds_one_decision_for_the_connect_timeout_only(
    tmp_path: Path, silent_store: Listener
) -> None:
    """Without a connect timeout, a decision waits on a store that never answers for
    as long as TCP lets it; with it, the first decision waits CONNECT_TIMEOUT and
    the next ones, the store being known down, not at all."""
    app = app_for(f"postgresql://u:p@127.0.0.1:{silent_store.port}/db", tmp_path)
    store_of(app).retry_first = 60.0  # no background try while we time the decisions
    client = app.test_client()
    answered: list[float] = []

    def decide() -> None:
        for _ in range(5):
            start = time.monotonic()
            assert client.post("/consent/accept", headers=JSON).status_code == 200
            answered.append(time.monotonic() - start)

    thread = threading.Thread(target=decide, daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT * 4)
    assert not thread.is_alive(), f"decisions still waiting; answered so far: {answered}"
    assert answered[0] < CONNECT_TIMEOUT * 3
    assert max(answered[1:]) < 1.0
    assert store_of(app).spooled() == 5


def test_a_store_known_to_be_down_is_not_tried_on_every_decision(
    tmp_path: Path, refusing_store: Listener
) -> None:
    """One try, then retries on the flusher's schedule: 200 decisions in a row make
    one connection attempt, not 200."""
    app = app_for(f"postgresql://u:p@127.0.0.1:{refusing_store.port}/db", tmp_path)
    store = store_of(app)
    store.retry_first = 60.0
    client = app.test_client()
    for _ in range(200):
        assert client.post("/consent/decline", headers=JSON).status_code == 200
    assert store.spooled() == 200
    assert refusing_store.connections == 1


def test_spooling_costs_the_same_whatever_the_spool_holds(tmp_path: Path) -> None:
    """Counted in SQLite virtual-machine steps (exact, unlike a clock): appending to
    a spool of 50,000 receipts costs what appending to one of 10 does."""
    store = ReceiptStore(down_url(), tmp_path / "spool", spool_max=100_000)
    spool = store.spool

    def steps_per_append(count: int) -> float:
        spool.extend(spool._connection(), [(f"fill-{count}-{i}", "{}") for i in range(count)])
        db = spool._connection()
        steps = 0

        def step() -> int:
            nonlocal steps
            steps += 1
            return 0

        db.set_progress_handler(step, 1)
        for _ in range(20):
            spool.append(receipt().receipt_id, "{}")
        db.set_progress_handler(None, 1)
        spool.drop_through(2**62)
        return steps / 20

    small, large = steps_per_append(10), steps_per_append(50_000)
    assert large < small * 1.2 + 10, (small, large)
    # And no statement of an append reads the table through (a COUNT(*) would
    # count in one step, but over every row).
    db = spool._connection()
    for statement, args in ((_SPOOL_SIZE, ()), (_SPOOL_APPEND, ("id", "{}", 10))):
        plan = [row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {statement}", args)]
        assert not [step for step in plan if step.startswith("SCAN spooled")], plan


def test_a_forked_worker_gets_its_own_flusher_and_connections(tmp_path: Path) -> None:
    """gunicorn forks its workers: the child must not lean on its parent's thread,
    pool or spool connection."""
    app = app_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)
    store = store_of(app)
    assert store.record(receipt()) is True
    assert store._flusher is not None
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            if store._flusher is None and store.record(receipt(consent_id="CHILD")):
                code = 0 if store._flusher is not None and store._flusher.is_alive() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [r.consent_id for r in store.history("CHILD")] == ["CHILD"]


def test_sqlite_spool_survives_a_killed_process(tmp_path: Path) -> None:
    """A worker killed with SIGKILL while it spools leaves a spool that opens and
    flushes (WAL): no torn entry, nothing lost that was acknowledged."""
    spool = tmp_path / "spool"
    code = (
        "import sys; from pathlib import Path; from tests.test_receipts import receipt;"
        " from consent.receipts import ReceiptStore, receipt_text;"
        " from tests.test_receipts import down_url;"
        " s = ReceiptStore(down_url(), Path(sys.argv[1]), spool_max=10**9)\n"
        "for n in range(10**9):\n"
        "    r = receipt(); s._spool(r)\n"
        "    print(r.receipt_id, flush=True)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(spool)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        acknowledged = [child.stdout.readline().strip() for _ in range(300)]
        child.kill()
        acknowledged += [line.strip() for line in child.stdout if line.strip()]
    store = ReceiptStore(f"sqlite:///{tmp_path / 'r.db'}", spool)
    assert store.flush_spool() >= len(acknowledged)
    assert {r.receipt_id for r in store.export()} >= set(acknowledged)
    assert not store.spool.unreadable_path.exists()
    with sqlite3.connect(spool) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_write_into_a_file_removed_before_its_commit_does_not_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The folder goes between the connection's checkout and its commit: the commit
    lands in the deleted file, so the receipt is spooled, and stored once the folder
    is back."""
    db_dir = tmp_path / "db"
    app = app_for(f"sqlite:///{db_dir / 'r.db'}", tmp_path)
    store = store_of(app)
    assert store.record(receipt()) is True
    sa.event.listen(store.engine(), "commit", lambda conn: shutil.rmtree(db_dir), once=True)
    caplog.set_level(logging.ERROR, logger="consent.receipts")
    raced = receipt(consent_id="RACED")
    assert store.record(raced) is False
    assert store.spooled() == 1
    assert "is no longer the file the receipts were written to" in caplog.text
    db_dir.mkdir()
    wait_until(lambda: store.spooled() == 0)
    assert [r.receipt_id for r in store.history("RACED")] == [raced.receipt_id]


def _append_at_once(path: str, barrier: Any, n: int) -> bool:
    store = ReceiptStore(down_url(), path)
    barrier.wait()
    return store.spool.append(f"process-{n}", "{}")


def test_processes_that_create_the_spool_at_once_all_queue(tmp_path: Path) -> None:
    """gunicorn's workers meet a spool that does not exist yet at the same moment:
    none of them may fail with "database is locked" while the file turns to WAL."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(8) as pool:
        for attempt in range(5):
            path = str(tmp_path / f"spool-{attempt}")
            barrier = manager.Barrier(8)
            queued = pool.starmap(_append_at_once, [(path, barrier, n) for n in range(8)])
            assert queued == [True] * 8
            assert Spool(Path(path), 100, spool_entry).size() == 8
