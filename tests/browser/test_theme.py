"""Issue 13, finding 6: the colours follow the scheme the page declares, not the
OS alone; ``CONSENT_THEME`` forces light or dark; and in every combination every
text of the banner, the settings dialog, the placeholder and the settings button
keeps a contrast of at least 4.5:1."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.browser.support import Visit, contrast

pytestmark = pytest.mark.browser

LIGHT_BG, DARK_BG = "rgb(255, 255, 255)", "rgb(28, 31, 36)"

COMBINATIONS = [
    pytest.param(theme, declares, scheme, id=f"{theme}-page_{declares}-os_{scheme}")
    for theme in ("auto", "light", "dark")
    for declares in ("none", "meta", "css")
    for scheme in ("light", "dark")
]


def expected_dark(theme: str, declares: str, scheme: str) -> bool:
    """Dark when forced, or on "auto" where the page supports dark and the visitor prefers it."""
    return theme == "dark" or (theme == "auto" and declares != "none" and scheme == "dark")


def low_contrast(v: Visit, selector: str) -> list[tuple[str, float]]:
    parts = [p for p in v.page.locator(selector).all() if p.is_visible()]
    assert len(parts) >= 3, selector
    return [(p.inner_text()[:30], round(r, 2)) for p in parts if (r := contrast(p)) < 4.5]


@pytest.mark.parametrize(("theme", "declares", "scheme"), COMBINATIONS)
def test_colours_follow_the_page_and_the_theme_with_enough_contrast(
    visit: Callable[..., Visit], hosts: Callable[..., str], theme: str, declares: str, scheme: str
) -> None:
    dark = expected_dark(theme, declares, scheme)
    v = visit(hosts(CONSENT_THEME=theme), f"/page?declares={declares}", color_scheme=scheme)
    expect(v.banner).to_be_visible()
    for box in (v.banner, v.page.locator(".consent-embed")):
        assert box.evaluate("el => getComputedStyle(el).backgroundColor") == (
            DARK_BG if dark else LIGHT_BG
        )
    assert low_contrast(v, "#consent-banner :is(h2, p, a, button)") == []
    assert low_contrast(v, ".consent-embed :is(p, a, button)") == []

    v.banner_button("Settings").click()
    expect(v.dialog).to_be_visible()
    card = v.dialog.locator(".consent-settings")
    assert card.evaluate("el => getComputedStyle(el).backgroundColor") == (
        DARK_BG if dark else LIGHT_BG
    )
    assert (
        low_contrast(v, "#consent-dialog :is(h2, p, label, summary, button, .consent-always)") == []
    )

    v.dialog.get_by_role("button", name="Decline all").click()
    expect(v.reopen).to_be_visible()
    assert contrast(v.reopen) >= 4.5


def test_a_light_only_page_keeps_a_light_banner_under_a_dark_os(
    visit: Callable[..., Visit], hosts: Callable[..., str]
) -> None:
    """The report: a page that declares no colour scheme got a dark banner, and
    its heading fell to 3.59:1 against the host's own heading colour."""
    v = visit(hosts(), "/page?sheet=hostile", color_scheme="dark")
    assert v.banner.evaluate("el => getComputedStyle(el).backgroundColor") == LIGHT_BG
    assert contrast(v.banner.get_by_role("heading")) >= 4.5
