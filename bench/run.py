"""``make bench``: every figure in one run on one machine; prints one table, writes BENCHMARKS.md.

python -m bench.run [--quick] [--python-load] [--no-write] [--strict]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench import competitors, instructions, load, outage, paint, sizes
from bench.common import BENCH_SECRET, ROOT
from bench.faults import faults_block
from bench.fuzz_record import fuzz_block
from examples.news import create_app

#: The budgets the lead set.
BUDGET_FIRST_VISIT_GZIP = 3 * 1024
BUDGET_RATIO_RETURNING = 0.95
BUDGET_RATIO_FIRST = 0.90
#: Page throughput while the receipt store is down and the spool full, over normal.
BUDGET_RATIO_OUTAGE = 0.90
#: Load: each of the four cases runs ROUNDS times for DURATION seconds, interleaved,
#: spread over BLOCKS fresh pairs of servers.
ROUNDS = 16
DURATION = 2.0
BLOCKS = 4


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    budget: str = ""
    result: str = ""


def _cpus(cpus: frozenset[int]) -> str:
    return ", ".join(str(c) for c in sorted(cpus))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tool_version(command: list[str]) -> str:
    path = shutil.which(command[0])
    if path is None:
        return "not installed"
    try:
        done = subprocess.run(
            [path, *command[1:]], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else ""
    )


def machine() -> dict[str, str]:
    load1, load5, _ = os.getloadavg()
    return {
        "CPU": cpu_model(),
        "nproc": str(len(os.sched_getaffinity(0))),
        "memory": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "Python": platform.python_version(),
        "Flask / gunicorn": f"{version('flask')} / {version('gunicorn')}",
        "wrk": tool_version(["wrk", "--version"]).split(" [", 1)[0],
        "load average at start (1 / 5 min)": f"{load1:.2f} / {load5:.2f}",
    }


def kb(n: int) -> str:
    return f"{n / 1024:.2f} KB"


def spread(values: list[float]) -> str:
    return f"{min(values):.0f} to {max(values):.0f}" if values else "-"


def size_text(size: sizes.Size) -> str:
    return f"{size.raw:,} B raw / {size.gzip:,} B gzip"


def build_rows(
    b: sizes.BytesResult,
    ld: load.LoadResult,
    pt: paint.PaintResult | None,
    skipped: str = "",
    ic: instructions.InstructionCounts | None = None,
    og: outage.OutageResult | None = None,
) -> list[Row]:
    rows: list[Row] = []
    first = b.first_visit
    rows += [
        Row("**Bytes** (raw / gzip -9)", ""),
        Row(
            "Banner HTML, first visit (`consent_banner()`, en, analytics + marketing)",
            size_text(b.html_first),
        ),
        Row(
            "Banner HTML, returning visitor (settings button; gpc.js after a marketing grant)",
            size_text(b.html_returning),
        ),
    ]
    for url, size in b.assets.items():
        rows.append(Row(f"`{url}` (linked by the banner)", size_text(size)))
    for url, size in b.returning_extra.items():
        rows.append(Row(f"`{url}` (linked for the returning visitor only)", size_text(size)))
    rows += [
        Row(
            "**Ours, first visit** (HTML + CSS + JS)",
            f"{size_text(first)} ({kb(first.gzip)} gzip)",
            f"≤ 3 KB ({BUDGET_FIRST_VISIT_GZIP:,} B) gzip",
            verdict(first.gzip <= BUDGET_FIRST_VISIT_GZIP),
        ),
        Row("Ours, returning visitor, cold cache (HTML + CSS + JS)", size_text(b.returning_cold)),
        Row(
            "Ours, returning visitor, warm cache (HTML; assets are cached for a year)",
            size_text(b.html_returning),
        ),
        Row(
            f"vanilla-cookieconsent {b.vanilla_version} (`cookieconsent.umd.js` + `.css`)",
            f"{size_text(b.vanilla)}; ours first visit = "
            f"{first.gzip / b.vanilla.gzip:.2f}x its gzip",
        ),
        Row(
            "  + its `CookieConsent.run()` config with our texts (inline, every page)",
            size_text(b.vanilla_config),
        ),
        Row(
            f"klaro {b.klaro_version} (`dist/klaro.js`, CSS bundled in the JS)",
            f"{size_text(b.klaro)}; ours first visit = {first.gzip / b.klaro.gzip:.2f}x its gzip",
        ),
        Row("Consent cookie a returning visitor sends (`consent=…`)", f"{b.cookie_header} B"),
    ]

    sc = ld.scenarios
    tool = (
        f"wrk -t{ld.threads} -c{ld.connections}"
        if ld.tool == "wrk"
        else f"Python load generator ({ld.threads} processes, {ld.connections} connections)"
    )
    pinned = (
        f" on CPU {_cpus(ld.server_cpus)}, load generator on CPU {_cpus(ld.load_cpus)}"
        if ld.server_cpus
        else ", not pinned: one CPU"
    )
    rows.append(
        Row(
            f"**Server**: GET / of the example site under gunicorn ({ld.workers} sync"
            f" worker{'s' if ld.workers != 1 else ''}{pinned}), {tool},"
            f" {ld.rounds} x {ld.duration:g} s per case"
            f" in {ld.blocks} fresh server pair{'s' if ld.blocks != 1 else ''}",
            "",
        )
    )
    for visitor, budget in (("first", BUDGET_RATIO_FIRST), ("returning", BUDGET_RATIO_RETURNING)):
        without, with_ = sc[("without", visitor)], sc[("with", visitor)]
        ratio = ld.ratio(visitor)
        rounds = ld.round_ratios(visitor)
        label = "first visit (no cookie)" if visitor == "first" else "returning visitor (cookie)"
        rows += [
            Row(
                f"Throughput, {label}: without → with extension",
                f"{without.rps:,.0f} → {with_.rps:,.0f} req/s; ratio **{ratio:.2f}**"
                f" (median of rounds: {', '.join(f'{r:.2f}' for r in rounds)};"
                f" pooled {ld.pooled_ratio(visitor):.2f})",
                f"ratio ≥ {budget:.2f}",
                verdict(ratio >= budget),
            ),
            Row(
                f"Latency p50 / p99, {label}: without → with",
                f"{without.p50_ms:.1f} / {without.p99_ms:.1f} ms → "
                f"{with_.p50_ms:.1f} / {with_.p99_ms:.1f} ms",
            ),
            Row(
                f"Server CPU per request, {label}: without → with",
                f"{without.cpu_ms:.2f} → {with_.cpu_ms:.2f} ms"
                f" (+{with_.cpu_ms - without.cpu_ms:.2f} ms); CPU-bound ratio"
                f" {ld.cpu_ratio(visitor):.2f}",
            ),
        ]
        if ic is not None:
            without_ir, with_ir = (
                ic.per_request[("without", visitor)],
                ic.per_request[("with", visitor)],
            )
            rows.append(
                Row(
                    f"Instructions per request (callgrind, 1 worker), {label}: without → with",
                    f"{without_ir / 1e6:.3f} M → {with_ir / 1e6:.3f} M"
                    f" (+{(with_ir - without_ir) / 1e3:.0f} k); ratio {ic.ratio(visitor):.3f}",
                )
            )
    total = sum(s.requests for s in sc.values())
    errors = sum(s.errors for s in sc.values())
    non_2xx = sum(s.non_2xx for s in sc.values())
    s5xx = sum(s.s5xx for s in sc.values())
    rows += [
        Row(
            "Errors in all measured runs (both sites)",
            f"{errors} socket errors, {non_2xx} non-2xx, {s5xx} 5xx in {total:,} requests"
            f"; {ld.worker_restarts} worker restarts",
            "0",
            verdict(errors == 0 and non_2xx == 0 and s5xx == 0),
        ),
        Row(
            "`ChoiceCodec.loads()` of one valid cookie: read + verify (a new cookie)",
            f"{ld.codec_us:.1f} µs (best of 7 x {ld.codec_loops:,} different cookies)",
        ),
        Row(
            "`ChoiceCodec.loads()` of the same cookie again (warm process)",
            f"{ld.codec_repeat_us:.2f} µs (best of 7 x {ld.codec_loops * 10:,})",
        ),
        Row(
            "A returning visitor's state from a `Cookie` header seen before (`load_state()`)",
            f"{ld.state_us:.2f} µs (best of 7 x 20,000)",
        ),
        Row(
            f"Catalog parses in one process, {ld.parse_requests:,} requests de/en after warm-up",
            f"`parse_count()` {ld.parses_warm} → {ld.parses_after}",
            "unchanged",
            verdict(ld.parses_warm == ld.parses_after),
        ),
    ]
    workers = ", ".join(
        f"pid {pid}: {a} → {b_}" for pid, (a, b_) in sorted(ld.worker_parses.items())
    )
    rows.append(
        Row(
            "Catalog parses per gunicorn worker, after warm-up → after the load",
            workers or "no worker answered",
            "unchanged",
            verdict(bool(workers) and all(a == b_ for a, b_ in ld.worker_parses.values())),
        )
    )

    if og is not None:
        rows += outage_rows(og)

    if pt is None:
        rows.append(Row("**Time to banner**", f"not measured: {skipped}"))
        return rows
    ours, van = pt.sides["ours"], pt.sides["vanilla"]
    rows += [
        Row(
            f"**Time to banner**, headless Chromium {pt.chromium}, median of {pt.runs}"
            " fresh contexts (ms since navigation start)",
            "",
        ),
        Row(
            "Banner painted (Element Timing of its title): ours vs vanilla-cookieconsent",
            f"{ours.median('painted'):.0f} ms vs {van.median('painted'):.0f} ms"
            f" ({ours.median('painted') / van.median('painted'):.2f}x); ranges"
            f" {spread(ours.values['painted'])} vs {spread(van.values['painted'])}",
        ),
        Row(
            "Banner painted and fully opaque (fade-in done): ours vs vanilla",
            f"{ours.settled():.0f} ms vs {van.settled():.0f} ms"
            f" ({ours.settled() / van.settled():.2f}x)",
        ),
        Row(
            "First contentful paint: ours vs vanilla",
            f"{ours.median('fcp'):.0f} ms vs {van.median('fcp'):.0f} ms; ranges"
            f" {spread(ours.values['fcp'])} vs {spread(van.values['fcp'])}",
        ),
        Row(
            "HTML response end: ours (rendered by Flask) vs vanilla (static)",
            f"{ours.median('response_end'):.1f} ms vs {van.median('response_end'):.1f} ms",
        ),
    ]
    return rows


def outage_rows(og: outage.OutageResult) -> list[Row]:
    down, normal = og.decisions["outage"], og.decisions["normal"]
    ratio = og.ratio()
    return [
        Row(
            f"**Receipt store down** (PostgreSQL at a closed port), spool full"
            f" ({og.spool_max:,}); {og.posters} visitors posting decisions,"
            f" {og.rounds} x {og.duration:g} s per server",
            "",
        ),
        Row(
            "Decision latency p50 / p99: store down, spool full (normal store)",
            f"{down.percentile(50):.1f} / {down.percentile(99):.1f} ms"
            f" ({normal.percentile(50):.1f} / {normal.percentile(99):.1f} ms);"
            f" {down.count:,} decisions answered, {down.failed} failed;"
            f" {og.lost_logged:,} receipts logged as LOST with their JSON",
        ),
        Row(
            "Page throughput during the outage: normal → outage",
            f"{og.page_rps('normal'):,.0f} → {og.page_rps('outage'):,.0f} req/s; ratio"
            f" **{ratio:.2f}** (rounds: {', '.join(f'{r:.2f}' for r in og.round_ratios())});"
            f" {og.page_errors} page errors",
            f"ratio ≥ {BUDGET_RATIO_OUTAGE:.2f}",
            verdict(ratio >= BUDGET_RATIO_OUTAGE and og.page_errors == 0 and down.failed == 0),
        ),
    ]


def table(rows: list[Row]) -> str:
    lines = ["| Figure | Value | Budget | Result |", "| --- | --- | --- | --- |"]
    lines += [f"| {r.figure} | {r.value} | {r.budget} | {r.result} |" for r in rows]
    return "\n".join(lines)


METHODS = """\
## How each figure is measured

