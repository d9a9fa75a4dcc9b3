"""Global Privacy Control: an opt-out that is never read as consent."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import render_template_string

from consent import consent_changed
from tests.conftest import AppFactory, choose

GPC = {"Sec-GPC": "1"}
JSON = {"Accept": "application/json"}
CATEGORIES = {"analytics": {"cookies": ["_ga"]}, "marketing": {"cookies": ["_fbp"]}}


@pytest.fixture
def client(make_app: AppFactory) -> Any:
    return make_app(CONSENT_CATEGORIES=CATEGORIES).test_client()


def state(client: Any, headers: dict[str, str] | None = None) -> Any:
    return client.get("/consent/preferences", headers={**JSON, **(headers or {})}).get_json()


def test_gpc_refuses_marketing_without_asking(client: Any) -> None:
    before = state(client, GPC)
    assert before["gpc"] is True
    assert before["categories"]["marketing"] is False
    choose_state = client.post("/consent/accept", headers={**JSON, **GPC}).get_json()
    assert choose_state["categories"] == {"necessary": True, "analytics": True, "marketing": False}
    assert choose_state["decided"] is True


def test_gpc_wins_over_an_earlier_accept(client: Any) -> None:
    assert choose(client, "accept")["categories"]["marketing"] is True
    later = state(client, GPC)
    assert later["categories"]["marketing"] is False
    assert later["categories"]["analytics"] is True
    assert later["decided"] is True
    # Without the signal the visitor's own earlier answer stands again.
    assert state(client)["categories"]["marketing"] is True


def test_gpc_is_never_consent(client: Any) -> None:
    undecided = state(client, GPC)
    assert undecided["decided"] is False
    assert undecided["categories"] == {"necessary": True, "analytics": False, "marketing": False}


@pytest.mark.parametrize("value", ["0", "true", " 1", "1 ", "yes", "", "11"])
def test_only_exactly_1_counts(client: Any, value: str) -> None:
    choose(client, "accept")
    assert state(client, {"Sec-GPC": value})["categories"]["marketing"] is True


def test_gpc_refused_category_only_banner_is_not_shown(client: Any) -> None:
    """With GPC, a visitor who answered the other categories is not asked about marketing."""
    client.post("/consent/save", data={"category": "analytics"}, headers=GPC)
    html = client.get("/", headers=GPC).get_data(as_text=True)
    assert 'id="consent-banner"' not in html


def test_browser_signal_posted_by_the_script_is_honoured(client: Any) -> None:
    """navigator.globalPrivacyControl reaches the server as gpc=1 on the post."""
    response = client.post("/consent/accept", data={"gpc": "1"}, headers=JSON).get_json()
    assert response["categories"]["marketing"] is False
    assert response["gpc"] is True
    # Recorded as refused, so it stays refused on later pages.
    assert state(client)["categories"]["marketing"] is False


def test_allow_cannot_grant_a_gpc_category(client: Any) -> None:
    response = client.post(
        "/consent/allow", data={"category": "marketing"}, headers={**JSON, **GPC}
    )
    assert response.get_json()["categories"]["marketing"] is False


def test_gpc_can_be_turned_off(make_app: AppFactory) -> None:
    client = make_app(CONSENT_CATEGORIES=CATEGORIES, CONSENT_GPC=False).test_client()
    choose(client, "accept")
    assert state(client, GPC)["categories"]["marketing"] is True
    assert client.get("/.well-known/gpc.json").status_code == 404


def test_gpc_can_apply_to_other_categories(make_app: AppFactory) -> None:
    client = make_app(
        CONSENT_CATEGORIES={"analytics": {"gpc": True}, "marketing": {"gpc": False}}
    ).test_client()
    choose(client, "accept")
    assert state(client, GPC)["categories"] == {
        "necessary": True,
        "analytics": False,
        "marketing": True,
    }


def test_signal_reports_gpc(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES=CATEGORIES)
    seen: list[bool] = []
    with consent_changed.connected_to(lambda sender, **kw: seen.append(kw["gpc"]), app):
        app.test_client().post("/consent/accept", headers=GPC)
        app.test_client().post("/consent/accept")
    assert seen == [True, False]


def test_gpc_expires_the_marketing_cookies(client: Any) -> None:
    client.set_cookie("_fbp", "1")
    client.post("/consent/accept", headers=GPC)
    assert client.get_cookie("_fbp") is None


def test_well_known_gpc_json(make_app: AppFactory) -> None:
    client = make_app(CONSENT_GPC_LAST_UPDATE=date(2026, 11, 1)).test_client()
    response = client.get("/.well-known/gpc.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"gpc": True, "lastUpdate": "2026-11-01"}


def test_well_known_defaults_to_start_date(make_app: AppFactory) -> None:
    body = make_app().test_client().get("/.well-known/gpc.json").get_json()
    assert date.fromisoformat(body["lastUpdate"]) <= date.today()


def test_bad_last_update_fails_at_start_up(make_app: AppFactory) -> None:
    from consent import ConfigurationError

    with pytest.raises(ConfigurationError, match="CONSENT_GPC_LAST_UPDATE"):
        make_app(CONSENT_GPC_LAST_UPDATE="yesterday")


# -- issue 14, item 12: a header that overrides an earlier "accept" sticks ------


def page_with_banner(app: Any) -> None:
    @app.get("/news")
    def news() -> str:
        return render_template_string("<main>News</main>{{ consent_banner() }}")


def test_a_gpc_header_over_an_earlier_accept_is_recorded_and_kept(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES=CATEGORIES)
    page_with_banner(app)
    client = app.test_client()
    accepted = choose(client, "accept")
    client.set_cookie("_fbp", "fb.1.123")
    changes: list[dict[str, Any]] = []
    consent_changed.connect(lambda sender, **kw: changes.append(kw), app, weak=False)

    # The first page with the signal rewrites the choice, expires the cookie.
    response = client.get("/news", headers=GPC)
    assert response.status_code == 200
    cookies = response.headers.getlist("Set-Cookie")
    assert any(h.startswith("consent=ey") for h in cookies)
    assert any(h.startswith("_fbp=; Max-Age=0") for h in cookies)
    assert client.get_cookie("_fbp") is None
    assert len(changes) == 1
    assert changes[0]["action"] == "gpc"
    assert changes[0]["new"].consent_id == accepted["consent_id"]

    # Without the signal, the opt-out stays; analytics, which GPC does not touch, too.
    later = state(client)
    assert later["gpc"] is False
    assert later["categories"] == {"necessary": True, "analytics": True, "marketing": False}
    assert later["consent_id"] == accepted["consent_id"]

    # Once rewritten, the signal changes nothing more.
    again = client.get("/news", headers=GPC)
    assert not any(h.startswith("consent=") for h in again.headers.getlist("Set-Cookie"))
    assert len(changes) == 1


def test_the_script_posts_a_signal_only_it_can_see(client: Any) -> None:
    """``navigator.globalPrivacyControl`` without the header: POST /consent/gpc."""
    accepted = choose(client, "accept")
    applied = client.post("/consent/gpc", data={"gpc": "1"}, headers=JSON)
    assert applied.status_code == 200
    body = applied.get_json()
    assert body["categories"] == {"necessary": True, "analytics": True, "marketing": False}
    assert body["consent_id"] == accepted["consent_id"]
    assert body["forget"] == ["_fbp"]
    assert state(client)["categories"]["marketing"] is False


def test_the_gpc_endpoint_needs_a_signal(client: Any) -> None:
    choose(client, "accept")
    refused = client.post("/consent/gpc", headers=JSON)
    assert refused.status_code == 400
    assert "No Global Privacy Control signal" in refused.get_json()["reason"]
    assert state(client)["categories"]["marketing"] is True


def test_an_unanswered_category_stays_unanswered_under_the_signal(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES={**CATEGORIES, "preferences": {}})
    client = app.test_client()
    choose(client, "allow", category="marketing")  # "Always allow" on an embed, first visit
    body = client.post("/consent/gpc", data={"gpc": "1"}, headers=JSON).get_json()
    assert body["categories"]["marketing"] is False
    assert body["decided"] is False  # analytics and preferences: still to be asked
