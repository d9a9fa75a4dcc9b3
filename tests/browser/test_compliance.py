"""Compliance features in a real browser: GPC, Consent Mode, embeds, cookie declaration."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Route, expect

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

#: A browser that exposes Global Privacy Control only to scripts (no header).
BROWSER_GPC = """Object.defineProperty(Navigator.prototype, 'globalPrivacyControl',
  {get: () => true, configurable: true});"""
HEADER_GPC = {"Sec-GPC": "1"}
GPC_NOTICE = "Widerspruchssignal (Global Privacy Control) wird beachtet"
GPC_OFF_DE = "Deaktiviert durch das Global-Privacy-Control-Signal Ihres Browsers."
GPC_OFF_EN = "Turned off by your browser's Global Privacy Control signal."
NO_JS = {"java_script_enabled": False, **GERMAN}

NEWS_RAN = "() => window.newsAnalytics && window.newsAnalyticsInline"
SHOP_RAN = "() => window.shopAnalytics && window.shopPreferences"

#: gtag() pushes its Arguments object; make each entry a plain list.
DATA_LAYER = "() => (window.dataLayer || []).map((entry) => Array.from(entry))"
#: The usual Google tag snippet, as a site puts it after {{ consent_head() }}.
GOOGLE_TAG = (
    "<script>window.dataLayer = window.dataLayer || [];"
    " function gtag(){dataLayer.push(arguments);}"
    " gtag('js', new Date()); gtag('config', 'G-TEST'); gtag('event', 'page_view');</script>"
)
GCM_TYPES = {
    "ad_personalization",
    "ad_storage",
    "ad_user_data",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
}
#: Google types of the news site's categories (media maps to the ad types).
MEDIA_TYPES = ("ad_storage", "ad_user_data", "ad_personalization")

PLAYER = "/player"
MEDIA_COOKIE = "_stv_uid"
ALWAYS_ALLOW = "Immer erlauben: Externe Medien"
HAS_MEDIA_COOKIE = f"() => document.cookie.includes('{MEDIA_COOKIE}=')"


def placeholder(v: Visit) -> Locator:
    return v.page.locator("[data-consent-embed=media]")


def frame(v: Visit) -> Locator:
    return v.page.locator(f'iframe[src="{PLAYER}"]')


def footer_settings(v: Visit) -> Locator:
    return v.page.get_by_role("contentinfo").get_by_role("link", name="Cookie-Einstellungen")


def consent_commands(v: Visit, kind: str) -> list[dict[str, Any]]:
    return [e[2] for e in v.page.evaluate(DATA_LAYER) if e[:2] == ["consent", kind]]


def new_page(v: Visit) -> Visit:
    """A second page in the same context (same cookies), recorded on its own."""
    return Visit(v.origin, v.context, v.context.new_page())


# -- Global Privacy Control ---------------------------------------------------


def test_browser_gpc_is_shown_posted_with_accept_and_keeps_media_refused(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, None, **GERMAN)
    v.context.add_init_script(BROWSER_GPC)
    response = v.goto("/video")
    # The server saw no header: its notice is hidden; the script reveals it.
    assert "data-consent-gpc hidden" in response.text()
    expect(v.banner.get_by_text(GPC_NOTICE)).to_be_visible()
    v.mark_document()

    with v.page.expect_response(lambda r: r.request.method == "POST") as posted:
        v.banner_button("Akzeptieren").click()

    assert posted.value.url == news + "/consent/accept"
    assert parse_qs(posted.value.request.post_data or "")["gpc"] == ["1"]
    state = posted.value.json()
    assert state["categories"] == {"necessary": True, "analytics": True, "media": False}
    assert state["gpc"] is True
    v.page.wait_for_function(NEWS_RAN)  # GPC is no reason to refuse analytics
    assert v.paths_requested().count(NEWS_SCRIPT) == 1
    expect(v.banner).to_have_count(0)
    assert v.same_document()
    expect(placeholder(v)).to_be_visible()
    expect(frame(v)).to_have_count(0)
    [update] = consent_commands(v, "update")
    assert update["analytics_storage"] == "granted"
    assert {update[t] for t in MEDIA_TYPES} == {"denied"}

    # Remembered as refused: later pages keep the placeholder and never ask /player.
    v.reload()
    expect(v.banner).to_have_count(0)
    expect(placeholder(v)).to_be_visible()
    expect(frame(v)).to_have_count(0)
    assert v.globals_set(*NEWS_GLOBALS) == dict.fromkeys(NEWS_GLOBALS, True)
    assert not v.requested(PLAYER)
    # The settings say so too, and show media as refused.
    footer_settings(v).click()
    expect(v.dialog).to_be_visible()
    expect(v.dialog.get_by_text(GPC_NOTICE)).to_be_visible()
    expect(v.dialog.get_by_role("checkbox", name="Externe Medien")).not_to_be_checked()
    expect(v.dialog.get_by_role("checkbox", name="Analyse")).to_be_checked()


def test_browser_gpc_never_runs_marketing_in_the_shop(
    visit: Callable[..., Visit], shop: str
) -> None:
    v = visit(shop, None)
    v.context.add_init_script(BROWSER_GPC)
    v.context.add_init_script(RECORD_CSP_VIOLATIONS)
    v.goto("/")
    expect(v.banner.get_by_text("Opt-out preference signal honored")).to_be_visible()

    v.banner_button("Accept").click()

    v.page.wait_for_function(SHOP_RAN)
    expect(v.banner).to_have_count(0)
    for _ in range(2):
        assert v.globals_set("shopMarketing", "shopMarketingInline") == {
            "shopMarketing": False,
            "shopMarketingInline": False,
        }
        assert not v.requested("/static/marketing.js")
        assert v.gated_sources() == ["/static/marketing.js"]
        v.reload()
        v.page.wait_for_function(SHOP_RAN)
    assert v.page.evaluate("window.__csp") == []


def test_sec_gpc_header_is_server_rendered_and_wins_over_an_earlier_accept(
    visit: Callable[..., Visit], news: str, shop: str
) -> None:
    # Without JavaScript, so what shows is what the server rendered.
    n = visit(news, "/", extra_http_headers=HEADER_GPC, **NO_JS)
    expect(n.banner.get_by_text(GPC_NOTICE)).to_be_visible()
    n.banner_button("Einstellungen").click()  # the full preferences page
    expect(n.page.get_by_text(GPC_NOTICE)).to_be_visible()
    media = n.page.get_by_role("checkbox", name="Externe Medien")
    expect(media).to_be_disabled()
    expect(media).not_to_be_checked()
    expect(n.page.get_by_text(GPC_OFF_DE)).to_be_visible()
    expect(n.page.get_by_role("checkbox", name="Analyse")).to_be_enabled()

    # The shop: everything accepted without the signal, so marketing ran ...
    v = visit(shop)
    expect(v.banner.get_by_text("Opt-out preference signal honored")).to_be_hidden()
    v.banner_button("Accept").click()
    v.page.wait_for_function("() => window.shopMarketing && window.shopMarketingInline")

    # ... then the browser starts sending Sec-GPC: the next page runs no marketing.
    w = new_page(v)
    w.page.set_extra_http_headers(HEADER_GPC)
    w.goto("/")
    w.page.wait_for_function(SHOP_RAN)
    assert w.globals_set("shopMarketing", "shopMarketingInline") == {
        "shopMarketing": False,
        "shopMarketingInline": False,
    }
    assert not w.requested("/static/marketing.js")
    expect(w.banner).to_have_count(0)  # not asked again: the signal is the answer
    w.reopen.click()
    expect(w.dialog).to_be_visible()
    marketing = w.dialog.get_by_role("checkbox", name="Marketing")
    expect(marketing).to_be_disabled()
    expect(marketing).not_to_be_checked()
    expect(w.dialog.get_by_text(GPC_OFF_EN)).to_be_visible()
    assert w.errors == []


# -- Google Consent Mode ------------------------------------------------------


def test_consent_mode_default_comes_first_and_each_decision_sends_one_update(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, None, **GERMAN)

    def add_google_tag(route: Route) -> None:
        response = route.fetch()
        body, found = re.subn(
            r"(<script [^>]*data-consent-gcm[^>]*></script>)",
            lambda m: m.group(1) + GOOGLE_TAG,
            response.text(),
            count=1,
        )
        assert found == 1
        route.fulfill(response=response, body=body)

    v.context.route(news + "/", add_google_tag)
    v.goto("/")

    entries = v.page.evaluate(DATA_LAYER)
    assert entries[0][:2] == ["consent", "default"]
    default = entries[0][2]
    assert default.pop("wait_for_update") > 0
    assert default == {t: "granted" if t == "security_storage" else "denied" for t in GCM_TYPES}
    # The Google tag's own commands all come after it (and there are some).
    assert [e[0] for e in entries[1:]] == ["js", "config", "event"]
    assert consent_commands(v, "update") == []

    v.banner_button("Akzeptieren").click()
    v.page.wait_for_function(NEWS_RAN)
    [update] = consent_commands(v, "update")
    assert update == dict.fromkeys(("analytics_storage", *MEDIA_TYPES), "granted")

    # Withdrawal in the settings dialog: one more update, everything denied.
    v.reopen.click()
    expect(v.dialog).to_be_visible()
    assert len(consent_commands(v, "update")) == 1  # opening the settings sends nothing
    v.dialog.get_by_role("button", name="Alle ablehnen").click()
    expect(v.dialog).to_be_hidden()
    updates = consent_commands(v, "update")
    assert len(updates) == 2
    assert updates[1] == dict.fromkeys(update, "denied")


def test_consent_mode_decline_and_returning_visitor(visit: Callable[..., Visit], news: str) -> None:
    v = visit(news, **GERMAN)
    v.banner_button("Ablehnen").click()
    expect(v.banner).to_have_count(0)
    [update] = consent_commands(v, "update")
    assert set(update) >= {"analytics_storage", *MEDIA_TYPES}
    assert set(update.values()) == {"denied"}

    # Allow analytics only, then come back: the default already says so.
    v.reopen.click()
    v.dialog.get_by_role("checkbox", name="Analyse").check()
    v.dialog.get_by_role("button", name="Auswahl speichern").click()
    v.page.wait_for_function(NEWS_RAN)
    assert consent_commands(v, "update")[-1]["analytics_storage"] == "granted"
    v.goto("/privacy")
    [default] = consent_commands(v, "default")
    assert default["analytics_storage"] == "granted"
    assert default["security_storage"] == "granted"
    assert {default[t] for t in MEDIA_TYPES} == {"denied"}
    assert "wait_for_update" in default
    assert consent_commands(v, "update") == []


# -- Embedded content ---------------------------------------------------------


def test_load_content_once_inserts_the_iframe_without_recording_consent(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, "/video", **GERMAN)
    expect(placeholder(v)).to_be_visible()
    expect(placeholder(v)).to_contain_text("Stadt-TV")
    expect(v.page.locator("iframe")).to_have_count(0)
    assert not v.requested(PLAYER)
    v.mark_document()

    with v.page.expect_response(news + PLAYER):
        placeholder(v).get_by_role("link", name="Inhalt laden").click()

    expect(frame(v)).to_be_focused()
    expect(frame(v)).to_have_attribute("title", "Stadtrat live")
    expect(placeholder(v)).to_have_count(0)
    assert v.same_document()
    assert v.documents_requested() == [news + "/video", news + PLAYER]
    assert "consent" not in v.cookies()
    expect(v.banner).to_be_visible()

    # Just this once: the next visit shows the placeholder again.
    before = len(v.requests)
    v.reload()
    expect(placeholder(v)).to_be_visible()
    assert PLAYER not in v.paths_requested(before)


def test_always_allow_records_consent_and_swaps_in_the_iframe(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, "/video", **GERMAN)
    v.mark_document()

    with v.page.expect_response(news + PLAYER):
        placeholder(v).get_by_role("button", name=ALWAYS_ALLOW).click()

    expect(frame(v)).to_be_focused()
    expect(placeholder(v)).to_have_count(0)
    assert v.same_document()
    assert "consent" in v.cookies()
    # Only media was answered: the banner still asks about analytics.
    expect(v.banner).to_be_visible()
    expect(v.reopen).to_be_hidden()
    assert not v.globals_set(*NEWS_GLOBALS)["newsAnalytics"]

    response = v.goto("/video")
    assert 'data-consent-frame="media"' in response.text()  # rendered by the server
    expect(frame(v)).to_be_visible()
    expect(placeholder(v)).to_have_count(0)
    expect(v.banner).to_be_visible()

    # Accepting in the banner on another visitor's page swaps the placeholder in place.
    a = visit(news, "/video", **GERMAN)
    a.mark_document()
    with a.page.expect_response(news + PLAYER):
        a.banner_button("Akzeptieren").click()
    expect(frame(a)).to_be_visible()
    expect(placeholder(a)).to_have_count(0)
    expect(a.banner).to_have_count(0)
    assert a.same_document()


def test_always_allow_without_javascript_posts_and_comes_back_with_the_iframe(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, "/video", **NO_JS)
    expect(frame(v)).to_have_count(0)

    placeholder(v).get_by_role("button", name=ALWAYS_ALLOW).click()

    expect(v.page).to_have_url(news + "/video")
    assert [url for method, url, _ in v.requests if method == "POST"] == [news + "/consent/allow"]
    expect(frame(v)).to_be_visible()
    expect(placeholder(v)).to_have_count(0)
    assert "consent" in v.cookies()


def test_withdrawing_media_deletes_its_cookie_and_brings_the_placeholder_back(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, "/video", **GERMAN)
    v.banner_button("Akzeptieren").click()
    v.page.wait_for_function(HAS_MEDIA_COOKIE)
    v.page.wait_for_function(f"() => document.cookie.includes('{NEWS_COOKIE}=')")
    assert {MEDIA_COOKIE, NEWS_COOKIE} <= set(v.cookies())
    v.mark_document()

    footer_settings(v).click()
    expect(v.dialog).to_be_visible()
    v.dialog.get_by_role("checkbox", name="Externe Medien").uncheck()
    v.dialog.get_by_role("button", name="Auswahl speichern").click()

    expect(v.dialog).to_be_hidden()
    expect(footer_settings(v)).to_be_focused()  # back where the visitor started
    assert v.same_document()
    assert MEDIA_COOKIE not in v.cookies()
    assert NEWS_COOKIE in v.cookies()  # analytics stays allowed
    # The player stops at once: its placeholder is back on this very page.
    expect(placeholder(v)).to_be_visible()
    expect(frame(v)).to_have_count(0)

    before = len(v.requests)
    v.goto("/video")
    expect(placeholder(v)).to_be_visible()
    expect(frame(v)).to_have_count(0)
    assert PLAYER not in v.paths_requested(before)
    assert v.globals_set(*NEWS_GLOBALS) == dict.fromkeys(NEWS_GLOBALS, True)
    assert MEDIA_COOKIE not in v.cookies()


# -- Cookie declaration -------------------------------------------------------


def test_privacy_page_table_and_settings_list_declare_every_cookie(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, "/privacy", **GERMAN)
    tables = v.page.locator("table.consent-cookie-table")
    expect(tables.locator("caption")).to_have_text(["Notwendig", "Analyse", "Externe Medien"])
    for table in tables.all():
        expect(table.get_by_role("columnheader")).to_have_text(
            ["Name", "Anbieter", "Zweck", "Speicherdauer"]
        )
    rows = {
        caption: v.page.get_by_role("table", name=caption).locator("tbody tr")
        for caption in ("Notwendig", "Analyse", "Externe Medien")
    }
    expect(rows["Notwendig"].locator("td").first).to_have_text("consent")
    expect(rows["Analyse"]).to_have_count(1)
    expect(rows["Analyse"].locator("td")).to_have_text(
        ["_pk_id.*", "Stadtanzeiger", "Zählt Besuche", "1 Stunde"]
    )
    expect(rows["Externe Medien"]).to_have_count(1)
    expect(rows["Externe Medien"].locator("td")).to_have_text(
        ["_stv_uid", "Stadt-TV", "Erkennt Zuschauer wieder", "1 Monat"]
    )

    # The settings dialog lists the same cookies per category, behind a
    # "Cookies used" disclosure that works from the keyboard.
    footer_settings(v).click()
    expect(v.dialog).to_be_visible()
    summaries = v.dialog.locator("details > summary")
    expect(summaries).to_have_text(["Verwendete Cookies"] * 3)
    lists = v.dialog.locator("details .consent-cookie-list")
    for hidden in lists.all():
        expect(hidden).to_be_hidden()
    v.dialog.get_by_role("checkbox", name="Externe Medien").focus()
    v.page.keyboard.press("Tab")
    media = v.dialog.locator("li", has=v.page.get_by_role("checkbox", name="Externe Medien"))
    expect(media.locator("summary")).to_be_focused()
    v.page.keyboard.press("Enter")
    expect(media.locator("details")).to_have_attribute("open", "")
    expect(media.locator(".consent-cookie-list")).to_be_visible()
    expect(media.locator(".consent-cookie-list")).to_contain_text("_stv_uid · Stadt-TV")
    expect(v.dialog).to_be_visible()  # Enter opened the list, it did not submit the form
    v.page.keyboard.press("Enter")
    expect(media.locator(".consent-cookie-list")).to_be_hidden()
    analytics = v.dialog.locator("li", has=v.page.get_by_role("checkbox", name="Analyse"))
    analytics.locator("summary").focus()
    v.page.keyboard.press("Enter")
    expect(analytics.locator(".consent-cookie-list")).to_contain_text("_pk_id.*")


# -- axe-core -----------------------------------------------------------------


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


@pytest.mark.parametrize("locale", ["de-DE", "en-GB"])
def test_axe_finds_nothing_on_the_placeholder_and_the_cookie_table(
    visit: Callable[..., Visit], news: str, axe: Axe, locale: str
) -> None:
    v = visit(news, "/video", locale=locale)
    expect(placeholder(v)).to_be_visible()
    expect(placeholder(v)).to_have_attribute("lang", locale[:2])
    results = axe.run(v.page)
    assert results.violations_count == 0, results.generate_report()
    checked = {rule["id"] for rule in results.response["passes"]}
    assert {"button-name", "link-name", "color-contrast", "valid-lang"} <= checked, checked

    v.goto("/privacy")
    expect(v.page.locator("table.consent-cookie-table")).to_have_count(3)
    results = axe.run(v.page)
    assert results.violations_count == 0, results.generate_report()
    checked = {rule["id"] for rule in results.response["passes"]}
    assert {"th-has-data-cells", "color-contrast"} <= checked, checked


# -- Strict CSP -----------------------------------------------------------------


def test_accept_and_withdraw_under_the_shops_strict_csp_violate_nothing(
    visit: Callable[..., Visit], shop: str
) -> None:
    v = visit(shop, None)
    v.context.add_init_script(RECORD_CSP_VIOLATIONS)
    response = v.goto("/")
    assert "unsafe-inline" not in response.headers["content-security-policy"]

    v.banner_button("Accept").click()
    v.page.wait_for_function("() => window.shopMarketingInline && window.shopMarketing")
    v.page.wait_for_function(SHOP_RAN)
    assert v.page.evaluate("window.__csp") == []

    v.page.get_by_role("contentinfo").get_by_role("link", name="Cookie settings").click()
    expect(v.dialog).to_be_visible()
    v.dialog.get_by_role("button", name="Decline all").click()
    expect(v.dialog).to_be_hidden()
    assert "_shop_an" not in v.cookies()
    assert v.page.evaluate("window.__csp") == []

    v.reload()
    assert v.globals_set(*SHOP_GLOBALS.values()) == dict.fromkeys(SHOP_GLOBALS.values(), False)
    v.reopen.click()
    expect(v.dialog).to_be_visible()
    v.dialog.get_by_role("button", name="Close").click()
    expect(v.dialog).to_be_hidden()
    assert v.page.evaluate("window.__csp") == []
