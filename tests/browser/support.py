"""Helpers shared by the browser tests (no fixtures here: see conftest.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, Response

GERMAN = {"locale": "de-DE"}
DARK = {"color_scheme": "dark"}

#: The seed site's German banner, word for word.
SEED_TITLE = "Diese Website verwendet Cookies"
SEED_TEXT = (
    "Wir verwenden Cookies für Analysen, um unsere Website zu verbessern. Lesen Sie unsere"
    " Datenschutzrichtlinie für weitere Informationen."
)

#: The example news site's gated scripts: the external tag and the inline one.
NEWS_SCRIPT = "/static/analytics.js"
NEWS_GLOBALS = ("newsAnalytics", "newsAnalyticsInline")
NEWS_COOKIE = "_pk_id.news"

#: An init script that records every Content-Security-Policy violation in window.__csp.
RECORD_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""

#: Waits for two frames, so layout, paint and observers have caught up.
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


class Visit:
    """One browser context with one page, and what it did on the wire."""

    def __init__(self, origin: str, context: BrowserContext, page: Page) -> None:
        self.origin = origin
        self.context = context
        self.page = page
        self.requests: list[tuple[str, str, str]] = []  # (method, url, resource type)
        self.errors: list[str] = []
        context.on("request", lambda r: self.requests.append((r.method, r.url, r.resource_type)))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", self._on_console)
        page.on("response", self._on_response)
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url} {r.failure}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        # Failed loads are reported with their URL by _on_response/requestfailed.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console: {message.text}")

    def _on_response(self, response: Response) -> None:
        # Chromium asks for /favicon.ico on its own; the sites have none.
        if response.status >= 400 and urlsplit(response.url).path != "/favicon.ico":
            self.errors.append(f"HTTP {response.status}: {response.url}")

    # -- navigation ---------------------------------------------------------
    def goto(self, path: str = "/") -> Response:
        response = self.page.goto(self.origin + path)
        assert response is not None
        assert response.ok, f"{path}: HTTP {response.status}"
        return response

    def reload(self) -> None:
        response = self.page.reload()
        assert response is not None
        assert response.ok

    def mark_document(self) -> None:
        """Tag the current document; ``same_document()`` is false after any navigation."""
        self.page.evaluate("window.__sameDocument = true")

    def same_document(self) -> bool:
        return bool(self.page.evaluate("window.__sameDocument === true"))

    # -- what happened -------------------------------------------------------
    def paths_requested(self, since: int = 0) -> list[str]:
        return [urlsplit(url).path for _, url, _ in self.requests[since:]]

    def requested(self, path: str, since: int = 0) -> bool:
        return path in self.paths_requested(since)

    def documents_requested(self, since: int = 0) -> list[str]:
        return [url for _, url, kind in self.requests[since:] if kind == "document"]

    def cookies(self) -> dict[str, Any]:
        return {c["name"]: c for c in self.context.cookies()}

    def globals_set(self, *names: str) -> dict[str, bool]:
        return {n: bool(self.page.evaluate(f"() => Boolean(window[{n!r}])")) for n in names}

    def gated_sources(self) -> list[str]:
        """The URLs of scripts still waiting for consent on this page."""
        return list(
            self.page.eval_on_selector_all(
                'script[type="text/plain"][data-src]', "els => els.map(e => e.dataset.src)"
            )
        )

    # -- parts of the consent UI --------------------------------------------
    @property
    def banner(self) -> Locator:
        return self.page.locator("#consent-banner")

    @property
    def dialog(self) -> Locator:
        return self.page.locator("#consent-dialog")

    @property
    def reopen(self) -> Locator:
        """The floating "Cookie settings" button shown after a choice."""
        return self.page.locator("#consent-reopen button")

    @property
    def intro(self) -> Locator:
        """The banner's sentence (the paragraph right after its heading)."""
        return self.banner.locator("h2 + p")

    def banner_button(self, name: str) -> Locator:
        return self.banner.get_by_role("button", name=name, exact=True)

    def focused(self) -> dict[str, Any]:
        """What has focus: tag, text, whether it is visible and inside the banner."""
        return dict(
            self.page.evaluate(
                """() => {
                  const el = document.activeElement;
                  const r = el.getBoundingClientRect();
                  const s = getComputedStyle(el);
                  return {
                    tag: el.tagName.toLowerCase(),
                    text: (el.getAttribute('aria-label') || (el.labels && el.labels[0]
                           ? el.labels[0].innerText : el.innerText) || '').trim(),
                    isBody: el === document.body,
                    key: [...document.querySelectorAll('*')].indexOf(el),
                    visible: r.width > 0 && r.height > 0 && s.visibility !== 'hidden',
                    inBanner: !!el.closest('#consent-banner'),
                    inDialog: !!el.closest('dialog'),
                    outlineStyle: s.outlineStyle,
                    outlineWidth: parseFloat(s.outlineWidth),
                  };
                }"""
            )
        )


# -- colour contrast (WCAG 2.x relative luminance) ---------------------------

#: The text colour of an element and the opaque colour behind it, composited
#: from the element's own background up through its ancestors (canvas: white
#: in light mode, Chromium's dark canvas in dark mode).
COLORS_JS = """el => {
  const parse = c => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) throw new Error('unexpected colour ' + c);
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => [0, 1, 2].map(i => top[i] * top[3] + below[i] * (1 - top[3]));
  const layers = [];
  for (let n = el; n; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] >= 1) break;
  }
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  let bg = dark ? [18, 18, 18] : [255, 255, 255];
  for (const layer of layers.reverse()) bg = over(layer, bg);
  const fg = over(parse(getComputedStyle(el).color), bg);
  return {fg, bg};
}"""


def _luminance(rgb: list[float]) -> float:
    def channel(v: float) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(locator: Locator) -> float:
    colors = locator.evaluate(COLORS_JS)
    light, dark = sorted((_luminance(colors["fg"]), _luminance(colors["bg"])), reverse=True)
    return (light + 0.05) / (dark + 0.05)
