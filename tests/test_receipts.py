"""Proof of consent: receipts in a real SQLite file and a real PostgreSQL server.

PostgreSQL tests need ``CONSENT_TEST_POSTGRES_URL`` (an admin URL; ``.ci/run``
starts a server and sets it). Each test gets a database of its own.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from consent import ConfigurationError, Consent
from consent.receipts import Receipt, ReceiptStore, parse_age, receipts_table
from tests.conftest import create_app
from tests.serving import free_port

POSTGRES_ADMIN = os.environ.get("CONSENT_TEST_POSTGRES_URL")
SKIP_PG = (
    "PostgreSQL receipt tests skipped: set CONSENT_TEST_POSTGRES_URL (.ci/postgres.sh prints one)"
)
CATEGORIES = ["analytics", "marketing"]
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def dispose_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every pool a test opened, so no connection is left to the garbage collector."""
    opened: list[ReceiptStore] = []
    original = ReceiptStore.__init__

    def tracking(self: ReceiptStore, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(ReceiptStore, "__init__", tracking)
    yield
    for store in opened:
        store.dispose()


def _pg_admin(*statements: str) -> None:
    """Run statements on the server's admin database (CREATE/DROP DATABASE)."""
    assert POSTGRES_ADMIN
    url = sa.engine.make_url(POSTGRES_ADMIN).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def _pg_url(name: str) -> str:
    assert POSTGRES_ADMIN
    return (
        sa.engine.make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[bool], str]]:
    """``make(create=True)`` → a URL of an empty database (``create=False``: not there yet)."""
    created: list[str] = []
    if request.param == "postgresql" and not POSTGRES_ADMIN:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but CONSENT_TEST_POSTGRES_URL is not set")
        pytest.skip(SKIP_PG)

    def make(create: bool = True) -> str:
        if request.param == "sqlite":
            folder = tmp_path / uuid.uuid4().hex
            if create:
                folder.mkdir()
            return f"sqlite:///{folder / 'receipts.db'}"
        name = f"consent_test_{uuid.uuid4().hex[:12]}"
        if create:
            _pg_admin(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _pg_url(name)

    yield make
    if request.param == "postgresql" and created:
        _pg_admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in created))


def app_for(url: str, tmp_path: Path, **config: Any) -> Flask:
    return create_app(
        **{
            "CONSENT_RECEIPTS_URL": url,
            "CONSENT_RECEIPTS_SPOOL": str(tmp_path / "spool" / f"{uuid.uuid4().hex}.jsonl"),
            "CONSENT_CATEGORIES": CATEGORIES,
            **config,
        }
    )


def store_of(app: Flask) -> ReceiptStore:
    store = app.extensions["consent"].receipts
    assert isinstance(store, ReceiptStore)
    return store


def down_url() -> str:
    """A PostgreSQL URL where nothing listens: a store that is down, at once."""
    return f"postgresql://consent:x@127.0.0.1:{free_port()}/consent"


def wait_until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Poll ``condition`` (the background flusher works on its own schedule)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {condition}")
        time.sleep(0.05)


def receipt(**fields: Any) -> Receipt:
    return Receipt(
        **{
            "consent_id": "A" * 16,
            "revision": "1",
            "banner_fingerprint": "f" * 16,
            "locale": "en",
            "granted": ("analytics",),
            "refused": (),
            "action": "accept",
            "control": "banner",
            **fields,
        }
    )