All figures come from one `make bench` run (`python -m bench.run`) on the
machine above; servers listen on 127.0.0.1 only and every load is bounded in time.

**Bytes.** `consent_banner()` is rendered in a test request (`Accept-Language: en`)
of a minimal app with `CONSENT_CATEGORIES = ["analytics", "marketing"]`: once with
no cookie (first visit) and once with the cookie that `POST /consent/accept` set
(returning visitor). Every `<link href>` and `<script src>` in that output is
fetched through the Flask test client. Each piece is measured raw and as
`gzip -9` (Python's `gzip.compress(level=9)`), each file compressed on its own,
as it travels; totals are sums. "Warm cache" leaves out CSS and JS because the
banner links them with a content hash and they are served with
`Cache-Control: max-age=31536000`. gcm.js (Google Consent Mode) is emitted by
`consent_head()`, not by the banner, and is not counted. vanilla-cookieconsent
(latest 3.x) and klaro (latest 0.7.x) come from the npm registry
(`npm install --prefix <tempdir>`); their files are measured the same way. Their
configuration script is extra on every page: the one used for the time-to-banner
page is shown for vanilla-cookieconsent. Budget: first visit ≤ 3 KB gzip.

**Server overhead.** The example site (`examples/news`, article page `/`) runs
under gunicorn (sync workers) on a free 127.0.0.1 port, as
`bench.wsgi:consent_app()`. The comparison, `bench.wsgi:plain_app()`, is the
same Flask app with the same configuration (`SECRET_KEY` included, so Flask
opens its session on both) but without `Consent`: it renders the same templates
and article, with `consent_banner`, `consent_script`, `consent_settings_link`,
`consent_head` (and `consent_iframe`, `consent_cookie_table`) registered as
globals that return `''`; it picks the article's language with werkzeug's
`request.accept_languages.best_match(["de", "en"])`, where the example asks the
extension (`get_locale()`). On a machine with two or more CPUs, the load
generators are pinned to the first CPU and both gunicorns to the others (one
sync worker per CPU), so wrk does not take CPU from the servers it measures. The
two sites are measured at the same moment: each round starts one wrk run against
each site together, so the scheduler shares the server CPUs between them and
whatever else the (virtual) machine does in that moment slows both alike; the
ratio of their throughputs is then the ratio of their costs per request. Each of
the two visitor cases gets 16 rounds of 2 s (the order of the cases alternates),
spread over 4 blocks: each block starts a fresh pair of gunicorns, warms both up
(2 s of each visitor case, both sites together) and runs 4 rounds. A process's
speed depends a little on where its memory and hash tables happened to land, so
with one pair of servers a whole run could be lucky or unlucky for one site
(which is why tools such as pyperf run a benchmark in several processes); four
pairs average that out. The load is `wrk -t1 -c16 -d2s --timeout 5s` per
site with `Accept-Language: de`; the returning visitor sends the consent cookie
obtained by `POST /consent/accept` on every request (one visitor: a process
keeps the state per `Cookie` header, so it parses and verifies that cookie
once). A wrk Lua script counts every status; socket errors come from wrk's
summary. The ratio is the median of the rounds' with / without throughput ratios
(each round's own is listed, and the pooled figure of all rounds too);
throughput in req/s is per site while the two share the CPUs, so it is about
half of what one site alone would get. p50/p99 are wrk's per run, averaged over
the rounds. Server CPU per request is the user + system time of the gunicorn
workers (from `/proc/<pid>/stat`) during the runs divided by the requests
answered; "CPU-bound ratio" is without / with of that, which is what the
throughput ratio tends to when the server's CPU is the only limit. Without wrk
(not root, no apt) a bounded Python closed-loop generator (2 processes x 8
threads, `http.client`) is used and named in the table. Budgets: with/without ≥
0.90 first visit, ≥ 0.95 returning; zero errors and zero 5xx.

**Instructions per request.** Requests per second on a shared virtual machine
move by a few percent from run to run, the size of the effect measured above.
So both sites also run once more under callgrind (`valgrind --tool=callgrind`,
one sync worker each, at the same time): after 30 warm-up requests of each
visitor, the worker's counters are zeroed (`callgrind_control --dump`), then 300
sequential requests per visitor are counted, the same requests as under wrk.
The ratio is without / with instructions per request, the throughput ratio if
executed instructions were the only cost; it leaves out cache misses and the
kernel. Skipped, and said so, when valgrind is not installed.

**Cookie cost.** `ChoiceCodec.loads()` on valid signed cookies, per call, best
of 7 repeats: first 2,000 different cookies through a fresh codec each repeat,
so every call reads and verifies the signature (the codec keeps verified values
per process); then `timeit` of one cookie read 20,000 times. A page does not
call the codec for a `Cookie` header the process has seen before: the last
figure is `consent.state.load_state()` for such a header (the consent cookie
and an analytics cookie), what a returning visitor's page pays for its state.

**Catalog parses.** In one process: the example app gets a warm-up (`/`,
`/privacy`, `/consent/preferences` in German and English), then 1,000 requests
to `/` alternating `Accept-Language: de` and `en`; `consent.i18n.parse_count()`
must not change. Under gunicorn each worker answers `/_bench/parses` (a route
only `bench.wsgi` adds) with its pid and `parse_count()` after the warm-up and
after all load.

**Time to banner.** Debian's Chromium (`/usr/bin/chromium`, headless, `--no-sandbox
--disable-gpu --disable-background-networking --disable-component-update
--disable-sync --no-first-run`) through Playwright. Each run is a fresh browser
context (empty cache, no cookies, `locale=de-DE`); ours and vanilla-cookieconsent
alternate, after one uncounted warm-up load each. Ours: the example site served by
werkzeug's threaded server in the benchmark process (it has Google Consent Mode
on, so its `<head>` also loads gcm.js). vanilla-cookieconsent: the
same article HTML (rendered by `plain_app`, German), with `cookieconsent.css` in
`<head>` and `cookieconsent.umd.js` plus `CookieConsent.run({...})` at the end of
`<body>` as its documentation shows, configured with our banner's title, text and
button labels and `hideFromBots: false` (its default hides the banner from
automated browsers); served by the same werkzeug server type. An init script runs
before the page's own scripts: a MutationObserver puts `elementtiming` on the
banner's title as soon as it is in the DOM, and the Element Timing `renderTime`
of that title is "banner painted" (the frame that first paints it is presented);
a `requestAnimationFrame` poll records the first frame in which the banner box is
in the viewport, `visibility: visible` and fully opaque along its ancestors;
"fully opaque" is the later of the two (vanilla-cookieconsent fades in).
First contentful paint is the Paint Timing entry. All times are `performance.now()`
values, i.e. milliseconds since navigation start; the table shows medians.
"""


NOISE = """\
Throughput and time to banner are wall-clock measurements on this machine while
it did whatever else it was doing (see the load averages above). The two sites
are loaded at the same moment on the same CPU, so a slow moment hits both and
the ratios hold; the req/s themselves are per site while they share that CPU,
and the per-round ratios and the ranges show the spread. Byte counts do not
depend on the machine."""


def budgets(rows: list[Row]) -> list[str]:
    return [
        f"- {r.result.strip('*')}: {r.figure.replace('**', '')} — {r.value.replace('**', '')}"
        f" (budget: {r.budget})"
        for r in rows
        if r.budget
    ]


def write_markdown(
    path: Path, rows: list[Row], info: dict[str, str], started: datetime, seconds: float
) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`); do not edit by hand, run it again.",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC (`python -m bench.run` took {seconds:.0f} s)",
        *(f"- {k}: {v}" for k, v in info.items()),
        "",
        "## Budgets",
        "",
        *budgets(rows),
        "",
        "## Figures",
        "",
        table(rows),
        "",
        NOISE,
        "",
        METHODS,
        outage.METHOD,
        "",
        fuzz_block(),
        "",
        faults_block(),
        "",
    ]
    path.write_text("\n".join(lines))


