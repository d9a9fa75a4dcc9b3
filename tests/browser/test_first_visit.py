"""Issue 3, point 1: the first visit shows the server-rendered banner and runs nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.browser.support import GERMAN, NEWS_GLOBALS, NEWS_SCRIPT, SEED_TEXT, SEED_TITLE, Visit

pytestmark = pytest.mark.browser

ENGLISH_TEXT = (
    "We use cookies for analytics to improve our website. Read our privacy policy for more"
    " information."
)
CONSENT_JS = "**/consent/static/consent/consent.min.js*"
#: The space the banner's script keeps below the page, as it set it on <html>.
SPACE = "document.documentElement.style.getPropertyValue('--consent-space')"


@pytest.mark.parametrize(
    ("options", "title", "text", "buttons"),
    [
        pytest.param(
            GERMAN, SEED_TITLE, SEED_TEXT, ("Einstellungen", "Ablehnen", "Akzeptieren"), id="de"
        ),
        pytest.param(
            {"locale": "en-GB"},
            "This website uses cookies",
            ENGLISH_TEXT,
            ("Settings", "Decline", "Accept"),
            id="en",
        ),
    ],
)
def test_first_visit_shows_the_banner_at_once_and_runs_and_stores_nothing(
    visit: Callable[..., Visit],
    news: str,
    options: dict[str, str],
    title: str,
    text: str,
    buttons: tuple[str, ...],
) -> None:
    v = visit(news, None, **options)

    # 1. With the banner's only script held back, whatever shows came from the server.
    v.page.route(CONSENT_JS, lambda route: route.abort())
    response = v.goto("/")
    html = response.text()
    assert '<section id="consent-banner"' in html
    assert title in html
    expect(v.banner).to_be_visible()
    expect(v.banner).to_be_in_viewport()
    expect(v.banner.get_by_role("heading", level=2)).to_have_text(title)
    expect(v.intro).to_have_text(text)
    expect(v.banner.get_by_role("link")).to_have_attribute("href", "/privacy")
    expect(v.banner.get_by_role("button")).to_have_text(list(buttons))
    assert v.banner.evaluate("el => getComputedStyle(el).position") == "fixed"  # styled
    assert v.page.evaluate(SPACE) == ""
    v.errors.clear()  # the load we aborted on purpose

    # 2. With the script, on a fresh load: still nothing gated runs, nothing is stored.
    v.page.unroute(CONSENT_JS)
    v.reload()
    v.page.wait_for_load_state("load")
    assert v.page.evaluate(SPACE).endswith("px")  # JS ran: the banner's real height
    expect(v.banner.get_by_role("heading", level=2)).to_have_text(title)
    expect(v.intro).to_have_text(text)
    for name in buttons:
        expect(v.banner_button(name)).to_be_visible()
    gated = v.gated_sources()
    assert NEWS_SCRIPT in gated
    assert v.requested("/consent/static/consent/consent.min.js")
    assert not [path for path in v.paths_requested() if path in gated]
    assert v.globals_set(*NEWS_GLOBALS) == dict.fromkeys(NEWS_GLOBALS, False)
    assert v.context.cookies() == []
    assert v.page.evaluate("document.cookie") == ""
    assert v.page.evaluate("localStorage.length") == 0
    assert v.page.evaluate("sessionStorage.length") == 0
