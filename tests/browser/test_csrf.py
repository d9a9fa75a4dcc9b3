"""Issue 13, finding 1: on a site whose every form is protected by Flask-WTF's
CSRFProtect (set up after the extension), a visitor can accept and decline, with
the banner's script and without JavaScript."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.browser.support import Visit

pytestmark = pytest.mark.browser


def test_choices_work_under_app_wide_csrf_protection(
    visit: Callable[..., Visit], hosts: Callable[..., str]
) -> None:
    origin = hosts(csrf=True)

    # With the script: Accept is recorded in place, without a reload.
    v = visit(origin, "/page")
    v.mark_document()
    v.banner_button("Accept").click()
    expect(v.reopen).to_be_visible()
    expect(v.banner).to_have_count(0)
    assert v.same_document()
    assert "consent" in v.cookies()

    # Without JavaScript: Decline is a form post that lands back on the page.
    n = visit(origin, "/page", java_script_enabled=False)
    n.banner_button("Decline").click()
    n.page.wait_for_url(origin + "/page")
    expect(n.banner).to_have_count(0)
    expect(n.reopen).to_be_visible()
    assert "consent" in n.cookies()

    # The site's own form is still protected: without a token it is refused.
    with n.page.expect_response(origin + "/comment") as refused:
        n.page.get_by_role("button", name="Send").click()
    assert refused.value.status == 400
    n.errors.clear()  # the refusal above, provoked on purpose
