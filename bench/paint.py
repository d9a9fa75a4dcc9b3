"""Time to banner in headless Chromium: ours vs vanilla-cookieconsent on the same article."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response

from bench.common import BENCH_SECRET
from bench.wsgi import NEWS_DIR, plain_app
from examples.news import create_app
from tests.serving import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: The banner box and its title: ours, and vanilla-cookieconsent's consent modal.
SELECTORS = {
    "ours": ("#consent-banner", "#consent-title"),
    "vanilla": ("#cc-main .cm", "#cc-main .cm__title"),
}
TIMEOUT_MS = 15_000

#: Runs before any script of the page (times are performance.now(), i.e. since
#: navigation start):
#: - painted: Element Timing renderTime of the banner's title, the moment the
#:   frame that first paints its text is presented (the attribute is added by a
#:   MutationObserver as soon as the title is in the DOM, before any rendering);
#: - opaque: a requestAnimationFrame poll, the first frame in which the banner
#:   box is in the viewport, visibility "visible" and fully opaque along its
#:   ancestors (a fade-in has finished);
#: - first-contentful-paint from the Paint Timing API, read by the caller.
PROBE = """
(() => {
  const [box, title] = [%r, %r];
  const state = window.__banner = { painted: null, opaque: null, inserted: null };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.identifier === "consent-bench" && state.painted === null) {
        state.painted = e.renderTime || e.loadTime;
      }
    }
  }).observe({ type: "element", buffered: true });
  new MutationObserver(() => {
    const el = document.querySelector(title);
    if (el && !el.hasAttribute("elementtiming")) {
      el.setAttribute("elementtiming", "consent-bench");
      state.inserted = performance.now();
    }
  }).observe(document, { childList: true, subtree: true });
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.display === "none") return 0;
      o *= parseFloat(cs.opacity);
    }
    return o;
  };
  const frame = () => {
    const el = document.querySelector(box);
    if (el) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight
          && getComputedStyle(el).visibility === "visible" && opacity(el) >= 0.99) {
        state.opaque = performance.now();
        return;
      }
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();
"""

READY = (
    "() => window.__banner && window.__banner.opaque !== null && window.__banner.painted !== null"
)

READ = """() => {
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  const nav = performance.getEntriesByType("navigation")[0];
  return {
    painted: window.__banner.painted,
    opaque: window.__banner.opaque,
    inserted: window.__banner.inserted,
    fcp: paint ? paint.startTime : null,
    response_end: nav ? nav.responseEnd : null,
  };
}"""

#: What each run records, in milliseconds since navigation start.
KEYS = ("painted", "opaque", "fcp", "inserted", "response_end")


@dataclass
class Side:
    """Every run of one page: ``KEYS`` -> values in ms."""

    values: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KEYS})

    def median(self, key: str) -> float:
        found = self.values[key]
        return statistics.median(found) if found else float("nan")

    def settled(self) -> float:
        """Median of max(painted, opaque): the banner painted and any fade-in finished."""
        pairs = zip(self.values["painted"], self.values["opaque"], strict=True)
        found = [max(p, o) for p, o in pairs]
        return statistics.median(found) if found else float("nan")


@dataclass
class PaintResult:
    runs: int
    chromium: str
    sides: dict[str, Side]


def vanilla_page(config: str) -> str:
    """The article page without our extension, with vanilla-cookieconsent added as documented."""
    app = plain_app({"SECRET_KEY": BENCH_SECRET})
    html = app.test_client().get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    head = '<link rel="stylesheet" href="/cc/cookieconsent.css">\n</head>'
    body = f'<script src="/cc/cookieconsent.umd.js"></script>\n<script>{config}</script>\n</body>'
    return html.replace("</head>", head, 1).replace("</body>", body, 1)


def vanilla_app(node_modules: Path, config: str) -> Flask:
    """Static: the page, the site's CSS and the library's two files."""
    app = Flask(__name__, static_folder=None)
    page = vanilla_page(config).encode()
    dist = node_modules / "vanilla-cookieconsent" / "dist"
    files = {
        "/static/site.css": (NEWS_DIR / "static" / "site.css", "text/css"),
        "/cc/cookieconsent.css": (dist / "cookieconsent.css", "text/css"),
        "/cc/cookieconsent.umd.js": (dist / "cookieconsent.umd.js", "text/javascript"),
    }

    @app.get("/")
    def index() -> Response:
        return Response(page, mimetype="text/html")

    @app.get("/<path:name>")
    def asset(name: str) -> Response:
        found = files.get("/" + name)
        if found is None:
            return Response("not found", status=404)
        return Response(found[0].read_bytes(), mimetype=found[1])

    return app


def _one(browser: Any, url: str, selectors: tuple[str, str]) -> dict[str, float | None]:
    """One fresh context (empty cache, no cookies) and one page load."""
    context = browser.new_context(locale="de-DE")
    try:
        context.add_init_script(PROBE % selectors)
        page = context.new_page()
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        page.wait_for_function(READY, timeout=TIMEOUT_MS)
        page.wait_for_load_state("load", timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => performance.getEntriesByName('first-contentful-paint').length > 0",
            timeout=TIMEOUT_MS,
        )
        result: dict[str, float | None] = page.evaluate(READ)
        return result
    finally:
        context.close()


def measure(
    node_modules: Path, config: str, workdir: Path, runs: int = 9, log: bool = True
) -> PaintResult:
    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    ours_app = create_app({"SECRET_KEY": BENCH_SECRET}, instance_path=str(workdir / "paint"))
    sides = {name: Side() for name in SELECTORS}
    with (
        serve(ours_app) as ours,
        serve(vanilla_app(node_modules, config)) as vanilla,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            origins = {"ours": ours + "/", "vanilla": vanilla + "/"}
            for name, url in origins.items():  # warm-up, not counted
                _one(browser, url, SELECTORS[name])
            for n in range(runs):
                names = list(origins) if n % 2 == 0 else list(origins)[::-1]
                for name in names:
                    got = _one(browser, origins[name], SELECTORS[name])
                    for key in KEYS:
                        value = got.get(key)
                        if value is not None:
                            sides[name].values[key].append(float(value))
                    if log:
                        print(
                            f"  paint run {n + 1}: {name:7} banner painted"
                            f" {got['painted'] or 0:4.0f} ms, opaque {got['opaque'] or 0:4.0f} ms,"
                            f" FCP {got['fcp'] or 0:4.0f} ms",
                            flush=True,
                        )
            version = str(browser.version)
        finally:
            browser.close()
    return PaintResult(runs=runs, chromium=version, sides=sides)
