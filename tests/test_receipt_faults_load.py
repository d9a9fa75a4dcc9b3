"""Receipts under faults with load: the example site under gunicorn (forked sync
workers sharing one spool), visitors posting decisions at once over HTTP, and
the fault struck while they post: PostgreSQL killed with SIGKILL and restarted,
PostgreSQL down until after the load (then ``flask consent receipts flush``),
the SQLite folder read-only or moved away and back, a torn spool, a full spool.

Each decision answered is counted per visitor against the receipts stored for
that visitor: exactly one each, none lost, none doubled. ``make faults`` runs
this module (``CONSENT_FAULTS=1``) and ``bench.faults`` puts its figures in
BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.common import BENCH_SECRET, Gunicorn
from bench.outage import Decisions, legacy_spool, post_decisions
from consent.receipts import Receipt, ReceiptStore, resolve_url, spool_entry
from consent.spool import Spool
from tests.postgres_cluster import PostgresCluster, postgres_cluster, skip_or_fail
from tests.test_receipt_faults import ROOT, Audit, audit
from tests.test_receipts import wait_until

if not os.environ.get("CONSENT_FAULTS"):
    pytest.skip(
        "receipt faults under load run with make faults (CONSENT_FAULTS=1)",
        allow_module_level=True,
    )

pytestmark = pytest.mark.slow

WORKERS = 2
VISITORS = 12
RESULTS = ROOT / "bench" / "faults-results.json"
FIGURES: dict[str, dict[str, Any]] = {}
LOST = "consent receipt LOST"


@pytest.fixture(scope="module", autouse=True)
def record_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the run, write each fault's figures (for BENCHMARKS.md)."""
    started = time.monotonic()
    yield
    RESULTS.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "workers": WORKERS,
                "visitors": VISITORS,
                "faults": FIGURES,
                "failures": request.session.testsfailed,
                "seconds": time.monotonic() - started,
            },
            indent=2,
        )
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL server of this module's own, which its tests may kill."""
    with postgres_cluster() as server:
        yield server


