"""Issue 3, point 11: no layout shift, no horizontal scroll, every control on screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.support import TWO_FRAMES, Visit

pytestmark = pytest.mark.browser

#: Sums every layout shift of the page (not caused by input), from the start.
OBSERVE_SHIFTS = """
window.__shift = 0;
window.__shiftObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shift += e.value;
});
window.__shiftObserver.observe({type: 'layout-shift', buffered: true});
"""
SHIFT_SO_FAR = """() => {
  for (const e of window.__shiftObserver.takeRecords()) {
    if (!e.hadRecentInput) window.__shift += e.value;
  }
  return window.__shift;
}"""


def test_the_banner_causes_no_layout_shift(visit: Callable[..., Visit], news: str) -> None:
    v = visit(news, None, locale="de-DE")
    v.context.add_init_script(OBSERVE_SHIFTS)
    v.goto("/")
    v.page.wait_for_load_state("load")
    v.page.evaluate(TWO_FRAMES)
    expect(v.banner).to_be_visible()
    assert v.page.evaluate(SHIFT_SO_FAR) == 0

    # The instrument works: pushing the article down is a shift it sees.
    v.page.evaluate(
        "() => { const d = document.createElement('div'); d.style.height = '200px';"
        " document.body.prepend(d); }"
    )
    v.page.evaluate(TWO_FRAMES)
    v.page.wait_for_function(f"({SHIFT_SO_FAR})() > 0")


# 320 CSS px is WCAG 1.4.10's reflow width. Browser zoom at 200 % in a
# 1280 x 800 window lays the page out in a 640 x 400 CSS-pixel viewport at a
# device pixel ratio of 2: zoom changes the CSS-pixel size of the viewport, and
# that is exactly what viewport + device_scale_factor emulate. (CSS `zoom` on
# <html> would not do: it scales the page inside an unchanged viewport and
# leaves media queries and vw units as they were.)
VIEWPORTS = [
    pytest.param({"viewport": {"width": 320, "height": 640}}, id="320px"),
    pytest.param(
        {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}, id="zoom200"
    ),
]


@pytest.mark.parametrize("size", VIEWPORTS)
def test_small_screens_and_zoom_need_no_horizontal_scrolling(
    visit: Callable[..., Visit], news: str, size: dict[str, Any]
) -> None:
    v = visit(news, None, locale=None, **size)
    for language in ("de", "en", "ar"):  # long words; short ones; right to left
        v.page.set_extra_http_headers({"Accept-Language": language})
        v.goto("/")
        expect(v.banner).to_have_attribute("lang", language)
        metrics = v.page.evaluate(
            """() => ({scroll: document.documentElement.scrollWidth,
                       client: document.documentElement.clientWidth,
                       width: innerWidth, height: innerHeight})"""
        )
        assert metrics["width"] == size["viewport"]["width"]
        assert metrics["scroll"] <= metrics["client"], (language, metrics)

        controls = v.banner.locator("a, button")
        assert controls.count() == 4
        for control in controls.all():
            box = control.bounding_box()
            assert box is not None
            inside = (
                box["x"] >= 0
                and box["y"] >= 0
                and box["x"] + box["width"] <= metrics["width"]
                and box["y"] + box["height"] <= metrics["height"]
            )
            assert inside, (language, control.inner_text(), box, metrics)

    # The settings dialog fits as well; its buttons can be scrolled to.
    v.banner.locator("[data-consent-open]").click()
    expect(v.dialog).to_be_visible()
    box = v.dialog.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= metrics["width"]
    assert v.dialog.evaluate("el => el.scrollWidth <= el.clientWidth"), "dialog scrolls sideways"
    assert v.page.evaluate("document.documentElement.scrollWidth") <= metrics["client"]
    for button in v.dialog.locator(".consent-actions button").all():
        button.scroll_into_view_if_needed()
        # (not quite 1: the scrolled dialog may leave a sub-pixel edge clipped)
        expect(button).to_be_in_viewport(ratio=0.95)


def test_right_to_left_mirrors_banner_and_dialog(visit: Callable[..., Visit], news: str) -> None:
    v = visit(news, locale="ar")
    expect(v.banner).to_have_attribute("dir", "rtl")

    def box(locator: Any) -> dict[str, float]:
        b = locator.bounding_box()
        assert b is not None
        return {"left": b["x"], "right": b["x"] + b["width"]}

    # Text starts at the right; the buttons run from right to left in DOM order.
    heading, text = box(v.banner.get_by_role("heading")), box(v.intro)
    assert abs(heading["right"] - text["right"]) <= 1
    more, decline, accept = (box(b) for b in v.banner.get_by_role("button").all())
    assert more["left"] > decline["right"] > accept["right"]

    v.banner.locator("[data-consent-open]").click()
    expect(v.dialog).to_be_visible()
    heading = box(v.dialog.get_by_role("heading"))
    text = box(v.dialog.locator(".consent-settings > p").first)
    close = box(v.dialog.locator("[data-consent-close]"))
    assert abs(heading["right"] - text["right"]) <= 1, (heading, text)
    assert close["right"] <= heading["left"]


# -- issue 13, finding 7: placement ------------------------------------------

PLACES = [
    pytest.param("short", {"width": 1024, "height": 700}, id="short-page"),
    pytest.param("long", {"width": 1024, "height": 700}, id="long-page"),
    pytest.param("short", {"width": 320, "height": 640}, id="short-page-320px"),
    pytest.param("long", {"width": 320, "height": 640}, id="long-page-320px"),
]


@pytest.mark.parametrize(("length", "viewport"), PLACES)
def test_the_banner_sits_at_the_bottom_edge_on_any_page_length(
    visit: Callable[..., Visit], hosts: Callable[..., str], length: str, viewport: dict[str, int]
) -> None:
    v = visit(hosts(), None, viewport=viewport)
    v.context.add_init_script(OBSERVE_SHIFTS)
    v.goto(f"/page?length={length}")
    v.page.wait_for_load_state("load")
    v.page.evaluate(TWO_FRAMES)
    for scroll in (0, 400, 100_000):  # the top, somewhere, the end
        v.page.evaluate(f"scrollTo(0, {scroll})")
        v.page.evaluate(TWO_FRAMES)
        box = v.banner.bounding_box()
        assert box is not None
        gap_below = viewport["height"] - (box["y"] + box["height"])
        assert 0 <= gap_below <= 16, (scroll, box)
        centre = box["x"] + box["width"] / 2
        assert abs(centre - viewport["width"] / 2) <= 1, box
    assert v.page.evaluate(SHIFT_SO_FAR) == 0


#: Whether the focused element is entirely hidden (outside the viewport, or
#: wholly behind the banner) — what WCAG 2.4.11 forbids.
FOCUS_HIDDEN = """() => {
  const el = document.activeElement;
  const banner = document.getElementById('consent-banner');
  if (!el || el === document.body || banner.contains(el)) return null;
  const r = el.getBoundingClientRect();
  const b = banner.getBoundingClientRect();
  const top = Math.max(r.top, 0), bottom = Math.min(r.bottom, innerHeight);
  const left = Math.max(r.left, 0), right = Math.min(r.right, innerWidth);
  const onScreen = bottom > top && right > left;
  const behind = top >= b.top && bottom <= b.bottom && left >= b.left && right <= b.right;
  return {name: el.textContent.trim().slice(0, 30) || el.tagName, hidden: !onScreen || behind};
}"""


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize(("length", "viewport"), PLACES)
def test_the_banner_never_hides_the_focused_element(
    visit: Callable[..., Visit],
    hosts: Callable[..., str],
    length: str,
    viewport: dict[str, int],
    javascript: bool,
) -> None:
    v = visit(hosts(), f"/page?length={length}", viewport=viewport, java_script_enabled=javascript)
    seen = []
    for _ in range(40):
        v.page.keyboard.press("Tab")  # (layout is read synchronously: no frames to wait for)
        focus = v.page.evaluate(FOCUS_HIDDEN)
        if focus is None:  # in the banner: every control of the page came before it
            break
        seen.append(focus["name"])
        assert not focus["hidden"], (focus["name"], seen)
    assert "The last link" in seen, seen
