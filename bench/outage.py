"""The site during a receipt-store outage with a full spool.

Two gunicorns of the example site, loaded in turn on the same CPUs: one whose
receipt store works (SQLite), one whose store is down (PostgreSQL at a closed
local port) with its spool already at ``CONSENT_RECEIPTS_SPOOL_MAX``. Each
gets the same article-page load (as ``bench.load`` measures it) while 16
visitors post decisions. Measured: the decisions' latency on the server that
is down, and its page throughput as a ratio to the other's.

``python -m bench.outage`` prints the figures alone. The spool is pre-filled as
the JSON-lines file that earlier versions wrote, so the same measurement runs
against a checkout of an earlier version too.

``gunicorn 'bench.outage:receipts_app()'`` is the app, configured through the
environment: ``RECEIPTS_URL``, ``RECEIPTS_SPOOL``, ``RECEIPTS_SPOOL_MAX``,
``CONSENT_INSTANCE_PATH`` and ``SECRET_KEY``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from bench.common import BENCH_SECRET, Gunicorn, free_port, pin_to
from bench.load import HEADERS, Run, python_run, split_cpus, wrk_run

#: Visitors posting decisions during the page load, each at most once per INTERVAL.
POSTERS = 16
INTERVAL = 0.1
SPOOL_MAX = 10_000
CATEGORIES = ("analytics", "marketing", "media")


def receipts_app() -> Flask:
    """The example news site with its receipts where the environment says."""
    from examples.news import create_app

    config: dict[str, Any] = {
        "SECRET_KEY": os.environ.get("SECRET_KEY", BENCH_SECRET),
        "CONSENT_RECEIPTS_URL": os.environ["RECEIPTS_URL"],
        "CONSENT_RECEIPTS_SPOOL": os.environ["RECEIPTS_SPOOL"],
        "CONSENT_RECEIPTS_SPOOL_MAX": int(os.environ.get("RECEIPTS_SPOOL_MAX", SPOOL_MAX)),
    }
    return create_app(config, instance_path=os.environ["CONSENT_INSTANCE_PATH"])


def legacy_spool(path: Path, count: int) -> None:
    """A full JSON-lines spool, as versions before the SQLite spool left it."""
    now = datetime.now(UTC).isoformat()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            out.write(
                json.dumps(
                    {
                        "consent_id": f"spooled{n:09d}",
                        "revision": "1",
                        "banner_fingerprint": "0123456789abcdef",
                        "locale": "de",
                        "granted": ["analytics"],
                        "refused": ["marketing", "media"],
                        "action": "save",
                        "control": "banner",
                        "gpc": False,
                        "withdrawal": False,
                        "reconsent": False,
                        "created_at": now,
                        "receipt_id": uuid.uuid4().hex,
                    }
                )
                + "\n"
            )


# -- posting decisions -------------------------------------------------------------


@dataclass
class Decisions:
    """What the posting visitors saw: latencies, and answers per consent id."""

    latencies: list[float] = field(default_factory=list)
    answered: Counter[str] = field(default_factory=Counter)
    failed: int = 0  # socket errors and answers other than 200

    def add(self, other: Decisions) -> None:
        self.latencies += other.latencies
        self.answered.update(other.answered)
        self.failed += other.failed

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    @property
    def count(self) -> int:
        return sum(self.answered.values())


def post_decisions(
    port: int,
    visitors: int,
    seconds: float,
    interval: float = 0.0,
    *,
    stop: threading.Event | None = None,
    on_answer: Callable[[], None] | None = None,
) -> Decisions:
    """``visitors`` threads, each a visitor with its own cookie, posting decisions
    as the banner's script does for ``seconds`` (at most one per ``interval``), or
    until ``stop`` is set; ``on_answer`` is called after each decision answered."""
    result = Decisions()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    actions = ("accept", "decline", "save")

    halt = stop or threading.Event()

    def visitor() -> None:
        mine = Decisions()
        cookie = ""
        n = 0
        while (started := time.monotonic()) < deadline and not halt.is_set():
            action = actions[n % len(actions)]
            n += 1
            body = "category=analytics" if action == "save" else ""
            headers = {
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
            }
            if cookie:
                headers["Cookie"] = cookie
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("POST", f"/consent/{action}", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.status != 200:
                    mine.failed += 1
                else:
                    mine.latencies.append(time.monotonic() - started)
                    mine.answered[json.loads(data)["consent_id"]] += 1
                    for name, value in response.getheaders():
                        if name.lower() == "set-cookie" and value.startswith("consent="):
                            cookie = value.split(";", 1)[0]
                    if on_answer is not None:
                        on_answer()
            except (OSError, http.client.HTTPException, ValueError):
                mine.failed += 1
            finally:
                conn.close()
            pause = interval - (time.monotonic() - started)
            if pause > 0:
                halt.wait(min(pause, max(0.0, deadline - time.monotonic())))
        with lock:
            result.add(mine)

    threads = [threading.Thread(target=visitor) for _ in range(visitors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    return result


# -- the measurement -----------------------------------------------------------------


@dataclass
class OutageResult:
    rounds: int
    duration: float
    posters: int
    interval: float
    spool_max: int
    tool: str
    workers: int
    pages: dict[str, list[Run]]  # "normal" / "outage" -> page runs, one per round
    decisions: dict[str, Decisions]
    lost_logged: int  # receipts the outage server logged as LOST (the spool was full)

    def page_rps(self, site: str) -> float:
        runs = self.pages[site]
        return sum(r.requests for r in runs) / sum(r.seconds for r in runs)

    def round_ratios(self) -> list[float]:
        return [
            o.rps / n.rps for o, n in zip(self.pages["outage"], self.pages["normal"], strict=True)
        ]

    def ratio(self) -> float:
        """Median of the rounds' outage / normal page throughput."""
        return statistics.median(self.round_ratios())

    @property
    def page_errors(self) -> int:
        return sum(r.socket_errors + r.non_2xx for runs in self.pages.values() for r in runs)


