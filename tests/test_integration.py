"""Fitting into real host apps: their CSRF extensions (the real Flask-WTF and
Flask-SeaSurf), whichever is set up first, and a privacy link that leads somewhere."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, render_template_string, request
from flask_seasurf import SeaSurf
from flask_wtf.csrf import CSRFProtect

from consent import Consent
from tests.conftest import SECRET

JSON = {"Accept": "application/json"}
SAME_SITE = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}


def _site(first: str, csrf_class: type[Any], factory: bool) -> Flask:
    """A host site with a form of its own, the extension and a CSRF extension,
    set up in the order given, directly or through an app factory's init_app."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, CSRF_DISABLE=False)  # SeaSurf is off under TESTING
    csrf = csrf_class() if factory else None
    consent = Consent() if factory else None

    def set_up_csrf() -> None:
        if csrf is not None:
            csrf.init_app(app)
        else:
            csrf_class(app)

    def set_up_consent() -> None:
        if consent is not None:
            consent.init_app(app)
        else:
            Consent(app)

    steps = [set_up_csrf, set_up_consent]
    for step in steps if first == "csrf" else reversed(steps):
        step()

    @app.get("/")
    def page() -> str:
        return render_template_string("<main>Hi</main>{{ consent_banner() }}")

    @app.post("/comment")
    def comment() -> str:  # the site's own form: it must stay protected
        return f"thanks, {request.form.get('name')}"

    return app


ORDERS = [
    pytest.param(first, csrf, factory, id=f"{csrf.__name__}-{first}-first-{kind}")
    for csrf in (CSRFProtect, SeaSurf)
    for first in ("csrf", "consent")
    for factory, kind in ((False, "direct"), (True, "factory"))
]


@pytest.mark.parametrize(("first", "csrf", "factory"), ORDERS)
def test_choices_go_through_an_app_wide_csrf_protection(
    first: str, csrf: type[Any], factory: bool
) -> None:
    client = _site(first, csrf, factory).test_client()
    client.get("/")
    # As the banner's script posts (fetch, JSON answer) ...
    scripted = client.post(
        "/consent/accept", data={"control": "banner"}, headers={**JSON, **SAME_SITE}
    )
    assert scripted.status_code == 200, scripted.get_data(as_text=True)
    assert scripted.get_json()["categories"]["analytics"] is True
    # ... and as the form posts without JavaScript (303 back to the page).
    for action in ("decline", "save", "allow"):
        form = {"next": "/", "category": "analytics"}
        posted = client.post(f"/consent/{action}", data=form, headers=SAME_SITE)
        assert posted.status_code == 303, (action, posted.get_data(as_text=True))
        assert posted.headers["Location"] == "/"


@pytest.mark.parametrize(("first", "csrf", "factory"), ORDERS)
def test_the_site_s_own_forms_stay_protected(first: str, csrf: type[Any], factory: bool) -> None:
    client = _site(first, csrf, factory).test_client()
    client.get("/")
    refused = client.post("/comment", data={"name": "Mallory"}, headers=SAME_SITE)
    assert refused.status_code in (400, 403)


@pytest.mark.parametrize(("first", "csrf", "factory"), ORDERS)
def test_cross_site_choices_are_still_refused_by_our_own_check(
    first: str, csrf: type[Any], factory: bool
) -> None:
    client = _site(first, csrf, factory).test_client()
    client.get("/")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = client.post("/consent/accept", headers={**JSON, **headers})
        assert refused.status_code == 403
        assert "Consent can only be given on this site" in refused.get_json()["reason"]
        assert "Set-Cookie" not in refused.headers


def test_the_first_request_hook_runs_once_and_leaves(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    hooks = list(app.before_request_funcs.get(None, []))
    assert len(hooks) == 1
    client = app.test_client()
    client.get("/")
    assert app.before_request_funcs.get(None, []) == []
    client.get("/")


# -- the privacy link -----------------------------------------------------------


def _app_with_privacy_url(url: str | None, route: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, CONSENT_PRIVACY_URL=url)
    Consent(app)  # routes come after the extension, as in most sites

    @app.get("/")
    def page() -> str:
        return render_template_string("{{ consent_banner() }}")

    if route is not None:
        app.add_url_rule(route, "privacy", lambda: "our privacy page")
    return app


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_privacy_url_without_a_route_is_one_warning_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = _app_with_privacy_url("/privacy").test_client()
    with caplog.at_level(logging.WARNING, logger="consent"):
        for _ in range(3):
            assert client.get("/").status_code == 200
    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "CONSENT_PRIVACY_URL is '/privacy'" in warnings[0]
    assert "no route of this app serves GET /privacy" in warnings[0]
    assert "/consent/policy" in warnings[0]


@pytest.mark.parametrize(
    ("url", "route"),
    [
        ("/privacy", "/privacy"),
        ("/privacy#cookies", "/privacy"),
        ("/privacy?lang=de", "/privacy"),
        ("/privacy", "/privacy/"),  # werkzeug redirects to the slash: the link works
        ("https://example.org/privacy", None),  # another site: not ours to check
        (None, None),  # our own cookie policy
    ],
)
def test_a_privacy_url_that_leads_somewhere_is_no_warning(
    caplog: pytest.LogCaptureFixture, url: str | None, route: str | None
) -> None:
    client = _app_with_privacy_url(url, route).test_client()
    with caplog.at_level(logging.WARNING, logger="consent"):
        assert client.get("/").status_code == 200
    assert _warnings(caplog) == []
