"""Issue 3, points 2-6 and 12: accept, decline, withdraw and choose per category."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.browser.shop import GLOBALS as SHOP_GLOBALS
from tests.browser.support import (
    GERMAN,
    NEWS_COOKIE,
    NEWS_GLOBALS,
    NEWS_SCRIPT,
    RECORD_CSP_VIOLATIONS,
    Visit,
)

pytestmark = pytest.mark.browser

ALL_RAN = "() => window.newsAnalytics && window.newsAnalyticsInline"
LIVE_GATED = "script[data-consent]:not([type='text/plain'])"


def accept(v: Visit) -> None:
    """Accept in the German banner and wait until the analytics tag has run."""
    v.banner_button("Akzeptieren").click()
    expect(v.banner).to_have_count(0)
    v.page.wait_for_function(ALL_RAN)


def test_accept_runs_the_gated_scripts_at_once_without_a_reload(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, **GERMAN)
    v.mark_document()
    before = len(v.requests)

    v.banner_button("Akzeptieren").click()

    v.page.wait_for_function(ALL_RAN)
    expect(v.banner).to_have_count(0)
    assert v.same_document(), "accepting navigated away"
    assert v.documents_requested(before) == []
    assert v.paths_requested(before).count(NEWS_SCRIPT) == 1
    assert v.gated_sources() == []

    cookies = v.cookies()
    assert cookies["consent"]["httpOnly"] is True
    assert cookies["consent"]["sameSite"] == "Lax"
    assert cookies["consent"]["expires"] > 0  # kept, not a session cookie
    assert "consent=" not in v.page.evaluate("document.cookie")
    assert NEWS_COOKIE in cookies  # set by the analytics tag itself

    # Focus moves to the "Cookie settings" button, which is now shown.
    expect(v.reopen).to_be_visible()
    expect(v.reopen).to_be_focused()
    expect(v.reopen).to_have_text("Cookie-Einstellungen")
    focused = v.focused()
    assert focused["tag"] == "button"
    assert focused["visible"]
    expect(v.page.locator("#consent-status")).to_have_text("Ihre Auswahl wurde gespeichert.")


def test_after_accepting_a_reload_runs_the_scripts_on_load(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, **GERMAN)
    accept(v)
    before = len(v.requests)

    v.reload()

    assert v.globals_set(*NEWS_GLOBALS) == dict.fromkeys(NEWS_GLOBALS, True)
    assert NEWS_SCRIPT in v.paths_requested(before)
    expect(v.page.locator(f'script[src="{NEWS_SCRIPT}"]')).to_have_count(1)
    expect(v.banner).to_have_count(0)
    expect(v.reopen).to_be_visible()
    v.goto("/privacy")
    assert v.globals_set(*NEWS_GLOBALS) == dict.fromkeys(NEWS_GLOBALS, True)
    expect(v.banner).to_have_count(0)


def test_decline_runs_nothing_now_or_after_a_reload_and_is_remembered(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, **GERMAN)
    v.mark_document()

    v.banner_button("Ablehnen").click()

    expect(v.banner).to_have_count(0)
    expect(v.reopen).to_be_focused()
    expect(v.page.locator("#consent-status")).to_have_text("Ihre Auswahl wurde gespeichert.")
    assert v.same_document()
    expect(v.page.locator(LIVE_GATED)).to_have_count(0)
    assert v.gated_sources() == [NEWS_SCRIPT]
    assert v.cookies()["consent"]["httpOnly"] is True

    v.reload()
    expect(v.banner).to_have_count(0)
    expect(v.reopen).to_be_visible()
    v.goto("/privacy")
    expect(v.banner).to_have_count(0)
    assert v.globals_set(*NEWS_GLOBALS) == dict.fromkeys(NEWS_GLOBALS, False)
    expect(v.page.locator(LIVE_GATED)).to_have_count(0)
    assert not v.requested(NEWS_SCRIPT)
    assert list(v.cookies()) == ["consent"]


@pytest.mark.parametrize("how", ["uncheck-and-save", "decline-all"])
def test_withdrawing_in_the_dialog_stops_scripts_and_deletes_their_cookies(
    visit: Callable[..., Visit], news: str, how: str
) -> None:
    v = visit(news, **GERMAN)
    accept(v)
    assert NEWS_COOKIE in v.cookies()
    v.mark_document()

    v.reopen.click()  # the always-present "Cookie settings" control

    expect(v.dialog).to_be_visible()
    expect(v.dialog.get_by_role("heading", level=2)).to_have_text("Cookie-Einstellungen")
    analytics = v.dialog.get_by_role("checkbox", name="Analyse")
    expect(analytics).to_be_checked()
    expect(v.dialog.get_by_role("checkbox", name="Notwendig")).to_be_disabled()
    if how == "uncheck-and-save":
        analytics.uncheck()
        v.dialog.get_by_role("button", name="Auswahl speichern").click()
    else:
        v.dialog.get_by_role("button", name="Alle ablehnen").click()

    expect(v.dialog).to_be_hidden()
    expect(v.reopen).to_be_focused()  # back where the visitor started
    assert v.same_document()
    assert NEWS_COOKIE not in v.cookies()  # the cookie the tag set with document.cookie
    assert "_pk_id" not in v.page.evaluate("document.cookie")
    assert "consent" in v.cookies()

    before = len(v.requests)
    v.goto("/")
    assert v.globals_set(*NEWS_GLOBALS) == dict.fromkeys(NEWS_GLOBALS, False)
    assert NEWS_SCRIPT not in v.paths_requested(before)
    assert NEWS_COOKIE not in v.cookies()
    expect(v.banner).to_have_count(0)
    # The dialog now shows the refusal.
    v.reopen.click()
    expect(v.dialog.get_by_role("checkbox", name="Analyse")).not_to_be_checked()


@pytest.mark.parametrize("category", sorted(SHOP_GLOBALS))
def test_choosing_one_category_runs_only_its_scripts(
    visit: Callable[..., Visit], shop: str, category: str
) -> None:
    v = visit(shop, None)
    v.context.add_init_script(RECORD_CSP_VIOLATIONS)
    response = v.goto("/")
    assert "'nonce-" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    v.banner_button("Settings").click()
    expect(v.dialog).to_be_visible()
    boxes = v.dialog.locator("input[name=category]")
    expect(boxes).to_have_count(3)
    for box in boxes.all():
        expect(box).not_to_be_checked()

    v.dialog.get_by_role("checkbox", name=category.capitalize()).check()
    v.dialog.get_by_role("button", name="Save choices").click()

    expect(v.dialog).to_be_hidden()
    expect(v.banner).to_have_count(0)
    v.page.wait_for_function(f"() => window.{SHOP_GLOBALS[category]}")
    others = [c for c in SHOP_GLOBALS if c != category]

    def check_only_chosen_ran() -> None:
        ran = v.globals_set(*SHOP_GLOBALS.values())
        assert ran == {g: c == category for c, g in SHOP_GLOBALS.items()}
        assert v.globals_set("shopMarketingInline")["shopMarketingInline"] is (
            category == "marketing"
        )
        for other in others:
            assert not v.requested(f"/static/{other}.js")
            expect(
                v.page.locator(f"script[data-consent={other}]:not([type='text/plain'])")
            ).to_have_count(0)
        assert ("_shop_an" in v.cookies()) is (category == "analytics")

    check_only_chosen_ran()
    v.reload()
    expect(v.banner).to_have_count(0)
    check_only_chosen_ran()
    assert all(url.startswith(shop + "/") for _, url, _ in v.requests)

    # The whole flow ran under the site's strict CSP without a single violation,
    # and the policy is really enforced: an inline script without the nonce is refused.
    assert v.page.evaluate("window.__csp") == []
    v.page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.text = 'window.sneaked = true'; document.body.append(s); }"
    )
    v.page.wait_for_function("() => window.__csp.length > 0")
    assert v.globals_set("sneaked") == {"sneaked": False}
    v.errors.clear()  # Chromium logs the refusal we provoked


def test_nothing_is_sent_to_another_origin(visit: Callable[..., Visit], news: str) -> None:
    v = visit(news, **GERMAN)
    accept(v)
    v.reload()
    v.reopen.click()
    v.dialog.get_by_role("checkbox", name="Analyse").uncheck()
    v.dialog.get_by_role("button", name="Auswahl speichern").click()
    expect(v.dialog).to_be_hidden()
    v.goto("/privacy")
    # The footer's "Cookie settings" link opens the same dialog, in place.
    v.page.get_by_role("contentinfo").get_by_role("link", name="Cookie-Einstellungen").click()
    expect(v.dialog).to_be_visible()
    expect(v.dialog.get_by_role("checkbox", name="Analyse")).not_to_be_checked()
    assert v.page.url == news + "/privacy"
    v.dialog.get_by_role("button", name="Alle akzeptieren").click()
    v.page.wait_for_function(ALL_RAN)

    methods = {m for m, _, _ in v.requests}
    assert methods == {"GET", "POST"}
    assert len(v.requests) >= 10
    strays = [url for _, url, _ in v.requests if not url.startswith(news + "/")]
    assert strays == []
    assert {c["domain"] for c in v.context.cookies()} == {"127.0.0.1"}
