"""Issue 13, finding 5: the banner, the settings dialog, the embed placeholder and
the settings button look the same on any host: under Bootstrap 5, Pico, Tailwind's
preflight, normalize.css (installed from npm) and a hostile sheet of our own, every
element's computed font, size, colour and box match the page without a host sheet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.hosts import SHEETS
from tests.browser.support import TWO_FRAMES, Visit

pytestmark = pytest.mark.browser

#: What "looks the same" compares, for the box and every element inside it.
PROPERTIES = [
    "display",
    "position",
    "boxSizing",
    "fontFamily",
    "fontSize",
    "fontWeight",
    "fontStyle",
    "fontVariantCaps",
    "lineHeight",
    "letterSpacing",
    "wordSpacing",
    "textTransform",
    "textAlign",
    "textIndent",
    "textShadow",
    "textDecorationLine",
    "color",
    "backgroundColor",
    "backgroundImage",
    "borderTopWidth",
    "borderRightWidth",
    "borderBottomWidth",
    "borderLeftWidth",
    "borderTopStyle",
    "borderTopColor",
    "borderTopLeftRadius",
    "paddingTop",
    "paddingRight",
    "paddingBottom",
    "paddingLeft",
    "marginTop",
    "marginRight",
    "marginBottom",
    "marginLeft",
    "listStyleType",
    "appearance",
    "accentColor",
    "boxShadow",
    "cursor",
    "columnCount",
]

#: Every element of a box: its computed style, its ::before and ::after, and its
#: box relative to the box's own (and the box's place in the viewport).
DESCRIBE = """([root, props, absolute]) => {
  const round = (v) => Math.round(v * 2) / 2;
  const base = root.getBoundingClientRect();
  const describe = (el) => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    const out = {element: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                   + (el.className ? '.' + el.className : '')
                   + ' "' + (el.textContent || '').trim().slice(0, 20) + '"'};
    for (const p of props) out[p] = s[p];
    out.before = getComputedStyle(el, '::before').content;
    out.after = getComputedStyle(el, '::after').content;
    // An element that is not rendered (or hidden in a closed <details>, whose
    // content Chromium lays out lazily) has no box to compare.
    const shown = s.display !== 'none' && !el.closest('details:not([open]) > :not(summary)');
    out.box = shown ? [r.x - base.x, r.y - base.y, r.width, r.height].map(round) : null;
    return out;
  };
  const place = absolute ? [base.x, base.y, base.width, base.height] : [base.width, base.height];
  return {place: place.map(round), elements: [root, ...root.querySelectorAll('*')].map(describe)};
}"""


#: What the dialog's frame shows of itself: only its box.
FRAME_PROPERTIES = [p for p in PROPERTIES if p.startswith(("border", "padding", "margin"))] + [
    "backgroundColor",
    "boxShadow",
    "display",
    "position",
]
FRAME = """(el, props) => {
  const s = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  return [...props.map((p) => s[p]), s.getPropertyValue('overflow-y'),
          ...[r.x, r.y, r.width, r.height].map((v) => Math.round(v * 2) / 2),
          getComputedStyle(el, '::backdrop').backgroundColor];
}"""


def describe(v: Visit, selector: str, *, absolute: bool) -> dict[str, Any]:
    v.page.evaluate(TWO_FRAMES)
    handle = v.page.locator(selector).first.element_handle()
    return dict(v.page.evaluate(DESCRIBE, [handle, PROPERTIES, absolute]))


def differences(plain: dict[str, Any], hosted: dict[str, Any]) -> list[str]:
    found = []
    if plain["place"] != hosted["place"]:
        found.append(f"box {plain['place']} -> {hosted['place']}")
    if len(plain["elements"]) != len(hosted["elements"]):
        return [*found, "a different number of elements"]
    for a, b in zip(plain["elements"], hosted["elements"], strict=True):
        for key in a:
            if a[key] != b[key]:
                found.append(f"{a['element']}: {key} {a[key]!r} -> {b[key]!r}")
    return found


def snapshot(visit: Callable[..., Visit], origin: str, sheet: str) -> dict[str, Any]:
    """Each consent box on the host page with ``sheet``: banner and placeholder on
    arrival, the dialog from the banner's Settings, the settings button after a choice."""
    v = visit(origin, f"/page?sheet={sheet}")
    expect(v.banner).to_be_visible()
    boxes = {
        "banner": describe(v, "#consent-banner", absolute=True),
        "embed placeholder": describe(v, ".consent-embed", absolute=False),
    }
    v.banner_button("Settings").click()
    expect(v.dialog).to_be_visible()
    v.page.wait_for_function("document.querySelector('#consent-dialog link').sheet !== null")
    # The dialog is a bare frame (it has no text of its own): its box, then its card.
    boxes["settings dialog"] = {
        "place": v.dialog.evaluate(FRAME, FRAME_PROPERTIES),
        "elements": [],
    }
    boxes["settings card"] = describe(v, "#consent-dialog .consent-settings", absolute=True)
    v.dialog.get_by_role("button", name="Decline all").click()
    expect(v.reopen).to_be_visible()
    boxes["settings button"] = describe(v, "#consent-reopen", absolute=False)
    return boxes


#: A few of the host page's own elements, to prove that its sheet applies.
HOST_LOOK = """() => ['body', 'header h1', 'main p', 'main a', 'main button'].map((s) => {
  const c = getComputedStyle(document.querySelector(s));
  return [c.margin, c.padding, c.fontFamily, c.fontSize, c.color, c.backgroundColor].join();
}).join('|')"""


@pytest.mark.parametrize("sheet", sorted(SHEETS))
def test_a_host_stylesheet_changes_nothing_in_the_consent_boxes(
    visit: Callable[..., Visit], hosts: Callable[..., str], sheet: str
) -> None:
    origin = hosts()
    plain = snapshot(visit, origin, "none")
    hosted = snapshot(visit, origin, sheet)
    bare_look = visit(origin, "/page?sheet=none").page.evaluate(HOST_LOOK)
    assert visit(origin, f"/page?sheet={sheet}").page.evaluate(HOST_LOOK) != bare_look, (
        f"{sheet} did not style the host page"
    )
    for box, described in plain.items():
        assert len(described["elements"]) >= 3 or box == "settings dialog", box
        assert differences(described, hosted[box]) == [], f"{sheet} changed the {box}"


def test_the_site_font_reaches_every_text_of_the_banner_through_the_custom_property(
    visit: Callable[..., Visit], hosts: Callable[..., str]
) -> None:
    v = visit(hosts(), "/page?sheet=hostile")
    v.page.add_style_tag(content=":root { --consent-font: 'Courier New', monospace; }")
    families = v.banner.locator("h2, p, a, button").evaluate_all(
        "els => els.map(el => getComputedStyle(el).fontFamily)"
    )
    assert len(families) >= 6
    assert set(families) == {'"Courier New", monospace'}
