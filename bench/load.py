"""Server overhead: the article page with and without the extension under gunicorn.

Also the cost of reading one consent cookie, and proof that catalogs are parsed
once per process.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import timeit
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import BENCH_SECRET, Gunicorn, accept_all, http_request, pin_to
from consent.config import get_config
from consent.cookie import ChoiceCodec
from consent.i18n import parse_count
from consent.state import load_state
from examples.news import create_app

#: Sent with every request: the German article and banner.
HEADERS = {"Accept-Language": "de"}

WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) s2 = 0; s3 = 0; s4 = 0; s5 = 0; other = 0 end
function response(status, headers, body)
  if status >= 500 then s5 = s5 + 1
  elseif status >= 400 then s4 = s4 + 1
  elseif status >= 300 then s3 = s3 + 1
  elseif status >= 200 then s2 = s2 + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local n = {s2 = 0, s3 = 0, s4 = 0, s5 = 0, other = 0}
  for _, t in ipairs(threads) do
    for k, _ in pairs(n) do n[k] = n[k] + t:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"socket_errors":%d,"non_2xx":%d,"s5xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, n.s3 + n.s4 + n.s5 + n.other, n.s5))
end
"""


@dataclass
class Run:
    """One bounded load run against one URL."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    non_2xx: int
    s5xx: int
    cpu_seconds: float = 0.0  # user + system time of the gunicorn workers during the run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass
class Scenario:
    """The runs of one (site, visitor) pair, pooled."""

    runs: list[Run] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return sum(r.requests for r in self.runs) / sum(r.seconds for r in self.runs)

    @property
    def p50_ms(self) -> float:
        return statistics.fmean(r.p50_ms for r in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.fmean(r.p99_ms for r in self.runs)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.runs)

    @property
    def cpu_ms(self) -> float:
        """Server CPU time per request (both workers, user + system), in ms."""
        return sum(r.cpu_seconds for r in self.runs) / self.requests * 1000

    @property
    def errors(self) -> int:
        return sum(r.socket_errors for r in self.runs)

    @property
    def non_2xx(self) -> int:
        return sum(r.non_2xx for r in self.runs)

    @property
    def s5xx(self) -> int:
        return sum(r.s5xx for r in self.runs)


@dataclass
class LoadResult:
    tool: str
    threads: int
    connections: int
    duration: float
    rounds: int
    blocks: int  # fresh pairs of servers the rounds were spread over
    scenarios: dict[tuple[str, str], Scenario]  # (site, visitor) -> pooled runs
    codec_us: float  # read + verify, every call a different cookie
    codec_repeat_us: float  # the same cookie again (kept by the codec, if it keeps any)
    codec_loops: int
    state_us: float  # a returning visitor's state, from a Cookie header seen before
    parses_warm: int
    parses_after: int
    parse_requests: int
    worker_parses: dict[str, tuple[int, int]]  # pid -> (after warm-up, after load)
    worker_restarts: int
    cookie_header: str
    workers: int = 2
    #: CPUs the load generator and the servers were pinned to (empty: not pinned).
    load_cpus: frozenset[int] = frozenset()
    server_cpus: frozenset[int] = frozenset()

    def ratio(self, visitor: str) -> float:
        """The median of the rounds' with / without ratios.

        Each round runs the two sites back to back, so a burst of other work on
        the machine moves one round, not the figure.
        """
        return statistics.median(self.round_ratios(visitor))

    def pooled_ratio(self, visitor: str) -> float:
        """Throughput with / without, over all rounds together."""
        return self.scenarios[("with", visitor)].rps / self.scenarios[("without", visitor)].rps

    def round_ratios(self, visitor: str) -> list[float]:
        """with / without of each round (the two runs are adjacent in time)."""
        pairs = zip(
            self.scenarios[("with", visitor)].runs,
            self.scenarios[("without", visitor)].runs,
            strict=True,
        )
        return [w.rps / wo.rps for w, wo in pairs]

    def cpu_ratio(self, visitor: str) -> float:
        """CPU per request without / with: the throughput ratio if CPU were the only limit."""
        return (
            self.scenarios[("without", visitor)].cpu_ms / self.scenarios[("with", visitor)].cpu_ms
        )


# -- load generators -----------------------------------------------------------


def wrk_run(
    url: str,
    headers: dict[str, str],
    threads: int,
    connections: int,
    seconds: float,
    cpus: frozenset[int] | None = None,
) -> Run:
    wrk = shutil.which("wrk")
    assert wrk is not None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "5s",
        "-s",
        script.name,
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    try:
        out = subprocess.run(
            command,
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            preexec_fn=pin_to(cpus),
        ).stdout
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    return Run(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        socket_errors=data["socket_errors"],
        non_2xx=data["non_2xx"],
        s5xx=data["s5xx"],
    )


def _py_worker(
    port: int, path: str, headers: dict[str, str], threads: int, seconds: float, cap: int
) -> tuple[list[float], int, int, int]:
    """One load process: ``threads`` closed-loop clients until the deadline (or ``cap``)."""
    latencies: list[float] = []
    counts = {"errors": 0, "non_2xx": 0, "s5xx": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        conn: http.client.HTTPConnection | None = None
        mine: list[float] = []
        errors = non_2xx = s5xx = 0
        while time.monotonic() < deadline and len(mine) < cap:
            start = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                mine.append(time.perf_counter() - start)
                if response.status >= 500:
                    s5xx += 1
                if not 200 <= response.status < 300:
                    non_2xx += 1
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                errors += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
        with lock:
            latencies.extend(mine)
            counts["errors"] += errors
            counts["non_2xx"] += non_2xx
            counts["s5xx"] += s5xx

    pool = [threading.Thread(target=client) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(seconds + 10)
    return latencies, counts["errors"], counts["non_2xx"], counts["s5xx"]


def python_run(
    port: int,
    headers: dict[str, str],
    processes: int,
    connections: int,
    seconds: float,
    cpus: frozenset[int] | None = None,
) -> Run:
    """A bounded closed-loop generator: ``processes`` x threads, each capped at 200k requests."""
    per_process = max(1, connections // processes)
    started = time.monotonic()
    with ProcessPoolExecutor(processes, initializer=pin_to(cpus)) as pool:
        futures = [
            pool.submit(_py_worker, port, "/", headers, per_process, seconds, 200_000)
            for _ in range(processes)
        ]
        parts = [f.result(timeout=seconds + 60) for f in futures]
    elapsed = time.monotonic() - started
    latencies = sorted(x for part in parts for x in part[0])
    if not latencies:
        raise RuntimeError("the Python load generator got no answers")

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return Run(
        requests=len(latencies),
        seconds=min(elapsed, seconds) if elapsed > 0 else seconds,
        p50_ms=pct(50),
        p99_ms=pct(99),
        socket_errors=sum(p[1] for p in parts),
        non_2xx=sum(p[2] for p in parts),
        s5xx=sum(p[3] for p in parts),
    )


# -- in-process figures ----------------------------------------------------------


def codec_cost(loops: int = 2000, repeat: int = 7) -> tuple[float, float]:
    """Microseconds per ``ChoiceCodec.loads`` of a valid cookie, best of ``repeat``.

    First: ``loops`` different cookies through a fresh codec, so every call reads
    and verifies (the codec may keep verified values per process). Second: one
    cookie again and again, what a returning visitor costs a warm process.
    """
    max_age = 180 * 86400
    signer = ChoiceCodec([BENCH_SECRET], max_age=max_age)
    choices = {"analytics": True, "marketing": False}
    values = [signer.sign("1", f"bench{i:011d}", choices)[0] for i in range(loops)]
    cold = []
    for _ in range(repeat):
        codec = ChoiceCodec([BENCH_SECRET], max_age=max_age)
        start = time.perf_counter()
        for value in values:
            if codec.loads(value) is None:
                raise RuntimeError("a freshly signed cookie did not verify")
        cold.append(time.perf_counter() - start)
    codec = ChoiceCodec([BENCH_SECRET], max_age=max_age)
    value = values[0]
    codec.loads(value)
    warm = min(timeit.repeat(lambda: codec.loads(value), number=loops * 10, repeat=repeat))
    return min(cold) / loops * 1e6, warm / (loops * 10) * 1e6


def state_cost(instance: Path, loops: int = 20_000, repeat: int = 7) -> float:
    """Microseconds to read a returning visitor's state from a ``Cookie`` header the
    process has seen before (``consent.state.load_state``), best of ``repeat``."""
    app = create_app({"SECRET_KEY": BENCH_SECRET}, instance_path=str(instance))
    cookie = app.test_client().post("/consent/accept").headers["Set-Cookie"].split(";")[0]
    headers = {"Cookie": f"{cookie}; _pk_id.1.1fff=0123456789abcdef.1764115200"}
    config = get_config(app)
    with app.test_request_context("/", headers=headers) as ctx:
        if not load_state(config, ctx.request, app).decided:
            raise RuntimeError("the consent cookie was not honoured")
        best = min(
            timeit.repeat(lambda: load_state(config, ctx.request, app), number=loops, repeat=repeat)
        )
    return best / loops * 1e6


def catalog_parses(instance: Path, requests: int = 1000) -> tuple[int, int]:
    """``parse_count()`` after a warm-up in German and English, and after ``requests`` more."""
    app = create_app({"SECRET_KEY": BENCH_SECRET}, instance_path=str(instance))
    client = app.test_client()
    languages = ("de", "en")
    for lang in languages:  # warm-up: each catalog is parsed here, once
        for path in ("/", "/privacy", "/consent/preferences"):
            client.get(path, headers={"Accept-Language": lang})
    warm = parse_count()
    for i in range(requests):
        response = client.get("/", headers={"Accept-Language": languages[i % 2]})
        if response.status_code != 200:
            raise RuntimeError(f"GET / answered {response.status_code}")
    return warm, parse_count()


def _worker_parses(port: int, workers: int = 2, rounds: int = 3) -> dict[str, int]:
    """Ask every gunicorn worker for its parse count.

    A sync worker serves one request at a time and the probe holds it 50 ms, so
    concurrent probes land on different workers.
    """
    seen: dict[str, int] = {}

    def probe() -> None:
        data = json.loads(http_request(port, "/_bench/parses?hold=0.05").body)
        seen[str(data["pid"])] = int(data["parses"])

    for _ in range(rounds):
        threads = [threading.Thread(target=probe) for _ in range(workers * 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        if len(seen) >= workers:
            break
    return seen


# -- orchestration ---------------------------------------------------------------


def split_cpus() -> tuple[frozenset[int], frozenset[int]]:
    """One CPU for the load generators, the rest shared by both servers; none on one CPU.

    On a small machine wrk and gunicorn would otherwise take CPU from each
    other, and how much differs from run to run. The two sites are measured at
    the same time on the same CPUs, so the scheduler shares those CPUs between
    them and a slow moment of the (virtual) machine slows both alike.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return frozenset(), frozenset()
    return frozenset(cpus[:1]), frozenset(cpus[1:])


