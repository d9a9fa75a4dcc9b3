"""Issue 3, points 5 and 7: every choice works as a plain form post, JavaScript off."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.support import GERMAN, NEWS_COOKIE, NEWS_SCRIPT, Visit

pytestmark = pytest.mark.browser

NO_JS = {"java_script_enabled": False, **GERMAN}
PAGE = "/?seite=2&q=a%20b"  # the query string must survive the round trip
LIVE = f'script[src="{NEWS_SCRIPT}"]'
INERT = f'script[type="text/plain"][data-src="{NEWS_SCRIPT}"]'


def posts(v: Visit) -> list[str]:
    return [url for method, url, _ in v.requests if method == "POST"]


@pytest.mark.parametrize(
    ("button", "endpoint", "live"),
    [("Akzeptieren", "/consent/accept", 1), ("Ablehnen", "/consent/decline", 0)],
)
def test_banner_buttons_post_and_come_back_to_the_same_page(
    visit: Callable[..., Visit], news: str, button: str, endpoint: str, live: int
) -> None:
    v = visit(news, PAGE, **NO_JS)
    expect(v.banner).to_be_visible()

    v.banner_button(button).click()

    expect(v.page).to_have_url(news + PAGE)
    assert posts(v) == [news + endpoint]
    assert v.documents_requested()[-1] == news + PAGE
    assert v.cookies()["consent"]["httpOnly"] is True
    expect(v.banner).to_have_count(0)
    expect(v.reopen).to_be_visible()
    expect(v.page.locator(LIVE)).to_have_count(live)
    expect(v.page.locator(INERT)).to_have_count(1 - live)


def test_preferences_page_records_a_choice_and_comes_back(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, PAGE, **NO_JS)

    v.banner_button("Einstellungen").click()

    expect(v.page).to_have_url(f"{news}/consent/preferences?next={quote(PAGE, safe='')}")
    expect(v.page.get_by_role("heading", level=1)).to_have_text("Cookie-Einstellungen")
    expect(v.page.locator("dialog")).to_have_count(0)
    analytics = v.page.get_by_role("checkbox", name="Analyse")
    expect(analytics).not_to_be_checked()
    expect(v.page.get_by_role("link", name="Zurück zur Website")).to_have_attribute("href", PAGE)
    analytics.check()
    v.page.get_by_role("button", name="Auswahl speichern").click()

    expect(v.page).to_have_url(news + PAGE)
    assert posts(v) == [news + "/consent/save"]
    expect(v.banner).to_have_count(0)
    expect(v.page.locator(LIVE)).to_have_count(1)


def test_withdrawal_on_the_preferences_page_deletes_the_tags_cookie(
    visit: Callable[..., Visit], news: str
) -> None:
    # Consent given with JavaScript on: the tag ran and set its own cookie...
    js = visit(news, **GERMAN)
    js.banner_button("Akzeptieren").click()
    js.page.wait_for_function("() => window.newsAnalytics")
    assert NEWS_COOKIE in js.cookies()
    # ...and withdrawn later by the same visitor with JavaScript off.
    v = visit(news, PAGE, storage_state=js.context.storage_state(), **NO_JS)
    expect(v.banner).to_have_count(0)
    expect(v.page.locator(LIVE)).to_have_count(1)

    v.reopen.click()  # the always-present "Cookie settings" control, a plain GET form

    expect(v.page).to_have_url(re.compile(r"/consent/preferences\?next="))
    analytics = v.page.get_by_role("checkbox", name="Analyse")
    expect(analytics).to_be_checked()
    analytics.uncheck()
    v.page.get_by_role("button", name="Auswahl speichern").click()

    expect(v.page).to_have_url(news + PAGE)
    assert posts(v) == [news + "/consent/save"]
    assert NEWS_COOKIE not in v.cookies()  # expired by the server's response
    assert "consent" in v.cookies()
    expect(v.page.locator(LIVE)).to_have_count(0)
    expect(v.page.locator(INERT)).to_have_count(1)


def test_decline_all_on_the_preferences_page(visit: Callable[..., Visit], news: str) -> None:
    v = visit(news, "/privacy?x=1", **NO_JS)
    v.page.get_by_role("contentinfo").get_by_role("link", name="Cookie-Einstellungen").click()
    expect(v.page).to_have_url(re.compile(r"/consent/preferences\?next="))
    v.page.get_by_role("button", name="Alle ablehnen").click()
    expect(v.page).to_have_url(news + "/privacy?x=1")
    assert posts(v) == [news + "/consent/decline"]
    expect(v.banner).to_have_count(0)
    expect(v.page.locator(INERT)).to_have_count(1)