def measure(
    workdir: Path,
    *,
    rounds: int = 4,
    duration: float = 3.0,
    warmup: float = 2.0,
    posters: int = POSTERS,
    interval: float = INTERVAL,
    spool_max: int = SPOOL_MAX,
    force_python: bool = False,
    log: bool = True,
) -> OutageResult:
    """Each server alone under the same load, in turn (the order alternates), ``rounds``
    times each, for ``duration`` whole seconds (what wrk takes).

    Not both at once, as ``bench.load`` does: a worker waiting on its store's
    ``fsync`` would hand its CPU to the other server, and the ratio would measure
    that rather than the cost of a request.
    """
    tool = "wrk" if shutil.which("wrk") and not force_python else "python"
    duration, warmup = float(max(1, round(duration))), float(max(1, round(warmup)))
    load_cpus, server_cpus = split_cpus()
    workers = len(server_cpus) or 2
    down_url = f"postgresql://consent:bench@127.0.0.1:{free_port()}/consent"
    envs = {}
    for site, url in (("normal", None), ("outage", down_url)):
        folder = workdir / site
        folder.mkdir(parents=True, exist_ok=True)
        spool = folder / "consent-receipts.spool"
        if site == "outage":
            legacy_spool(spool, spool_max)
        envs[site] = {
            "SECRET_KEY": BENCH_SECRET,
            "CONSENT_INSTANCE_PATH": str(folder),
            "RECEIPTS_URL": url or f"sqlite:///{folder / 'receipts.db'}",
            "RECEIPTS_SPOOL": str(spool),
            "RECEIPTS_SPOOL_MAX": str(spool_max),
        }

    def pages(server: Gunicorn, seconds: float) -> Run:
        if tool == "wrk":
            return wrk_run(server.origin + "/", HEADERS, 1, 16, seconds, load_cpus)
        return python_run(server.port, HEADERS, 2, 16, seconds, load_cpus)

    page_runs: dict[str, list[Run]] = {"normal": [], "outage": []}
    decisions = {"normal": Decisions(), "outage": Decisions()}
    with (
        Gunicorn(
            "bench.outage:receipts_app()",
            envs["normal"],
            workdir / "gunicorn-normal.log",
            workers=workers,
            cpus=server_cpus,
        ) as normal,
        Gunicorn(
            "bench.outage:receipts_app()",
            envs["outage"],
            workdir / "gunicorn-outage.log",
            workers=workers,
            cpus=server_cpus,
        ) as outage,
        ProcessPoolExecutor(1, initializer=pin_to(load_cpus)) as posting,
    ):
        servers = {"normal": normal, "outage": outage}

        def load(site: str, seconds: float) -> tuple[Run, Decisions]:
            server = servers[site]
            posted = posting.submit(post_decisions, server.port, posters, seconds, interval)
            return pages(server, seconds), posted.result()

        for site in servers:  # imports, templates, catalogs; the old spool is taken over
            load(site, warmup)
        for n in range(rounds):
            for site in ("normal", "outage") if n % 2 == 0 else ("outage", "normal"):
                run, posted = load(site, duration)
                page_runs[site].append(run)
                decisions[site].add(posted)
                if log:
                    print(
                        f"  outage round {n + 1}: {site:6} pages {run.rps:7.0f} req/s;"
                        f" decisions {posted.count / duration:4.0f}/s, p50"
                        f" {posted.percentile(50):6.2f} ms, p99 {posted.percentile(99):6.2f} ms",
                        flush=True,
                    )
    lost = (
        (workdir / "gunicorn-outage.log").read_text(errors="replace").count("consent receipt LOST")
    )
    return OutageResult(
        rounds=rounds,
        duration=duration,
        posters=posters,
        interval=interval,
        spool_max=spool_max,
        tool=tool,
        workers=workers,
        pages=page_runs,
        decisions=decisions,
        lost_logged=lost,
    )


