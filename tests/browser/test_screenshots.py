"""Look and feel: the pictures in docs/ (refresh them with SCREENSHOTS=1 make test).

Without SCREENSHOTS=1 the same screenshots are taken into a temp folder, so
the test still proves every state renders, but docs/ is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.support import Visit

pytestmark = pytest.mark.browser

PNG = b"\x89PNG\r\n\x1a\n"
DESKTOP = {"viewport": {"width": 960, "height": 600}}
MOBILE = {
    "viewport": {"width": 360, "height": 720},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
#: One context per look; inside it, each picture is (file, language, open dialog?).
SHOTS: dict[str, tuple[dict[str, Any], list[tuple[str, str, bool]]]] = {
    "desktop": (
        DESKTOP,
        [
            ("banner-de.png", "de", False),
            ("settings-dialog.png", "de", True),
            ("banner-en.png", "en", False),
            ("banner-ar.png", "ar", False),
        ],
    ),
    "dark": ({**DESKTOP, "color_scheme": "dark"}, [("banner-dark.png", "de", False)]),
    "mobile": (MOBILE, [("banner-mobile.png", "de", False)]),
}


def take(v: Visit, path: Path) -> None:
    v.page.evaluate("document.fonts.ready.then(() => true)")
    v.page.screenshot(path=path, animations="disabled", caret="hide")
    data = path.read_bytes()
    assert data.startswith(PNG)
    assert len(data) > 5_000


@pytest.mark.parametrize("look", list(SHOTS))
def test_screenshots(visit: Callable[..., Visit], news: str, out_dir: Path, look: str) -> None:
    options, shots = SHOTS[look]
    v = visit(news, None, locale=None, **options)
    for name, language, dialog in shots:
        v.page.set_extra_http_headers({"Accept-Language": language})
        v.goto("/")
        expect(v.banner).to_be_visible()
        expect(v.banner).to_have_attribute("lang", language)
        if dialog:
            v.banner.locator("[data-consent-open]").click()
            expect(v.dialog).to_be_visible()
        take(v, out_dir / name)