class Site:
    """The example site under gunicorn with its receipts at ``url``."""

    def __init__(
        self, root: Path, url: str, *, spool_max: int = 10_000, wrapper: tuple[str, ...] = ()
    ) -> None:
        self.root = root
        self.url = url
        self.spool = root / "instance" / "consent-receipts.spool"
        self.log = root / "gunicorn.log"
        (root / "instance").mkdir(parents=True, exist_ok=True)
        self.env = {
            "SECRET_KEY": BENCH_SECRET,
            "CONSENT_INSTANCE_PATH": str(root / "instance"),
            "RECEIPTS_URL": url,
            "RECEIPTS_SPOOL": str(self.spool),
            "RECEIPTS_SPOOL_MAX": str(spool_max),
        }
        self.server = Gunicorn(
            "bench.outage:receipts_app()", self.env, self.log, workers=WORKERS, wrapper=wrapper
        )

    def __enter__(self) -> Site:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def spooled(self) -> int:
        return Spool(self.spool, 0, spool_entry).size()

    def receipts(self) -> list[Receipt]:
        store = ReceiptStore(resolve_url(self.url, str(self.root)), self.root / "audit.spool")
        try:
            return list(store.export())
        finally:
            store.dispose()

    def logged_lost(self) -> list[Receipt]:
        text = self.log.read_text(errors="replace")
        return [
            Receipt.from_json(json.loads(line[line.index('{"consent_id"') :]))
            for line in text.splitlines()
            if LOST in line
        ]

    def flask(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``flask consent ...`` on this site, as an operator would run it."""
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "bench.outage:receipts_app()", *args],
            cwd=ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


class Progress:
    """Decisions answered so far, to strike a fault mid-load on a count, not a clock."""

    def __init__(self) -> None:
        self.count = 0
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.count >= count, timeout):
                raise AssertionError(f"only {self.count} of {count} decisions in {timeout} s")


def under_load(site: Site, fault: Callable[[Progress], None]) -> Decisions:
    """Visitors post decisions until ``fault`` (run meanwhile, from the first answer
    on) has done its part; then the load stops."""
    progress = Progress()
    stop = threading.Event()
    posted: list[Decisions] = []
    visitors = threading.Thread(
        target=lambda: posted.append(
            post_decisions(site.server.port, VISITORS, 120, stop=stop, on_answer=progress)
        )
    )
    visitors.start()
    try:
        fault(progress)
    finally:
        stop.set()
        visitors.join(180)
    assert posted, "the visitors did not finish"
    return posted[0]


def record(name: str, decisions: Decisions, result: Audit, started: float, logged: int) -> None:
    FIGURES[name] = {
        **result.as_dict(),
        "lost_logged": logged,
        "seconds": time.monotonic() - started,
    }
    assert decisions.count > 0
    assert result.exact(), result


def test_postgres_killed_mid_load_and_restarted(cluster: PostgresCluster, tmp_path: Path) -> None:
    started = time.monotonic()
    url = cluster.create_database("killed_mid_load")
    with Site(tmp_path, url) as site:

        def fault(progress: Progress) -> None:
            progress.wait_for(300)
            cluster.kill()
            progress.wait_for(progress.count + 300)
            cluster.start()
            progress.wait_for(progress.count + 300)

        decisions = under_load(site, fault)
        wait_until(lambda: site.spooled() == 0, timeout=90)
    result = audit(site.receipts(), decisions.answered, decisions.failed)
    record("PostgreSQL killed (SIGKILL) mid-load, restarted", decisions, result, started, 0)


def test_postgres_down_through_the_load_then_cli_flush(
    cluster: PostgresCluster, tmp_path: Path
) -> None:
    started = time.monotonic()
    url = cluster.create_database("down_then_flush")
    with Site(tmp_path, url) as site:
        cluster.kill()
        decisions = under_load(site, lambda progress: progress.wait_for(600))
    assert site.spooled() == decisions.count
    cluster.start()
    flushed = site.flask("consent", "receipts", "flush")
    assert flushed.returncode == 0, flushed.stdout + flushed.stderr
    assert f"wrote {decisions.count} spooled receipt(s)" in flushed.stdout
    result = audit(site.receipts(), decisions.answered, decisions.failed)
    record(
        "PostgreSQL down during the load, then `flask consent receipts flush`",
        decisions,
        result,
        started,
        0,
    )


def test_sqlite_folder_read_only_under_load(tmp_path: Path) -> None:
    """The workers find the store's folder and file read-only (a volume remounted
    read-only); the spool lives elsewhere. As root, gunicorn runs without the
    capabilities that bypass file permissions."""
    started = time.monotonic()
    wrapper: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            skip_or_fail("as root this needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
        caps = "-dac_override,-dac_read_search"
        wrapper = (str(setpriv), f"--bounding-set={caps}", f"--inh-caps={caps}", "--")
    db_dir = tmp_path / "db"
    url = f"sqlite:///{db_dir / 'r.db'}"
    setup = ReceiptStore(url, tmp_path / "setup.spool")
    assert setup.count() == 0  # the tables exist
    setup.dispose()
    (db_dir / "r.db").chmod(0o444)
    db_dir.chmod(0o555)
    try:
        with Site(tmp_path / "site", url, wrapper=wrapper) as site:

            def fault(progress: Progress) -> None:
                progress.wait_for(400)
                assert site.spooled() > 0, "the folder was not read-only for the workers"
                db_dir.chmod(0o755)
                (db_dir / "r.db").chmod(0o644)
                progress.wait_for(progress.count + 300)

            decisions = under_load(site, fault)
            wait_until(lambda: site.spooled() == 0, timeout=90)
    finally:
        db_dir.chmod(0o755)
    result = audit(site.receipts(), decisions.answered, decisions.failed)
    record(
        "SQLite folder read-only (spool elsewhere), then writable", decisions, result, started, 0
    )


def test_sqlite_folder_moved_away_and_back_under_load(tmp_path: Path) -> None:
    started = time.monotonic()
    db_dir = tmp_path / "db"
    with Site(tmp_path / "site", f"sqlite:///{db_dir / 'r.db'}") as site:

        def fault(progress: Progress) -> None:
            progress.wait_for(300)
            db_dir.rename(tmp_path / "away")
            progress.wait_for(progress.count + 300)
            (tmp_path / "away").rename(db_dir)
            progress.wait_for(progress.count + 300)

        decisions = under_load(site, fault)
        wait_until(lambda: site.spooled() == 0, timeout=90)
    result = audit(site.receipts(), decisions.answered, decisions.failed)
    record("SQLite folder removed (moved away) mid-load, put back", decisions, result, started, 0)


def test_torn_spool_under_load(tmp_path: Path) -> None:
    """An earlier version's JSON-lines spool, its last line torn, is at the spool's
    path when the workers start: no decision fails, the readable lines are written."""
    started = time.monotonic()
    db_dir = tmp_path / "db"
    site = Site(tmp_path / "site", f"sqlite:///{db_dir / 'r.db'}")
    legacy_spool(site.spool, 200)
    with site.spool.open("a") as spool:
        spool.write('{"consent_id": "torn", "revision": "1", "banner_fing')
    with site:
        decisions = under_load(site, lambda progress: progress.wait_for(600))
        wait_until(lambda: site.spooled() == 0, timeout=90)
    stored = site.receipts()
    assert sum(r.consent_id.startswith("spooled") for r in stored) == 200
    assert "torn" in site.spool.with_name(site.spool.name + ".unreadable").read_text()
    result = audit(stored, decisions.answered, decisions.failed)
    record("Torn spool of an earlier version at start-up", decisions, result, started, 0)


def test_full_spool_under_load(tmp_path: Path) -> None:
    """The store is away and the spool full (CONSENT_RECEIPTS_SPOOL_MAX=100): every
    receipt past it is logged at ERROR with its JSON; the spool is written once the
    store is back, and ``flask consent receipts import`` puts the logged ones back."""
    started = time.monotonic()
    db_dir = tmp_path / "db"
    with Site(tmp_path / "site", f"sqlite:///{db_dir / 'r.db'}", spool_max=100) as site:

        def fault(progress: Progress) -> None:
            progress.wait_for(100)  # every worker has started (and made the folder)
            db_dir.rename(tmp_path / "away")
            progress.wait_for(progress.count + 600)
            (tmp_path / "away").rename(db_dir)
            progress.wait_for(progress.count + 300)

        decisions = under_load(site, fault)
        wait_until(lambda: site.spooled() == 0, timeout=90)
    logged = site.logged_lost()
    assert len(logged) >= 600 - 100
    stored = site.receipts()
    assert audit(stored + logged, decisions.answered).exact(), "a receipt neither kept nor logged"
    lost_lines = tmp_path / "lost.log"
    lost_lines.write_text("\n".join(ln for ln in site.log.read_text().splitlines() if LOST in ln))
    imported = site.flask("consent", "receipts", "import", str(lost_lines))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert f"wrote {len(logged)} receipt(s)" in imported.stdout
    result = audit(site.receipts(), decisions.answered, decisions.failed)
    record(
        "Spool full (CONSENT_RECEIPTS_SPOOL_MAX=100) while the store is away",
        decisions,
        result,
        started,
        len(logged),
    )
