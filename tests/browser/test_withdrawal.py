"""Issue 14, items 9, 11 and 13: withdrawal and a Global Privacy Control signal take
effect at once — refused cookies go on every path, live embeds stop on the page
itself, and a signal only the browser's script shows overrides an earlier grant."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.browser.support import GERMAN, Visit
from tests.browser.test_compliance import (
    BROWSER_GPC,
    DATA_LAYER,
    GPC_OFF_DE,
    MEDIA_TYPES,
    PLAYER,
    frame,
    placeholder,
)

pytestmark = pytest.mark.browser

#: The same analytics cookie as a tag would leave it on each folder of a deep page.
PATHS = ["/", "/deep", "/deep/a", "/deep/a/b", "/deep/a/b/"]


def stopped_while_loading(v: Visit) -> None:
    """The player may still have been loading when it was stopped: its load was
    aborted, which is what stopping it means, not an error of the page."""
    v.errors[:] = [e for e in v.errors if not (PLAYER in e and "ERR_ABORTED" in e)]


def test_refused_cookies_are_expired_on_this_path_and_every_one_above(
    visit: Callable[..., Visit], hosts: Callable[..., str]
) -> None:
    v = visit(hosts(), "/deep/a/b/page")
    v.banner_button("Accept").click()
    expect(v.reopen).to_be_visible()
    for n, path in enumerate(PATHS):
        v.page.evaluate(f"document.cookie = '_host_an={n}; path={path}'")
    stored = [c for c in v.context.cookies() if c["name"] == "_host_an"]
    assert sorted(c["path"] for c in stored) == sorted(PATHS)

    v.reopen.click()
    expect(v.dialog).to_be_visible()
    v.dialog.get_by_role("button", name="Decline all").click()
    expect(v.dialog).to_be_hidden()
    assert [c for c in v.context.cookies() if c["name"] == "_host_an"] == []


def test_a_live_embed_stops_at_once_when_its_consent_is_withdrawn(
    visit: Callable[..., Visit], news: str
) -> None:
    """Rendered live by the server (consent given on an earlier page), the player is
    put back behind its placeholder the moment the visitor declines."""
    v = visit(news, "/video", **GERMAN)
    v.banner_button("Akzeptieren").click()
    expect(frame(v)).to_be_visible()
    v.goto("/video")  # now the server renders the iframe itself
    expect(frame(v)).to_be_visible()
    expect(placeholder(v)).to_have_count(0)
    v.mark_document()

    v.reopen.click()
    expect(v.dialog).to_be_visible()
    v.dialog.get_by_role("button", name="Alle ablehnen").click()
    expect(frame(v)).to_have_count(0)
    expect(placeholder(v)).to_be_visible()
    assert v.same_document()
    before = len(v.requests)
    v.page.wait_for_timeout(500)
    assert PLAYER not in v.paths_requested(before)  # it pings nothing any more
    stopped_while_loading(v)


def test_content_loaded_once_stops_with_a_choice_that_refuses_it(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, "/video", **GERMAN)
    placeholder(v).get_by_role("link", name="Inhalt laden").click()
    expect(frame(v)).to_be_visible()
    v.banner_button("Ablehnen").click()
    expect(frame(v)).to_have_count(0)
    expect(placeholder(v)).to_be_visible()
    stopped_while_loading(v)


def test_a_signal_only_the_script_shows_overrides_an_earlier_grant_at_once(
    visit: Callable[..., Visit], news: str
) -> None:
    """The visitor granted external media (refused by GPC) before their browser sent
    the signal; it arrives through navigator.globalPrivacyControl only."""
    v = visit(news, "/video", **GERMAN)
    v.banner_button("Akzeptieren").click()
    expect(frame(v)).to_be_visible()

    v.context.add_init_script(BROWSER_GPC)
    before = len(v.requests)
    v.goto("/video")
    # The page came with the player (the server saw no header); the script posts
    # the signal, and the player is stopped without a reload.
    expect(placeholder(v)).to_be_visible()
    expect(frame(v)).to_have_count(0)
    posts = [url for method, url, _ in v.requests[before:] if method == "POST"]
    assert posts == [news + "/consent/gpc"]
    # The signal says why "Always allow" is not offered.
    expect(placeholder(v).get_by_text(GPC_OFF_DE)).to_be_visible()
    expect(placeholder(v).get_by_role("button")).to_have_count(0)
    # Google is told at once, and the choice is rewritten for the next page too.
    updates = [e[2] for e in v.page.evaluate(DATA_LAYER) if e[:2] == ["consent", "update"]]
    assert updates
    assert all(updates[-1][t] == "denied" for t in MEDIA_TYPES)
    assert updates[-1]["analytics_storage"] == "granted"
    state = v.page.evaluate(
        "() => fetch('/consent/preferences', {headers: {Accept: 'application/json'}})"
        ".then((r) => r.json())"
    )
    assert state["categories"]["media"] is False
    assert state["categories"]["analytics"] is True
    # Not asked again: the page is not stolen from, and there is no banner.
    expect(v.banner).to_have_count(0)
    assert v.page.evaluate("document.activeElement === document.body")
    stopped_while_loading(v)