def measure(
    workdir: Path,
    *,
    threads: int = 1,
    connections: int = 16,
    duration: float = 8.0,
    rounds: int = 2,
    blocks: int = 1,
    warmup: float = 2.0,
    force_python: bool = False,
    log: bool = True,
) -> LoadResult:
    """Load both sites for ``rounds`` rounds per visitor, in ``blocks`` server pairs.

    Each block starts a fresh pair of gunicorns. A process's speed depends a
    little on where its memory and hash tables happened to land (which is why
    tools such as pyperf run a benchmark in several processes), so one pair
    would make the whole run lucky or unlucky; several pairs average that out.
    """
    tool = "wrk" if shutil.which("wrk") and not force_python else "python"
    load_cpus, server_cpus = split_cpus()
    workers = len(server_cpus) or 2
    blocks = max(1, min(blocks, rounds))

    restarts = 0
    lock = threading.Lock()

    def run(server: Gunicorn, headers: dict[str, str], seconds: float) -> Run:
        nonlocal restarts
        pids, cpu_before = server.cpu_seconds()
        if tool == "wrk":
            result = wrk_run(server.origin + "/", headers, threads, connections, seconds, load_cpus)
        else:
            # Python clients need more than one process to keep a server busy.
            result = python_run(
                server.port, headers, max(2, threads), connections, seconds, load_cpus
            )
        pids_after, cpu_after = server.cpu_seconds()
        if pids_after != pids:
            with lock:
                restarts += 1  # a worker was replaced: its CPU time is not comparable
        result.cpu_seconds = max(0.0, cpu_after - cpu_before)
        return result

    def together(
        pool: ThreadPoolExecutor,
        servers: dict[str, Gunicorn],
        headers: dict[str, str],
        seconds: float,
    ) -> dict[str, Run]:
        # Both sites at the same moment, on the same server CPUs: whatever
        # else the machine does then slows both alike.
        futures = {
            site: pool.submit(run, server, headers, seconds) for site, server in servers.items()
        }
        return {site: future.result() for site, future in futures.items()}

    instance = workdir / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    env = {"SECRET_KEY": BENCH_SECRET, "CONSENT_INSTANCE_PATH": str(instance)}
    scenarios: dict[tuple[str, str], Scenario] = {
        (site, visitor): Scenario()
        for site in ("without", "with")
        for visitor in ("first", "returning")
    }
    cookie = ""
    worker_parses: dict[str, tuple[int, int]] = {}
    done = 0
    for block in range(blocks):
        block_rounds = (rounds - done) // (blocks - block)
        with (
            Gunicorn(
                "bench.wsgi:plain_app()",
                env,
                workdir / f"gunicorn-without-{block + 1}.log",
                workers=workers,
                cpus=server_cpus,
            ) as plain,
            Gunicorn(
                "bench.wsgi:consent_app()",
                env,
                workdir / f"gunicorn-with-{block + 1}.log",
                workers=workers,
                cpus=server_cpus,
            ) as full,
            ThreadPoolExecutor(2) as both,
        ):
            # One visitor for the whole run: the same key signs on every server.
            cookie = cookie or f"consent={accept_all(full.port)}"
            page = http_request(full.port, "/", headers={**HEADERS, "Cookie": cookie}).body
            if b'id="consent-banner"' in page:
                raise RuntimeError("the consent cookie was not honoured")
            servers = {"without": plain, "with": full}
            headers = {"first": HEADERS, "returning": {**HEADERS, "Cookie": cookie}}

            for visitor in ("first", "returning"):  # warm-up: imports, templates, catalogs
                together(both, servers, headers[visitor], warmup)
            warm = _worker_parses(full.port, workers)
            for n in range(done, done + block_rounds):
                for visitor in ("first", "returning") if n % 2 == 0 else ("returning", "first"):
                    runs = together(both, servers, headers[visitor], duration)
                    for site, result in runs.items():
                        scenarios[(site, visitor)].runs.append(result)
                        if log:
                            print(
                                f"  load block {block + 1} round {n + 1}: {site:7} {visitor:9}"
                                f" {result.rps:7.0f} req/s"
                                f"  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
                                f"  CPU {result.cpu_seconds / result.requests * 1000:.2f} ms/req",
                                flush=True,
                            )
            after = _worker_parses(full.port, workers)
            worker_parses.update(
                {pid: (warm.get(pid, -1), after.get(pid, -1)) for pid in {*warm, *after}}
            )
        done += block_rounds
    warm_count, after_count = catalog_parses(workdir / "parses")
    codec_us, codec_repeat_us = codec_cost()
    state_us = state_cost(workdir / "state")
    return LoadResult(
        tool=tool,
        threads=threads,
        connections=connections,
        duration=duration,
        rounds=rounds,
        blocks=blocks,
        scenarios=scenarios,
        codec_us=codec_us,
        codec_repeat_us=codec_repeat_us,
        codec_loops=2000,
        state_us=state_us,
        parses_warm=warm_count,
        parses_after=after_count,
        parse_requests=1000,
        worker_parses=worker_parses,
        worker_restarts=restarts,
        cookie_header=cookie,
        workers=workers,
        load_cpus=load_cpus,
        server_cpus=server_cpus,
    )
