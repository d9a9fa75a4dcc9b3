"""The consent endpoints, through real requests to the test client."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from werkzeug.http import parse_set_header

from consent import ConfigurationError, consent_changed
from tests.conftest import AppFactory, choose

JSON = {"Accept": "application/json"}


def consent_cookie(response: Any) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("consent="):
            return header
    return None


@pytest.mark.parametrize(
    ("action", "form", "expected"),
    [
        ("accept", {}, {"necessary": True, "analytics": True, "marketing": True}),
        ("decline", {}, {"necessary": True, "analytics": False, "marketing": False}),
        (
            "save",
            {"category": ["marketing"]},
            {"necessary": True, "analytics": False, "marketing": True},
        ),
        ("save", {}, {"necessary": True, "analytics": False, "marketing": False}),
        (
            "save",
            {"category": ["necessary", "analytics"]},
            {"necessary": True, "analytics": True, "marketing": False},
        ),
    ],
)
def test_actions_record_the_choice(
    make_app: AppFactory, action: str, form: dict[str, Any], expected: dict[str, bool]
) -> None:
    client = make_app(CONSENT_CATEGORIES=["analytics", "marketing"]).test_client()
    state = choose(client, action, **form)
    assert state["decided"] is True
    assert state["categories"] == expected
    # The next request reads the same choice back from the cookie.
    again = client.get("/consent/preferences", headers=JSON).get_json()
    assert again["categories"] == expected
    assert again["consent_id"] == state["consent_id"]


def test_form_post_redirects_303_to_next(client: Any) -> None:
    response = client.post("/consent/accept", data={"next": "/article?page=2#top"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/article?page=2#top"
    assert consent_cookie(response) is not None


def test_form_post_without_next_goes_home(client: Any) -> None:
    response = client.post("/consent/decline")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "evil",
    [
        "//evil.example",
        "//evil.example/path",
        "https://evil.example",
        "http://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " //evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "evil.example",
        "data:text/html,hi",
        "/" + "a" * 5000,
    ],
)
def test_next_never_leaves_the_site(client: Any, evil: str) -> None:
    response = client.post("/consent/accept", data={"next": evil})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_next_respects_script_root(make_app: AppFactory) -> None:
    client = make_app().test_client()
    response = client.post("/consent/accept", base_url="http://localhost/blog/")
    assert response.headers["Location"] == "/blog/"


def test_json_answer_when_preferred(client: Any) -> None:
    response = client.post("/consent/accept", headers=JSON, data={"next": "/x"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {
        "decided",
        "revision",
        "consent_id",
        "decided_at",
        "categories",
        "forget",
        "gpc",
    }
    assert body["revision"] == "1"


def test_cookie_attributes(make_app: AppFactory) -> None:
    client = make_app(CONSENT_MAX_AGE=3600).test_client()
    header = consent_cookie(client.post("/consent/accept"))
    assert header is not None
    parts = [p.strip() for p in header.split(";")]
    assert "SameSite=Lax" in parts
    assert "Path=/" in parts
    assert "HttpOnly" in parts
    assert "Max-Age=3600" in parts
    assert "Secure" not in parts


def test_over_https_the_choice_cookie_is_one_only_this_host_can_set(client: Any) -> None:
    response = client.post("/consent/accept", base_url="https://www.example.com")
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("__Host-"))
    parts = [p.strip() for p in header.split(";")]
    assert parts[0].startswith("__Host-consent=ey")
    assert {"Secure", "Path=/", "HttpOnly"} <= set(parts)
    assert not any(p.startswith("Domain=") for p in parts)
    assert consent_cookie(response) is None  # no plain-name copy
    state = client.get("/consent/preferences", base_url="https://www.example.com", headers=JSON)
    assert state.get_json()["decided"] is True


def test_a_planted_plain_cookie_is_no_choice_over_https(make_app: AppFactory) -> None:
    """Cookie tossing on a first visit: a sibling subdomain sets its own, validly
    signed "accept" for the parent domain. Over https only ``__Host-`` counts."""
    app = make_app()
    attacker = app.test_client()
    choose(attacker, "accept")  # over http: a plain, validly signed cookie
    planted = attacker.get_cookie("consent").value
    visitor = app.test_client(use_cookies=False)
    state = visitor.get(
        "/consent/preferences",
        base_url="https://www.example.com",
        headers={"Cookie": f"consent={planted}", **JSON},
    ).get_json()
    assert state["decided"] is False
    assert state["consent_id"] is None
    # Their own choice replaces the plain cookie, which is expired where it can live.
    response = visitor.post(
        "/consent/decline",
        base_url="https://www.example.com",
        headers={"Cookie": f"consent={planted}", **JSON},
    )
    headers = response.headers.getlist("Set-Cookie")
    assert "consent=; Max-Age=0; Path=/" in headers
    assert "consent=; Max-Age=0; Path=/; Domain=example.com" in headers
    assert response.get_json()["consent_id"] != state["consent_id"]


def test_a_configured_domain_keeps_the_plain_name(make_app: AppFactory) -> None:
    """``__Host-`` forbids ``Domain``: a site that shares the choice across subdomains
    keeps the plain name (and its defence is the two-cookie rule below)."""
    client = make_app(CONSENT_COOKIE_DOMAIN="example.com").test_client()
    response = client.post("/consent/accept", base_url="https://www.example.com")
    header = consent_cookie(response)
    assert header is not None
    assert "Domain=example.com" in header
    assert "Secure" in [p.strip() for p in header.split(";")]


def test_default_max_age_is_about_six_months(client: Any) -> None:
    header = consent_cookie(client.post("/consent/accept"))
    assert header is not None
    max_age = next(int(p.split("=")[1]) for p in header.split("; ") if p.startswith("Max-Age="))
    assert 150 * 86400 <= max_age <= 186 * 86400


def test_unknown_category_is_a_400_with_reason(client: Any) -> None:
    response = client.post("/consent/save", data={"category": ["analytics", "spying"]})
    assert response.status_code == 400
    assert "spying" in response.get_data(as_text=True)
    assert consent_cookie(response) is None


def test_unknown_category_json_error(client: Any) -> None:
    response = client.post("/consent/save", data={"category": "spying"}, headers=JSON)
    assert response.status_code == 400
    assert response.get_json()["reason"] == "Unknown category 'spying'."


def test_too_many_category_fields_is_a_400(client: Any) -> None:
    response = client.post("/consent/save", data={"category": ["analytics"] * 65})
    assert response.status_code == 400
    assert "At most 64" in response.get_data(as_text=True)


def test_get_on_a_post_endpoint_is_405(client: Any) -> None:
    assert client.get("/consent/accept").status_code == 405


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://localhost:8080"},
        {"Origin": "https://localhost"},
        {"Origin": "http://sub.localhost"},
        {"Origin": "null"},
        {"Origin": "not a url"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
    ],
)
@pytest.mark.parametrize("action", ["accept", "decline", "save"])
def test_cross_site_posts_are_refused(client: Any, headers: dict[str, str], action: str) -> None:
    response = client.post(f"/consent/{action}", headers=headers, data={"category": "analytics"})
    assert response.status_code == 403
    assert "Consent can only be given on this site" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    # Nothing changed: still no choice.
    assert client.get("/consent/preferences", headers=JSON).get_json()["decided"] is False


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "http://localhost"},
        {"Origin": "http://localhost:80"},
        {"Origin": "HTTP://LOCALHOST"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
        {"Sec-Fetch-Site": "none"},
    ],
)
def test_same_origin_and_headerless_posts_work(client: Any, headers: dict[str, str]) -> None:
    response = client.post("/consent/accept", headers=headers)
    assert response.status_code == 303
    assert consent_cookie(response) is not None


def test_trusted_origin_may_post(make_app: AppFactory) -> None:
    client = make_app(CONSENT_TRUSTED_ORIGINS=["https://www.example.com"]).test_client()
    response = client.post("/consent/accept", headers={"Origin": "https://www.example.com"})
    assert response.status_code == 303


def test_declining_expires_the_refused_categories_cookies(make_app: AppFactory) -> None:
    app = make_app(
        CONSENT_CATEGORIES={
            "analytics": {"cookies": ["_ga", "_ga_*"]},
            "marketing": {"cookies": ["_fbp"]},
        }
    )
    client = app.test_client()
    for name in ("_ga", "_ga_XYZ", "_fbp", "session", "_gab"):
        client.set_cookie(name, "1")
    response = client.post("/consent/save", data={"category": "marketing"})
    expired = {
        h.split("=", 1)[0]
        for h in response.headers.getlist("Set-Cookie")
        if "Max-Age=0" in h or "Expires=Thu, 01 Jan 1970" in h
    }
    assert expired == {"_ga", "_ga_XYZ"}
    assert client.get_cookie("_ga") is None
    assert client.get_cookie("_ga_XYZ") is None
    assert client.get_cookie("_fbp") is not None
    assert client.get_cookie("session") is not None


def test_json_lists_patterns_to_forget_in_the_browser(make_app: AppFactory) -> None:
    client = make_app(CONSENT_CATEGORIES={"analytics": {"cookies": ["_pk_*"]}}).test_client()
    assert choose(client, "decline")["forget"] == ["_pk_*"]
    assert choose(client, "accept")["forget"] == []


def test_consent_endpoints_are_never_cached(client: Any) -> None:
    for response in (
        client.post("/consent/accept"),
        client.get("/consent/preferences"),
        client.post("/consent/save", data={"category": "nope"}),
    ):
        assert response.headers["Cache-Control"] == "no-store"
        assert "cookie" in parse_set_header(response.headers.get("Vary")).as_set()


def test_static_files_are_served_and_cacheable(client: Any) -> None:
    response = client.get("/consent/static/consent/consent.js?v=abc")
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    response.close()


def test_consent_id_is_kept_when_the_choice_changes(client: Any) -> None:
    first = choose(client, "accept")
    second = choose(client, "decline")
    assert first["consent_id"] == second["consent_id"]


def test_signal_reports_old_and_new_state(app: Flask) -> None:
    seen: list[dict[str, Any]] = []

    def record(sender: Flask, **kwargs: Any) -> None:
        seen.append({"sender": sender, **kwargs})

    with consent_changed.connected_to(record, app):
        client = app.test_client()
        choose(client, "accept")
        choose(client, "decline")
    assert [s["action"] for s in seen] == ["accept", "decline"]
    assert seen[0]["sender"] is app
    assert seen[0]["old"].decided is False
    assert seen[0]["new"].allows("analytics") is True
    assert seen[1]["old"].allows("analytics") is True
    assert seen[1]["new"].allows("analytics") is False
    assert seen[1]["consent_id"] == seen[0]["consent_id"]
    assert seen[1]["gpc"] is False


def test_preferences_page_works_without_javascript(client: Any) -> None:
    response = client.get("/consent/preferences?next=/article", headers={"Accept-Language": "de"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.startswith("<!doctype html>")
    assert '<html lang="de" dir="ltr">' in html
    assert '<form method="post" action="/consent/save"' in html
    assert 'name="next" value="/article"' in html
    assert 'name="category" value="analytics"' in html
    assert 'formaction="/consent/accept"' in html
    assert 'formaction="/consent/decline"' in html
    assert '<a href="/article">Zurück zur Website</a>' in html
    assert "Sie haben noch keine Auswahl getroffen." in html


def test_preferences_never_pre_tick_optional_categories(make_app: AppFactory) -> None:
    client = make_app(CONSENT_CATEGORIES=["analytics", "marketing", "preferences"]).test_client()
    html = client.get("/consent/preferences").get_data(as_text=True)
    boxes = [
        line for line in html.splitlines() if 'type="checkbox"' in line or 'name="category"' in line
    ]
    optional = [b for b in boxes if 'name="category"' in b]
    assert len(optional) == 3
    assert not any("checked" in b for b in optional)
    necessary = [b for b in boxes if "consent-c-necessary" in b]
    assert necessary
    assert "checked disabled" in necessary[0]


def test_preferences_reflect_the_stored_choice(make_app: AppFactory) -> None:
    client = make_app(CONSENT_CATEGORIES=["analytics", "marketing"]).test_client()
    state = choose(client, "save", category="marketing")
    html = client.get("/consent/preferences").get_data(as_text=True)
    assert 'value="marketing" checked' in html
    assert 'value="analytics">' in html
    assert state["consent_id"] in html


def test_preferences_partial_is_only_the_form(client: Any) -> None:
    html = client.get("/consent/preferences?partial=1&next=/a").get_data(as_text=True)
    assert "<html" not in html
    assert html.lstrip().startswith(
        '<dialog id="consent-dialog" aria-labelledby="consent-settings-title">'
    )
    assert html.rstrip().endswith("</dialog>")
    assert 'id="consent-settings-title"' in html
    assert "data-consent-close" in html


def test_the_banner_s_privacy_link_leads_to_a_cookie_policy_by_default(client: Any) -> None:
    """A site that configures nothing still gets a privacy link that works."""
    page = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    href = re.search(r'<a href="([^"]+)">Datenschutzrichtlinie</a>', page)
    assert href is not None
    response = client.get(href.group(1), headers={"Accept-Language": "de"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert '<html lang="de" dir="ltr">' in html
    assert "<h1>Cookie-Richtlinie</h1>" in html
    # Every category with what it is for, and every declared cookie.
    for label in ("Notwendig", "Analyse"):
        assert f">{label}</label>" in html
        assert f"<caption>{label}</caption>" in html
    assert "<code>consent</code>" in html
    assert "<code>_ga</code>" in html
    # The visitor's own state, and the way to change it, without JavaScript.
    assert "Sie haben noch keine Auswahl getroffen." in html
    assert '<form method="post" action="/consent/save"' in html
    assert "data-consent-close" not in html


def test_the_cookie_policy_shows_the_visitor_s_choice_and_consent_id(client: Any) -> None:
    state = choose(client, "save", category="analytics")
    html = client.get("/consent/policy").get_data(as_text=True)
    assert f"Your consent ID is {state['consent_id']}." in html
    assert 'value="analytics" checked' in html


def test_a_configured_privacy_url_is_the_banner_s_link(make_app: AppFactory) -> None:
    page = make_app(CONSENT_PRIVACY_URL="https://example.org/datenschutz").test_client().get("/")
    assert '<a href="https://example.org/datenschutz">privacy policy</a>' in page.get_data(
        as_text=True
    )


def test_preferences_next_is_sanitised(client: Any) -> None:
    html = client.get("/consent/preferences?next=//evil.example").get_data(as_text=True)
    assert "evil.example" not in html


def test_two_choice_cookies_count_as_no_choice(make_app: AppFactory) -> None:
    """Cookie tossing: a sibling subdomain adds its own (validly signed) choice
    cookie for the parent domain. With two different values, neither counts."""
    app = make_app()
    jar = app.test_client()
    accepted = choose(jar, "accept")
    ours = jar.get_cookie("consent").value
    attacker = app.test_client()
    choose(attacker, "accept")
    tossed = attacker.get_cookie("consent").value
    raw = app.test_client(use_cookies=False)
    both = {"Cookie": f"consent={tossed}; consent={ours}", **JSON}
    state = raw.get("/consent/preferences", headers=both).get_json()
    assert state["decided"] is False
    assert state["consent_id"] is None
    assert accepted["consent_id"] != state["consent_id"]
    # Choosing again clears the parent-domain copy before setting ours.
    response = raw.post("/consent/decline", base_url="http://www.example.com", headers=both)
    headers = response.headers.getlist("Set-Cookie")
    assert any(h.startswith("consent=;") and "Domain=example.com" in h for h in headers)
    assert headers[-1].startswith("consent=ey")
    # The same value twice is still the visitor's choice.
    same = raw.get(
        "/consent/preferences", headers={"Cookie": f"consent={ours}; consent={ours}", **JSON}
    )
    assert same.get_json()["decided"] is True


def test_host_prefixed_cookie_name_on_https(make_app: AppFactory) -> None:
    """``__Host-`` cookies cannot be set by a subdomain; ours meets the prefix rules."""
    client = make_app(CONSENT_COOKIE_NAME="__Host-consent").test_client()
    response = client.post("/consent/accept", base_url="https://www.example.com")
    header = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("__Host-consent=")
    )
    parts = [p.strip() for p in header.split(";")]
    assert "Secure" in parts
    assert "Path=/" in parts
    assert not any(p.startswith("Domain=") for p in parts)


@pytest.mark.parametrize(("theme", "expected"), [("auto", None), ("dark", "dark")])
def test_our_own_pages_declare_both_schemes_unless_a_theme_is_fixed(
    make_app: AppFactory, theme: str, expected: str | None
) -> None:
    client = make_app(CONSENT_THEME=theme).test_client()
    for path in ("/consent/preferences", "/consent/policy"):
        html = client.get(path).get_data(as_text=True)
        if expected is None:
            assert '<meta name="color-scheme" content="light dark">' in html
            assert "data-consent-theme" not in html
        else:
            assert '<meta name="color-scheme"' not in html
            assert f'<body class="consent-page" data-consent-theme="{expected}">' in html


def test_an_unknown_theme_fails_at_start_up(make_app: AppFactory) -> None:
    with pytest.raises(ConfigurationError, match="CONSENT_THEME must be one of 'auto', 'light'"):
        make_app(CONSENT_THEME="blue")