def test_every_decision_writes_one_receipt(backend: Callable[..., str], tmp_path: Path) -> None:
    app = app_for(backend(), tmp_path)
    client = app.test_client()
    headers = {"Accept-Language": "de", "User-Agent": "Mozilla/5.0 (X11; Linux) TestBrowser/1.0"}
    client.post("/consent/accept", data={"control": "banner"}, headers=headers)
    client.post(
        "/consent/save", data={"category": "analytics", "control": "settings"}, headers=headers
    )
    client.post(
        "/consent/allow", data={"category": "marketing", "control": "embed"}, headers=headers
    )
    client.post("/consent/decline", headers={**headers, "Sec-GPC": "1"})
    consent_id = json.loads(
        client.get("/consent/preferences", headers={"Accept": "application/json"}).data
    )["consent_id"]

    history = store_of(app).history(consent_id)
    assert [(r.action, r.control) for r in history] == [
        ("accept", "banner"),
        ("save", "settings"),
        ("allow", "embed"),
        ("decline", "api"),
    ]
    first, second, third, fourth = history
    assert first.granted == ("analytics", "marketing")
    assert first.refused == ()
    assert second.granted == ("analytics",)
    assert second.refused == ("marketing",)
    assert second.withdrawal is True
    assert third.granted == ("analytics", "marketing")
    assert fourth.gpc is True
    assert fourth.refused == ("analytics", "marketing")
    for receipt in history:
        assert receipt.consent_id == consent_id
        assert receipt.revision == "1"
        assert receipt.locale == "de"
        assert len(receipt.banner_fingerprint) == 16
        assert receipt.created_at.tzinfo is not None
        assert abs(receipt.created_at - datetime.now(UTC)) < timedelta(minutes=1)

    # Nothing that identifies a person beyond the random id.
    columns = {c.name for c in receipts_table.columns}
    assert not columns & {"ip", "ip_address", "remote_addr", "user_agent", "ua"}
    dumped = json.dumps([r.as_json() for r in history])
    assert "127.0.0.1" not in dumped
    assert "TestBrowser" not in dumped


def test_fingerprint_tells_which_wording_was_shown(tmp_path: Path) -> None:
    app = app_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)
    german, english = app.test_client(), app.test_client()
    german.post("/consent/accept", headers={"Accept-Language": "de"})
    english.post("/consent/accept", headers={"Accept-Language": "en"})
    german.post("/consent/decline", headers={"Accept-Language": "de"})
    prints = [r.banner_fingerprint for r in store_of(app).export()]
    assert prints[0] != prints[1]
    assert prints[0] == prints[2]


def test_revision_bump_is_recorded_as_reconsent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    old = app_for(url, tmp_path, CONSENT_REVISION="1").test_client()
    old.post("/consent/accept")
    value = old.get_cookie("consent").value
    new_app = app_for(url, tmp_path, CONSENT_REVISION="2")
    new = new_app.test_client()
    new.set_cookie("consent", value)
    new.post("/consent/decline")
    receipts = list(store_of(new_app).export())
    assert [(r.revision, r.reconsent) for r in receipts] == [("1", False), ("2", True)]
    assert receipts[0].consent_id == receipts[1].consent_id


def test_receipts_are_off_by_default() -> None:
    app = create_app()
    assert app.extensions["consent"].receipts is None
    assert app.test_client().post("/consent/accept").status_code == 303


def test_a_missing_database_driver_fails_at_start_up_with_the_extra_to_install(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigurationError, match=r"pg8000 driver .*\[postgres\]"):
        create_app(CONSENT_RECEIPTS_URL="postgresql+pg8000://u:p@127.0.0.1/db")


def test_schema_is_created_once_and_versioned(backend: Callable[..., str], tmp_path: Path) -> None:
    url = backend()
    first = app_for(url, tmp_path)
    first.test_client().post("/consent/accept")
    second = app_for(url, tmp_path)  # a second worker: the schema exists already
    second.test_client().post("/consent/accept")
    assert store_of(second).count() == 2
    engine = store_of(second).engine()
    with engine.connect() as conn:
        assert conn.execute(
            sa.text("SELECT version FROM consent_receipts_schema")
        ).scalars().all() == [2]