def our_texts(instance: Path) -> dict[str, str]:
    app = create_app({"SECRET_KEY": BENCH_SECRET}, instance_path=str(instance))
    page = app.test_client().get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    return competitors.banner_texts(page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, to try the bench")
    parser.add_argument("--python-load", action="store_true", help="do not use wrk")
    parser.add_argument("--skip-paint", action="store_true", help="no browser")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget fails")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)

    started = datetime.now(UTC)
    clock = time.monotonic()
    info = machine()
    print("flask-consent-banner benchmark", started.strftime("%Y-%m-%d %H:%M UTC"), flush=True)
    for key, value in info.items():
        print(f"  {key}: {value}")

    with tempfile.TemporaryDirectory(prefix="consent-bench-") as tmp:
        work = Path(tmp)
        print("npm install", " ".join(competitors.PACKAGES), flush=True)
        node_modules = competitors.npm_install(work / "npm")
        config = competitors.vanilla_config(our_texts(work / "texts"))

        print("bytes", flush=True)
        size_result = sizes.measure(node_modules, config, work)

        print("server load (gunicorn)", flush=True)
        load_result = load.measure(
            work / "load",
            duration=2.0 if args.quick else DURATION,
            rounds=2 if args.quick else ROUNDS,
            blocks=1 if args.quick else BLOCKS,
            warmup=1.0 if args.quick else 2.0,
            force_python=args.python_load,
        )

        print("receipt store outage (gunicorn)", flush=True)
        outage_result = outage.measure(
            work / "outage",
            rounds=2 if args.quick else 4,
            warmup=1.0 if args.quick else 2.0,
            force_python=args.python_load,
        )

        instruction_counts = None
        if instructions.available():
            print("instructions per request (callgrind)", flush=True)
            instruction_counts = instructions.measure(work, requests=100 if args.quick else 300)
        else:
            print("instructions per request: skipped, no valgrind (apt-get install valgrind)")

        paint_result = None
        skipped = "--skip-paint" if args.skip_paint else ""
        if not os.access(paint.CHROMIUM, os.X_OK):
            skipped = f"{paint.CHROMIUM} not found (apt-get install chromium)"
            print(f"time to banner: skipped, {skipped}", flush=True)
        if not skipped:
            print("time to banner (Chromium)", flush=True)
            paint_result = paint.measure(node_modules, config, work, runs=7 if args.quick else 15)

    load1, load5, _ = os.getloadavg()
    info["load average at end (1 / 5 min)"] = f"{load1:.2f} / {load5:.2f}"
    if paint_result is not None:
        info["Chromium"] = paint_result.chromium
    info["vanilla-cookieconsent / klaro"] = (
        f"{size_result.vanilla_version} / {size_result.klaro_version} (npm)"
    )
    rows = build_rows(
        size_result, load_result, paint_result, skipped, instruction_counts, outage_result
    )
    seconds = time.monotonic() - clock
    print()
    print(table(rows))
    print(f"\n(took {seconds:.0f} s)")
    if not args.no_write:
        write_markdown(args.output, rows, info, started, seconds)
        print(f"wrote {args.output}")
    failed = [r.figure for r in rows if r.result.endswith("FAIL**")]
    if failed:
        print(f"{len(failed)} budget(s) not met: " + "; ".join(failed), file=sys.stderr)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