METHOD = f"""\
**Receipt store outage.** Two gunicorns of the example site
(`bench.outage:receipts_app()`, one sync worker per server CPU, pinned as above):
"normal", whose receipts go to an SQLite file, and "outage", whose
`CONSENT_RECEIPTS_URL` is PostgreSQL at a 127.0.0.1 port nothing listens on, with
its spool pre-filled to `CONSENT_RECEIPTS_SPOOL_MAX` ({SPOOL_MAX:,}) receipts
(written as the JSON-lines file earlier versions left, which the first worker
takes over during the warm-up). Each server in turn, alone (the order alternates
by round; at the same moment, a worker waiting on its store's `fsync` would hand
its CPU to the other server), gets the same load for the same seconds: the
article page as above (`wrk -t1 -c16`, `Accept-Language: de`, no cookie) and, from
a process on the load CPU, {POSTERS} visitors posting decisions (`accept`,
`decline`, `save` in turn, JSON, each visitor with its own cookie), each at most
one per {INTERVAL * 1000:.0f} ms. Decision latency is the client's on the outage
server, p50 / p99 over all rounds (it includes waiting for the sync worker behind
the page requests, as on the normal server); page throughput is outage / normal,
the median of the rounds' ratios. Every receipt past the full spool is logged as
LOST with its JSON; the count is from the outage server's log (warm-up included).
Budget: ratio ≥ 0.90."""


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--python-load", action="store_true", help="do not use wrk")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="consent-outage-") as tmp:
        result = measure(
            Path(tmp), rounds=args.rounds, duration=args.duration, force_python=args.python_load
        )
    out = result.decisions["outage"]
    normal = result.decisions["normal"]
    print(
        f"decisions, store down and spool full: p50 {out.percentile(50):.2f} ms,"
        f" p99 {out.percentile(99):.2f} ms ({out.count} answered, {out.failed} failed;"
        f" normal store: p50 {normal.percentile(50):.2f} ms, p99 {normal.percentile(99):.2f} ms)"
    )
    print(
        f"pages during the outage: {result.page_rps('outage'):.0f} req/s vs"
        f" {result.page_rps('normal'):.0f} normal; ratio {result.ratio():.2f}"
        f" (rounds: {', '.join(f'{r:.2f}' for r in result.round_ratios())});"
        f" {result.lost_logged} receipts logged as LOST"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