def test_a_newer_schema_is_refused_loudly_but_requests_survive(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    app = app_for(url, tmp_path)
    store = store_of(app)
    with store.engine().begin() as conn:
        conn.execute(sa.text("UPDATE consent_receipts_schema SET version = 99"))
    newer = app_for(url, tmp_path)
    caplog.set_level(logging.WARNING, logger="consent.receipts")
    response = newer.test_client().post("/consent/accept")
    assert response.status_code == 303
    assert "schema 99" in caplog.text
    assert store_of(newer).spooled() == 1


def test_store_outage_spools_and_recovers(
    backend: Callable[..., str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The store is down: the visitor's choice still lands in the cookie, the
    receipt waits in the spool, and none is lost once the store is back."""
    url = backend(create=False)
    app = app_for(url, tmp_path)
    store = store_of(app)
    if url.startswith("sqlite"):
        Path(sa.engine.make_url(url).database or "").parent.rmdir()  # made at start-up
    client = app.test_client()
    caplog.set_level(logging.WARNING, logger="consent.receipts")

    response = client.post("/consent/accept", data={"next": "/article"})
    assert response.status_code == 303
    assert client.get_cookie("consent") is not None
    assert store.spooled() == 1
    assert "the store is unavailable" in caplog.text
    client.post("/consent/decline")
    assert store.spooled() == 2

    # The store comes back.
    if url.startswith("sqlite"):
        Path(sa.engine.make_url(url).database or "").parent.mkdir(parents=True)
    else:
        _pg_admin(f'CREATE DATABASE "{sa.engine.make_url(url).database}"')
    # Known to be down, the store is not tried on a decision: the background
    # flusher finds it back and writes the spool.
    client.post("/consent/save", data={"category": "analytics"})
    wait_until(lambda: store.spooled() == 0)
    actions = [r.action for r in store.export()]
    assert actions == ["accept", "decline", "save"]
    assert "the store is back" in caplog.text
    store.dispose()


def test_spool_is_bounded_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = app_for(down_url(), tmp_path, CONSENT_RECEIPTS_SPOOL_MAX=2)
    client = app.test_client()
    caplog.set_level(logging.ERROR, logger="consent.receipts")
    for _ in range(3):
        assert client.post("/consent/accept").status_code == 303
    assert store_of(app).spooled() == 2
    assert "consent receipt LOST" in caplog.text


def test_flushing_twice_writes_each_receipt_once(tmp_path: Path) -> None:
    store = ReceiptStore(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "spool.jsonl")
    one = receipt()
    store._spool(one)
    assert store.flush_spool() == 1
    store._spool(one)  # the same receipt again, e.g. after a crash mid-flush
    assert store.flush_spool() == 0
    assert store.count() == 1


def _worker(url: str, spool: str, decisions: int) -> None:
    app = create_app(
        CONSENT_RECEIPTS_URL=url, CONSENT_RECEIPTS_SPOOL=spool, CONSENT_CATEGORIES=CATEGORIES
    )
    for i in range(decisions):
        client = app.test_client()
        client.post("/consent/accept" if i % 2 else "/consent/decline")


def test_several_processes_write_at_once_and_lose_nothing(
    backend: Callable[..., str], tmp_path: Path
) -> None:
    url = backend()
    store_of(app_for(url, tmp_path)).engine()  # schema first, as a deploy would
    spool = str(tmp_path / "shared.spool")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_worker, args=(url, spool, 25)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    store = ReceiptStore(
        url
        if not url.startswith("postgresql://")
        else url.replace("postgresql://", "postgresql+psycopg://"),
        spool,
    )
    assert store.count() + store.spooled() == 100
    assert store.spooled() == 0
    ids = {r.receipt_id for r in store.export()}
    assert len(ids) == 100
    store.dispose()


@pytest.mark.parametrize(
    ("text", "days"), [("3y", 1095), ("18m", 540), ("2w", 14), ("90d", 90), (" 1Y ", 365)]
)
def test_parse_age(text: str, days: int) -> None:
    assert parse_age(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["3", "y", "3 years", "-1d", ""])
def test_parse_age_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not an age"):
        parse_age(text)


def test_relative_sqlite_lives_in_the_instance_folder(tmp_path: Path) -> None:
    from consent.receipts import resolve_url

    resolved = resolve_url("sqlite:///consent-receipts.db", str(tmp_path / "inst"))
    assert resolved == f"sqlite:///{tmp_path / 'inst' / 'consent-receipts.db'}"
    assert resolve_url("postgresql://u:p@h/db", "x") == "postgresql+psycopg://u:p@h/db"


@pytest.mark.parametrize("relative", [True, False], ids=["relative", "absolute"])
def test_the_sqlite_folder_is_created_at_start_up_for_any_path(
    tmp_path: Path, relative: bool
) -> None:
    """One rule: the folder of the SQLite file is made when the app starts, whether
    the path is relative (to the instance folder) or absolute."""
    instance = tmp_path / "instance"
    folder = instance / "receipts" if relative else tmp_path / "elsewhere" / "db"
    app = Flask(__name__, instance_path=str(instance))
    app.config.update(
        SECRET_KEY="k" * 32,
        CONSENT_RECEIPTS_URL="sqlite:///receipts/r.db" if relative else f"sqlite:///{folder}/r.db",
        CONSENT_RECEIPTS_SPOOL=str(tmp_path / "spool"),
    )
    Consent(app)
    assert folder.is_dir()
    assert store_of(app).record(receipt()) is True
    assert (folder / "r.db").is_file()


@pytest.fixture
def filled(tmp_path: Path) -> Flask:
    """An app with five receipts: three today, one 40 days old, one 4 years old."""
    app = app_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, CONSENT_RECEIPTS_RETENTION="3y")
    client = app.test_client()
    client.post("/consent/accept", data={"control": "banner"})
    client.post("/consent/save", data={"category": "analytics", "control": "settings"})
    app.test_client().post("/consent/decline")
    store = store_of(app)
    now = datetime.now(UTC)
    for age, action in ((40, "accept"), (4 * 365, "decline")):
        store._insert(
            [
                Receipt(
                    "B" * 16,
                    "1",
                    "f" * 16,
                    "en",
                    ("analytics", "marketing") if action == "accept" else (),
                    () if action == "accept" else ("analytics", "marketing"),
                    action,
                    "banner",
                    created_at=now - timedelta(days=age),
                )
            ]
        )
    return app


def test_cli_show(filled: Flask) -> None:
    runner = filled.test_cli_runner()
    consent_id = next(r.consent_id for r in store_of(filled).export() if r.control == "settings")
    result = runner.invoke(args=["consent", "receipts", "show", consent_id])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert "accept  via banner" in lines[0]
    assert "granted: analytics  refused: marketing" in lines[1]
    assert "[withdrawal]" in lines[1]
    missing = runner.invoke(args=["consent", "receipts", "show", "nobody"])
    assert missing.exit_code == 1
    assert "no receipts" in missing.output


#: An id as older cookies may hold (before ids stopped starting with "-").
DASHED_ID = "-yC5fQ2b9Zx4Lk0P"


@pytest.mark.parametrize("consent_id", [DASHED_ID, "--C5fQ2b9Zx4Lk0P", "-hC5fQ2b9Zx4Lk0P"])
def test_cli_show_takes_an_id_that_starts_with_a_dash(filled: Flask, consent_id: str) -> None:
    store_of(filled)._insert(
        [Receipt(consent_id, "1", "f" * 16, "en", ("analytics",), (), "accept", "banner")]
    )
    result = filled.test_cli_runner().invoke(args=["consent", "receipts", "show", consent_id])
    assert result.exit_code == 0, result.output
    assert "accept  via banner" in result.output
    assert "No such option" not in result.output


def test_cli_export_jsonl_and_csv(filled: Flask) -> None:
    runner = filled.test_cli_runner()
    today = datetime.now(UTC).date()
    jsonl = runner.invoke(args=["consent", "receipts", "export", "--since", today.isoformat()])
    assert jsonl.exit_code == 0, jsonl.output
    rows = [json.loads(line) for line in jsonl.output.splitlines()]
    assert [r["action"] for r in rows] == ["accept", "save", "decline"]
    everything = runner.invoke(args=["consent", "receipts", "export", "--format", "csv"])
    lines = everything.output.strip().splitlines()
    assert lines[0].startswith("receipt_id,created_at,consent_id,revision")
    assert len(lines) == 1 + 5
    old = runner.invoke(
        args=["consent", "receipts", "export", "--until", (today - timedelta(days=30)).isoformat()]
    )
    assert len(old.output.splitlines()) == 2
    bad = runner.invoke(args=["consent", "receipts", "export", "--since", "yesterday"])
    assert bad.exit_code == 2
    assert "not a date" in bad.output


def test_export_streams(filled: Flask) -> None:
    rows = store_of(filled).export()
    assert isinstance(rows, Iterator)
    assert next(rows).created_at < datetime.now(UTC) - timedelta(days=3 * 365)


def test_cli_prune_with_retention_and_age(filled: Flask) -> None:
    runner = filled.test_cli_runner()
    result = runner.invoke(args=["consent", "receipts", "prune"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 receipt(s)" in result.output
    result = runner.invoke(args=["consent", "receipts", "prune", "--older-than", "30d"])
    assert "deleted 1 receipt(s)" in result.output
    assert store_of(filled).count() == 3
    bad = runner.invoke(args=["consent", "receipts", "prune", "--older-than", "soon"])
    assert bad.exit_code == 2


def test_cli_stats(filled: Flask) -> None:
    runner = filled.test_cli_runner()
    by_day = runner.invoke(args=["consent", "receipts", "stats", "--by", "day"])
    assert by_day.exit_code == 0, by_day.output
    today = datetime.now(UTC).date().isoformat()
    line = next(line for line in by_day.output.splitlines() if today in line)
    assert line.split() == [today, "3", "1", "1", "1", "0.3333"]
    by_category = store_of(filled).stats("category")
    assert by_category == [
        {
            "category": "analytics",
            "decisions": 5,
            "granted": 3,
            "unanswered": 0,
            "opt_in_rate": 0.6,
        },
        {
            "category": "marketing",
            "decisions": 5,
            "granted": 2,
            "unanswered": 0,
            "opt_in_rate": 0.4,
        },
    ]


def test_cli_says_when_receipts_are_off() -> None:
    result = create_app().test_cli_runner().invoke(args=["consent", "receipts", "stats"])
    assert result.exit_code == 1
    assert "CONSENT_RECEIPTS_URL" in result.output


def test_cli_flush(tmp_path: Path) -> None:
    app = app_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)
    store_of(app)._spool(receipt())  # as a decision during an outage left it
    result = app.test_cli_runner().invoke(args=["consent", "receipts", "flush"])
    assert result.exit_code == 0, result.output
    assert "wrote 1 spooled receipt(s)" in result.output
    assert store_of(app).count() == 1


def test_cli_flush_says_when_the_store_is_still_down(tmp_path: Path) -> None:
    app = app_for(down_url(), tmp_path)
    store_of(app)._spool(receipt())
    result = app.test_cli_runner().invoke(args=["consent", "receipts", "flush"])
    assert result.exit_code == 1
    assert "the receipt store is unavailable" in result.output
    assert "1 receipt(s) still wait" in result.output


def test_bad_retention_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CONSENT_RECEIPTS_RETENTION"):
        app_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, CONSENT_RECEIPTS_RETENTION="forever")


# -- categories the visitor was never asked about (schema 2) ---------------------


def test_unanswered_categories_are_neither_granted_nor_refused(
    backend: Callable[..., str], tmp_path: Path
) -> None:
    app = app_for(backend(), tmp_path)
    store = store_of(app)
    asked = receipt(consent_id="U" * 16, granted=("analytics",), unanswered=("marketing",))
    both = receipt(consent_id="U" * 16, granted=("analytics",), refused=("marketing",))
    assert store.record(asked)
    assert store.record(both)
    first, second = store.history("U" * 16)
    assert first.unanswered == ("marketing",)
    assert first.refused == ()
    assert second.unanswered == ()
    assert Receipt.from_json(json.loads(json.dumps(first.as_json()))) == first

    runner = app.test_cli_runner()
    shown = runner.invoke(args=["consent", "receipts", "show", "U" * 16]).output.splitlines()
    assert "granted: analytics  refused: -  unanswered: marketing" in shown[0]
    assert "refused: marketing  unanswered: -" in shown[1]
    csv_lines = runner.invoke(
        args=["consent", "receipts", "export", "--format", "csv"]
    ).output.splitlines()
    header = csv_lines[0].split(",")
    assert header[header.index("refused") + 1] == "unanswered"
    assert csv_lines[1].split(",")[header.index("unanswered")] == "marketing"
    jsonl = runner.invoke(args=["consent", "receipts", "export"]).output.splitlines()
    assert json.loads(jsonl[0])["unanswered"] == ["marketing"]

    assert store.stats("category") == [
        {
            "category": "analytics",
            "decisions": 2,
            "granted": 2,
            "unanswered": 0,
            "opt_in_rate": 1.0,
        },
        {
            "category": "marketing",
            "decisions": 1,
            "granted": 0,
            "unanswered": 1,
            "opt_in_rate": 0.0,
        },
    ]
    only_unanswered = receipt(consent_id="V" * 16, unanswered=("video",))
    assert store.record(only_unanswered)
    video = next(row for row in store.stats("category") if row["category"] == "video")
    assert video == {
        "category": "video",
        "decisions": 0,
        "granted": 0,
        "unanswered": 1,
        "opt_in_rate": None,
    }
    table = runner.invoke(args=["consent", "receipts", "stats", "--by", "category"]).output
    assert next(line for line in table.splitlines() if "video" in line).split() == [
        "video",
        "0",
        "0",
        "1",
        "-",
    ]


def test_a_receipt_without_unanswered_keeps_working() -> None:
    """Callers (and spooled lines) from before the field still make receipts."""
    old = Receipt("A" * 16, "1", "f" * 16, "en", ("analytics",), ("marketing",), "save", "api")
    assert old.unanswered == ()
    data = old.as_json()
    del data["unanswered"]
    assert Receipt.from_json(data) == old


#: The table as version 1 of the package created it, per backend.
V1_TABLE = """
CREATE TABLE consent_receipts (
    id {id},
    receipt_id VARCHAR(32) NOT NULL UNIQUE,
    created_at {timestamp} NOT NULL,
    consent_id VARCHAR(32) NOT NULL,
    revision VARCHAR(64) NOT NULL,
    banner_fingerprint VARCHAR(64) NOT NULL,
    locale VARCHAR(16) NOT NULL,
    granted TEXT NOT NULL,
    refused TEXT NOT NULL,
    action VARCHAR(16) NOT NULL,
    control VARCHAR(16) NOT NULL,
    gpc BOOLEAN NOT NULL,
    withdrawal BOOLEAN NOT NULL,
    reconsent BOOLEAN NOT NULL
)
"""
V1_TYPES = {
    "sqlite": {"id": "INTEGER NOT NULL PRIMARY KEY", "timestamp": "DATETIME"},
    "postgresql": {"id": "SERIAL PRIMARY KEY", "timestamp": "TIMESTAMP WITH TIME ZONE"},
}


def test_a_version_1_table_is_migrated_in_place(
    backend: Callable[..., str], tmp_path: Path
) -> None:
    url = backend()
    engine = sa.create_engine(
        url.replace("postgresql://", "postgresql+psycopg://"), poolclass=sa.pool.NullPool
    )
    with engine.begin() as conn:
        conn.execute(sa.text(V1_TABLE.format(**V1_TYPES[engine.dialect.name])))
        conn.execute(sa.text("CREATE TABLE consent_receipts_schema (version INTEGER NOT NULL)"))
        conn.execute(sa.text("INSERT INTO consent_receipts_schema VALUES (1)"))
        conn.execute(
            sa.text(
                "INSERT INTO consent_receipts (receipt_id, created_at, consent_id, revision,"
                " banner_fingerprint, locale, granted, refused, action, control, gpc,"
                " withdrawal, reconsent) VALUES ('old1', :at, 'OLD', '1', 'ffff', 'en',"
                " 'analytics', 'marketing', 'save', 'banner', false, false, false)"
            ),
            {"at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)},
        )
    engine.dispose()

    # Two app servers start on the old table at once: one migrates, the other waits.
    first, second = app_for(url, tmp_path), app_for(url, tmp_path)
    assert store_of(first).record(receipt(consent_id="NEW", unanswered=("video",)))
    assert store_of(second).record(receipt(consent_id="NEW"))
    store = store_of(first)
    (old,) = store.history("OLD")
    assert (old.granted, old.refused, old.unanswered) == (("analytics",), ("marketing",), ())
    assert [r.unanswered for r in store.history("NEW")] == [("video",), ()]
    with store.engine().connect() as conn:
        assert conn.execute(
            sa.text("SELECT version FROM consent_receipts_schema")
        ).scalars().all() == [2]


def test_flush_writes_more_receipts_than_one_statement_can_bind(
    backend: Callable[..., str], tmp_path: Path
) -> None:
    """66,000 spooled receipts: more ids than PostgreSQL (65,535) or SQLite (32,766)
    take in one statement; they go in batches."""
    store = store_of(app_for(backend(), tmp_path))
    now = datetime.now(UTC).isoformat()
    template = receipt().as_json()
    entries = []
    for n in range(66_000):
        body = {**template, "receipt_id": f"{n:032x}", "created_at": now}
        entries.append((body["receipt_id"], json.dumps(body)))
    store.spool.extend(store.spool._connection(), entries)
    assert store.spooled() == 66_000
    assert store.flush_spool() == 66_000
    assert store.count() == 66_000
    assert store.spooled() == 0


def test_cli_import_puts_back_receipts_from_an_export_or_a_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What ``export`` wrote, or the LOST lines of a log, go back in; twice is once."""
    app = app_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)
    exported, logged = receipt(consent_id="EXPORTED"), receipt(consent_id="LOGGED")
    source = tmp_path / "lines"
    source.write_text(
        json.dumps(exported.as_json())
        + "\n"
        + "2026-11-25 ERROR consent receipt LOST (the spool is full): "
        + json.dumps(logged.as_json(), separators=(",", ":"))
        + "\n\n"
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["consent", "receipts", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "wrote 2 receipt(s); 0 were stored already" in result.output
    again = runner.invoke(args=["consent", "receipts", "import", str(source)])
    assert "wrote 0 receipt(s); 2 were stored already" in again.output
    assert [r.receipt_id for r in store_of(app).history("LOGGED")] == [logged.receipt_id]
    source.write_text("not a receipt\n")
    bad = runner.invoke(args=["consent", "receipts", "import", str(source)])
    assert bad.exit_code == 1
    assert "1 line(s) hold no receipt" in bad.output


def test_a_first_visit_always_allow_records_only_what_was_answered(tmp_path: Path) -> None:
    """Issue 14, item 5: "Always allow" on an embed answers for marketing alone;
    the receipt must not call analytics and preferences "refused"."""
    app = app_for(
        f"sqlite:///{tmp_path / 'r.db'}",
        tmp_path,
        CONSENT_CATEGORIES=["analytics", "marketing", "preferences"],
    )
    client = app.test_client()
    answered = client.post(
        "/consent/allow", data={"category": "marketing", "control": "embed"}, headers=JSON
    )
    assert answered.status_code == 200
    (stored,) = list(store_of(app).export())
    assert stored.action == "allow"
    assert stored.control == "embed"
    assert stored.granted == ("marketing",)
    assert stored.refused == ()
    assert stored.unanswered == ("analytics", "preferences")

    client.post("/consent/save", data={"category": "analytics"}, headers=JSON)
    latest = list(store_of(app).export())[-1]
    assert (latest.granted, latest.refused, latest.unanswered) == (
        ("analytics",),
        ("marketing", "preferences"),
        (),
    )


def test_a_gpc_signal_that_rewrites_a_grant_writes_one_receipt(tmp_path: Path) -> None:
    app = app_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)
    client = app.test_client()
    client.post("/consent/accept", data={"control": "banner"}, headers=JSON)
    for _ in range(2):  # the second page carries the rewritten cookie: nothing more
        assert client.get("/", headers={"Sec-GPC": "1"}).status_code == 200
    receipts = list(store_of(app).export())
    assert [(r.action, r.control) for r in receipts] == [("accept", "banner"), ("gpc", "signal")]
    assert receipts[1].gpc is True
    assert receipts[1].refused == ("marketing",)
    assert receipts[1].granted == ("analytics",)
    assert receipts[1].withdrawal is True
