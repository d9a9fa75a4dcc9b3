"""Real-browser fixtures: Debian's Chromium through Playwright, apps on 127.0.0.1.

One browser and one server per site for the whole session; every test gets
fresh browser contexts (its own cookies, storage and cache), so tests never
see each other's choices.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from examples.news import create_app as create_news_app
from tests.browser.hosts import NODE_MODULES, STYLESHEETS
from tests.browser.hosts import create_app as create_host_app
from tests.browser.shop import create_app as create_shop_app
from tests.browser.support import Visit
from tests.serving import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SKIP_LINE = (
    "browser tests skipped: Debian's Chromium not found; install it with:"
    " sudo apt-get install chromium"
)
#: How long any single wait may take; generous for a loaded 2-core CI machine.
TIMEOUT_MS = 10_000


@functools.cache
def find_chromium() -> str | None:
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Without Chromium: skip every browser test (one folded line under -ra); on CI, fail.

    Raised here rather than in a fixture so that pytest reports one location
    for all of them instead of one line per test.
    """
    if find_chromium() is not None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(
            "CI=true but Debian's Chromium was not found at /usr/bin/chromium or on"
            " PATH; the browser tests must run on CI: sudo apt-get install chromium",
            pytrace=False,
        )
    pytest.skip(SKIP_LINE)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    assert path is not None  # pytest_runtest_setup skipped the test otherwise
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _serve(app: Flask) -> Iterator[str]:
    with serve(app) as origin:
        yield origin


@pytest.fixture(scope="session")
def news(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Origin of the example news site (one category: analytics)."""
    instance = tmp_path_factory.mktemp("news-instance")
    app = create_news_app(
        {"SECRET_KEY": "browser-test-secret-key-that-is-long-enough-01234"},
        instance_path=str(instance),
    )
    yield from _serve(app)


@pytest.fixture(scope="session")
def shop() -> Iterator[str]:
    """Origin of the test shop (analytics, marketing, preferences; strict CSP)."""
    yield from _serve(create_shop_app())


@pytest.fixture(scope="session")
def host_stylesheets() -> None:
    """Bootstrap, Pico, Tailwind's preflight and normalize.css, installed from npm
    with the committed lock file (once; again when the lock file changes)."""
    installed = NODE_MODULES / ".package-lock.json"
    lock = STYLESHEETS / "package-lock.json"
    if installed.is_file() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        message = "host-stylesheet tests need npm (Debian: sudo apt-get install npm)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=STYLESHEETS,
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def hosts(host_stylesheets: None) -> Iterator[Callable[..., str]]:
    """``hosts(**config)``: the origin of the host test site with that configuration
    (``CONSENT_THEME="dark"``, ``csrf=True`` for Flask-WTF's CSRFProtect), one
    server per configuration for the whole session."""
    with contextlib.ExitStack() as stack:
        origins: dict[tuple[tuple[str, Any], ...], str] = {}

        def origin(**config: Any) -> str:
            key = tuple(sorted(config.items()))
            if key not in origins:
                origins[key] = stack.enter_context(serve(create_host_app(**config)))
            return origins[key]

        yield origin


@pytest.fixture
def visit(browser: Any) -> Iterator[Callable[..., Visit]]:
    """``visit(origin, path, **context_options)``: a fresh context and page, loaded.

    Every request the context makes and every script error or console error
    is recorded; a test ends with an error if the page logged one it did not
    expect (clear ``v.errors`` in the test when it provokes one on purpose).
    """
    opened: list[Visit] = []

    def open_visit(origin: str, path: str | None = "/", **options: Any) -> Visit:
        # locale=None: no context locale, so the test can switch languages
        # with page.set_extra_http_headers({"Accept-Language": ...}).
        if options.setdefault("locale", "en-GB") is None:
            del options["locale"]
        options.setdefault("viewport", {"width": 1024, "height": 700})
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        v = Visit(origin, context, context.new_page())
        opened.append(v)
        if path is not None:
            v.goto(path)
        return v

    yield open_visit
    for v in opened:
        v.context.close()
    errors = [e for v in opened for e in v.errors]
    assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """docs/ when SCREENSHOTS=1 (to refresh the README pictures), else a temp dir."""
    if os.environ.get("SCREENSHOTS") == "1":
        docs = Path(__file__).resolve().parents[2] / "docs"
        docs.mkdir(exist_ok=True)
        return docs
    return tmp_path
