"""Instructions per request under gunicorn, counted by callgrind.

Requests per second on a shared virtual machine move by a few percent from run
to run, which is the size of the effect being measured. The number of machine
instructions a worker executes per request does not: it is a second, steady
view of the same overhead (it leaves out what instructions do not show, such
as cache misses and the kernel's share).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCH_SECRET, Gunicorn, accept_all, http_request

VISITORS = ("first", "returning")
HEADERS = {"Accept-Language": "de"}
_TOTAL = re.compile(r"^(?:summary|totals): (\d+)", re.M)


@dataclass
class InstructionCounts:
    requests: int  # per site and visitor
    per_request: dict[tuple[str, str], float]  # (site, visitor) -> instructions

    def ratio(self, visitor: str) -> float:
        """without / with: the throughput ratio if instructions were the only cost."""
        return self.per_request[("without", visitor)] / self.per_request[("with", visitor)]


def available() -> bool:
    return bool(shutil.which("valgrind") and shutil.which("callgrind_control"))


def _dump(pid: int) -> None:
    """Write the worker's counts since the last dump to a new file, and zero them."""
    subprocess.run(
        ["callgrind_control", "--dump", str(pid)], check=True, capture_output=True, timeout=60
    )


def _total(path: Path) -> int:
    match = _TOTAL.search(path.read_text(errors="replace"))
    if match is None:
        raise RuntimeError(f"no instruction total in {path}")
    return int(match.group(1))


def _measure_site(
    server: Gunicorn, out: Path, headers: dict[str, dict[str, str]], requests: int
) -> dict[str, float]:
    [worker] = server.worker_pids()
    for visitor in VISITORS:  # warm-up: imports, templates, catalogs, kept markup
        for _ in range(30):
            http_request(server.port, "/", headers=headers[visitor], timeout=60)
    _dump(worker)  # dump 1: start-up and warm-up, left out
    counts = {}
    for number, visitor in enumerate(VISITORS, start=2):
        for _ in range(requests):
            response = http_request(server.port, "/", headers=headers[visitor], timeout=60)
            if response.status != 200:
                raise RuntimeError(f"GET / answered {response.status} under callgrind")
        _dump(worker)
        counts[visitor] = _total(out / f"callgrind.{worker}.{number}") / requests
    return counts


def measure(workdir: Path, requests: int = 300) -> InstructionCounts:
    """Both sites under callgrind at once (one sync worker each), ``requests`` per visitor."""
    out = Path(tempfile.mkdtemp(prefix="callgrind-", dir=workdir))
    env = {
        "SECRET_KEY": BENCH_SECRET,
        "CONSENT_INSTANCE_PATH": str(workdir / "instance-callgrind"),
    }
    wrapper = (
        "valgrind",
        "--tool=callgrind",
        "--trace-children=yes",
        f"--callgrind-out-file={out}/callgrind.%p",
    )
    apps = {"without": "bench.wsgi:plain_app()", "with": "bench.wsgi:consent_app()"}
    servers = {
        site: Gunicorn(
            app,
            env,
            workdir / f"callgrind-{site}.log",
            workers=1,
            ready_timeout=300,
            wrapper=wrapper,
        )
        for site, app in apps.items()
    }
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(Gunicorn.start, servers.values()))
            cookie = f"consent={accept_all(servers['with'].port)}"
            headers = {"first": HEADERS, "returning": {**HEADERS, "Cookie": cookie}}
            results = dict(
                zip(
                    servers,
                    pool.map(lambda s: _measure_site(s, out, headers, requests), servers.values()),
                    strict=True,
                )
            )
    finally:
        for server in servers.values():
            server.stop()
    return InstructionCounts(
        requests,
        {(site, visitor): results[site][visitor] for site in servers for visitor in VISITORS},
    )
