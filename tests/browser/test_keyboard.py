"""Issue 3, point 8: the banner and the dialog work with the keyboard alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.support import GERMAN, Visit

pytestmark = pytest.mark.browser

BANNER_CONTROLS = ["Datenschutzrichtlinie", "Einstellungen", "Ablehnen", "Akzeptieren"]
DIALOG_CONTROLS = ["Schließen", "Analyse", "Alle ablehnen", "Alle akzeptieren", "Auswahl speichern"]
#: More presses than any test page has stops: a loop that never ends is a failure.
MAX_TABS = 60


def assert_focus_visible(focused: dict[str, Any]) -> None:
    assert focused["visible"], focused
    assert focused["outlineStyle"] != "none", f"no focus indicator on {focused}"
    assert focused["outlineWidth"] > 0, f"no focus indicator on {focused}"


def tab_to(v: Visit, text: str) -> list[dict[str, Any]]:
    """Press Tab until the control named ``text`` has focus; every stop on the way."""
    stops = []
    for _ in range(MAX_TABS):
        v.page.keyboard.press("Tab")
        stops.append(v.focused())
        if stops[-1]["text"] == text:
            return stops
    raise AssertionError(f"Tab never reached {text!r}: {[s['text'] for s in stops]}")


def test_tab_reaches_the_banner_controls_in_order_and_leaves_again(
    visit: Callable[..., Visit], news: str
) -> None:
    v = visit(news, **GERMAN)
    stops = tab_to(v, "Akzeptieren")
    in_banner = [s["text"] for s in stops if s["inBanner"]]
    assert in_banner == BANNER_CONTROLS
    for stop in stops:
        assert_focus_visible(stop)

    # No trap: the next Tab leaves the banner.
    v.page.keyboard.press("Tab")
    assert not v.focused()["inBanner"]
    # Shift+Tab comes back, in reverse order.
    v.page.keyboard.press("Shift+Tab")
    assert v.focused()["text"] == "Akzeptieren"
    v.page.keyboard.press("Shift+Tab")
    assert v.focused()["text"] == "Ablehnen"


@pytest.mark.parametrize("key", ["Enter", "Space"])
@pytest.mark.parametrize(("button", "ran"), [("Akzeptieren", True), ("Ablehnen", False)])
def test_enter_and_space_activate_the_choice_buttons(
    visit: Callable[..., Visit], news: str, key: str, button: str, ran: bool
) -> None:
    v = visit(news, **GERMAN)
    tab_to(v, button)

    v.page.keyboard.press(key)

    expect(v.banner).to_have_count(0)
    expect(v.reopen).to_be_focused()
    assert_focus_visible(v.focused())
    assert "consent" in v.cookies()
    if ran:
        v.page.wait_for_function("() => window.newsAnalytics && window.newsAnalyticsInline")
    else:
        expect(v.page.locator("script[data-consent]:not([type='text/plain'])")).to_have_count(0)
        assert v.globals_set("newsAnalytics") == {"newsAnalytics": False}


@pytest.mark.parametrize(("key", "close"), [("Enter", "Escape"), ("Space", "close button")])
def test_settings_dialog_by_keyboard_and_closing_returns_focus(
    visit: Callable[..., Visit], news: str, key: str, close: str
) -> None:
    v = visit(news, **GERMAN)
    tab_to(v, "Einstellungen")

    v.page.keyboard.press(key)

    expect(v.dialog).to_be_visible()
    assert v.focused()["inDialog"]
    # Tab through every control of the dialog: each shows its focus.
    seen: dict[int, str] = {}
    # (A modal dialog keeps focus inside; past its last control, focus goes
    # to the browser's own UI, which the page sees as <body>, then wraps.)
    for _ in range(MAX_TABS):
        focused = v.focused()
        if not focused["isBody"]:
            assert focused["inDialog"], f"focus left the modal dialog: {focused}"
            assert_focus_visible(focused)
            if focused["key"] in seen:
                break
            seen[focused["key"]] = focused["text"]
        v.page.keyboard.press("Tab")
    stops = [text for text in seen.values() if text in DIALOG_CONTROLS]
    assert stops == DIALOG_CONTROLS  # all of them, in this order

    if close == "Escape":
        v.page.keyboard.press("Escape")
    else:
        v.dialog.get_by_role("button", name="Schließen").focus()
        v.page.keyboard.press(key)

    expect(v.dialog).to_be_hidden()
    expect(v.banner_button("Einstellungen")).to_be_focused()
    expect(v.banner).to_be_visible()  # closing is not a choice
    assert v.cookies() == {}


#: Where focus is, and whether it is entirely behind the overlay (banner or button).
FOCUS_VS_OVERLAY = """(selector) => {
  const el = document.activeElement;
  if (el === document.body) return null;
  const overlay = document.querySelector(selector);
  const r = el.getBoundingClientRect();
  const o = overlay.getBoundingClientRect();
  return {
    text: el.innerText,
    inOverlay: overlay.contains(el),
    hidden: r.top >= o.top && r.bottom <= o.bottom && r.left >= o.left && r.right <= o.right,
  };
}"""


def covered_while_tabbing(v: Visit, overlay: str) -> list[str]:
    """Tab from the top through every control; those entirely behind ``overlay``."""
    covered, outside = [], 0
    for _ in range(MAX_TABS):
        v.page.keyboard.press("Tab")
        state = v.page.evaluate(FOCUS_VS_OVERLAY, overlay)
        if state is None:  # past the last control
            break
        if state["inOverlay"]:
            continue
        outside += 1
        if state["hidden"]:
            covered.append(state["text"])
    else:
        raise AssertionError("Tab never left the page's last control")
    assert outside >= 4  # the page's own links were all visited
    return covered


@pytest.mark.parametrize("site", ["news", "shop"])
def test_sticky_banner_and_settings_button_never_hide_the_focused_element(
    visit: Callable[..., Visit], request: pytest.FixtureRequest, site: str
) -> None:
    """WCAG 2.4.11 Focus Not Obscured, at a small viewport, before and after a choice."""
    v = visit(request.getfixturevalue(site), viewport={"width": 320, "height": 568}, **GERMAN)
    v.page.wait_for_load_state("load")
    assert covered_while_tabbing(v, "#consent-banner") == []

    v.banner_button("Ablehnen").click()
    expect(v.reopen).to_be_visible()
    v.reload()
    v.page.wait_for_load_state("load")
    assert covered_while_tabbing(v, "#consent-reopen") == []
