"""Google Consent Mode v2 defaults, rendered for the page head."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from flask import Flask, render_template_string

from consent import ConfigurationError
from tests.conftest import AppFactory, choose

CATEGORIES = ["analytics", "marketing", "preferences"]


def head(app: Flask, client: Any | None = None, headers: dict[str, str] | None = None) -> str:
    cookie = client.get_cookie("consent") if client else None
    all_headers = dict(headers or {})
    if cookie:
        all_headers["Cookie"] = f"consent={cookie.value}"
    with app.test_request_context("/", headers=all_headers):
        return render_template_string("{{ consent_head() }}")


def settings(markup: str) -> dict[str, Any]:
    match = re.search(r"data-consent-gcm='([^']*)'", markup)
    assert match, markup
    return json.loads(html.unescape(match.group(1)))


def test_off_by_default(make_app: AppFactory) -> None:
    assert head(make_app()) == ""


def test_first_visit_default_is_all_denied_but_security(make_app: AppFactory) -> None:
    app = make_app(CONSENT_GOOGLE_CONSENT_MODE=True, CONSENT_CATEGORIES=CATEGORIES)
    markup = head(app)
    assert markup.startswith('<script src="/consent/static/consent/gcm.min.js?v=')
    assert settings(markup)["default"] == {
        "ad_personalization": "denied",
        "ad_storage": "denied",
        "ad_user_data": "denied",
        "analytics_storage": "denied",
        "functionality_storage": "denied",
        "personalization_storage": "denied",
        "security_storage": "granted",
        "wait_for_update": 500,
    }


def test_returning_visitor_default_reflects_the_choice(make_app: AppFactory) -> None:
    app = make_app(CONSENT_GOOGLE_CONSENT_MODE=True, CONSENT_CATEGORIES=CATEGORIES)
    client = app.test_client()
    choose(client, "save", category=["analytics", "preferences"])
    default = settings(head(app, client))["default"]
    assert default["analytics_storage"] == "granted"
    assert default["functionality_storage"] == "granted"
    assert default["personalization_storage"] == "granted"
    assert default["ad_storage"] == "denied"
    assert default["ad_user_data"] == "denied"


def test_gpc_keeps_ads_denied_after_accept(make_app: AppFactory) -> None:
    app = make_app(CONSENT_GOOGLE_CONSENT_MODE=True, CONSENT_CATEGORIES=CATEGORIES)
    client = app.test_client()
    choose(client, "accept")
    default = settings(head(app, client, {"Sec-GPC": "1"}))["default"]
    assert default["ad_storage"] == "denied"
    assert default["analytics_storage"] == "granted"


def test_mapping_regions_and_options(make_app: AppFactory) -> None:
    app = make_app(
        CONSENT_GOOGLE_CONSENT_MODE=True,
        CONSENT_CATEGORIES=CATEGORIES,
        CONSENT_GOOGLE_REGIONS=[{"region": ["US-CA"], "ad_storage": "granted"}],
        CONSENT_GOOGLE_URL_PASSTHROUGH=True,
        CONSENT_GOOGLE_ADS_DATA_REDACTION=True,
        CONSENT_GOOGLE_WAIT_FOR_UPDATE=800,
    )
    data = settings(head(app))
    assert data["regions"] == [{"region": ["US-CA"], "ad_storage": "granted"}]
    assert data["url_passthrough"] is True
    assert data["ads_data_redaction"] is True
    assert data["default"]["wait_for_update"] == 800


def test_options_left_at_their_defaults_are_left_out(make_app: AppFactory) -> None:
    """Sent with every page, so nothing the head script would assume anyway."""
    data = settings(head(make_app(CONSENT_GOOGLE_CONSENT_MODE=True)))
    assert set(data) == {"default"}


def test_settings_cannot_leave_their_attribute(make_app: AppFactory) -> None:
    region = "X'></script><script>alert(1)</script>&amp;"
    app = make_app(
        CONSENT_GOOGLE_CONSENT_MODE=True,
        CONSENT_GOOGLE_REGIONS=[{"region": [region], "ad_storage": "granted"}],
    )
    markup = head(app)
    assert markup.count("<script") == 1
    assert markup.count("'") == 2  # the attribute's own quotes
    assert settings(markup)["regions"][0]["region"] == [region]


def test_custom_category_mapping(make_app: AppFactory) -> None:
    app = make_app(
        CONSENT_GOOGLE_CONSENT_MODE=True,
        CONSENT_CATEGORIES={"video": {"label": "Video", "google_consent": ["ad_storage"]}},
    )
    assert choose(app.test_client(), "accept")["google"] == {"ad_storage": "granted"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"CONSENT_GOOGLE_REGIONS": [{"ad_storage": "granted"}]}, "needs 'region'"),
        ({"CONSENT_GOOGLE_REGIONS": [{"region": ["ES"], "ad_storage": "yes"}]}, "invalid"),
        ({"CONSENT_GOOGLE_REGIONS": [{"region": ["ES"], "cookies": "granted"}]}, "invalid"),
        ({"CONSENT_GOOGLE_REGIONS": {"region": ["ES"]}}, "list of mappings"),
        ({"CONSENT_GOOGLE_WAIT_FOR_UPDATE": "500"}, "milliseconds"),
        ({"CONSENT_CATEGORIES": {"analytics": {"google_consent": ["cookies"]}}}, "google_consent"),
    ],
)
def test_bad_settings_fail_at_start_up(
    make_app: AppFactory, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_app(CONSENT_GOOGLE_CONSENT_MODE=True, **config)


def test_each_decision_answers_with_the_update_to_send(make_app: AppFactory) -> None:
    """The JSON answer carries the gtag('consent', 'update') the banner's script sends."""
    app = make_app(CONSENT_GOOGLE_CONSENT_MODE=True, CONSENT_CATEGORIES=CATEGORIES)
    client = app.test_client()
    assert choose(client, "save", category="analytics")["google"] == {
        "ad_personalization": "denied",
        "ad_storage": "denied",
        "ad_user_data": "denied",
        "analytics_storage": "granted",
        "functionality_storage": "denied",
        "personalization_storage": "denied",
    }
    only_analytics = make_app(CONSENT_GOOGLE_CONSENT_MODE=True, CONSENT_CATEGORIES=["analytics"])
    assert choose(only_analytics.test_client(), "accept")["google"] == {
        "analytics_storage": "granted"
    }
    accepted = choose(client, "accept")["google"]
    assert set(accepted.values()) == {"granted"}
    with_gpc = client.post(
        "/consent/accept", headers={"Accept": "application/json", "Sec-GPC": "1"}
    ).get_json()["google"]
    assert with_gpc["ad_storage"] == "denied"
    assert with_gpc["analytics_storage"] == "granted"
    assert "google" not in choose(make_app().test_client(), "accept")
