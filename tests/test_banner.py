"""The banner and the Jinja helpers, rendered through real requests."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from flask import Flask, render_template_string
from markupsafe import Markup, escape

from consent import Consent, UnknownCategoryError, consent_script, consent_settings_link
from consent.helpers import html_attrs
from tests.conftest import AppFactory, choose

GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}

SEED_TITLE = "Diese Website verwendet Cookies"
SEED_TEXT = (
    "Wir verwenden Cookies für Analysen, um unsere Website zu verbessern. Lesen Sie unsere"
    ' <a href="/consent/policy">Datenschutzrichtlinie</a> für weitere Informationen.'
)
SEED_NOTE = "Sie können Ihre Auswahl jederzeit in den Cookie-Einstellungen ändern oder widerrufen."


def banner_of(html: str) -> str:
    match = re.search(r'<section id="consent-banner".*?</section>', html, re.S)
    return match.group(0) if match else ""


def test_german_banner_reads_exactly_like_the_seed_site(client: Any) -> None:
    response = client.get("/", headers=GERMAN)
    banner = banner_of(response.get_data(as_text=True))
    assert response.status_code == 200
    assert f'<h2 id="consent-title">{SEED_TITLE}</h2>' in banner
    assert f"<p>{SEED_TEXT}</p>\n<p>{SEED_NOTE}</p>" in banner
    assert ">Ablehnen</button>" in banner
    assert ">Akzeptieren</button>" in banner
    assert ">Einstellungen</button>" in banner
    assert 'lang="de"' in banner
    assert 'aria-labelledby="consent-title"' in banner


def test_english_banner(client: Any) -> None:
    banner = banner_of(client.get("/", headers={"Accept-Language": "en-GB"}).get_data(as_text=True))
    assert "This website uses cookies" in banner
    assert (
        "We use cookies for analytics to improve our website. Read our"
        ' <a href="/consent/policy">privacy policy</a> for more information.'
    ) in banner
    assert (
        "<p>You can change or withdraw your choice at any time in the cookie settings.</p>"
        in banner
    )
    assert ">Decline</button>" in banner
    assert ">Accept</button>" in banner
    assert 'lang="en"' in banner


def test_accept_and_decline_are_equal_buttons_on_the_first_layer(client: Any) -> None:
    banner = banner_of(client.get("/").get_data(as_text=True))
    accept = re.search(r"<button([^>]*)>Accept</button>", banner)
    decline = re.search(r"<button([^>]*)>Decline</button>", banner)
    assert accept
    assert decline
    assert 'class="consent-btn"' in accept.group(1)
    assert 'class="consent-btn"' in decline.group(1)
    assert 'formaction="/consent/decline"' in decline.group(1)


def test_first_visit_sets_no_cookie_and_runs_no_gated_script(client: Any) -> None:
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert (
        '<script type="text/plain" data-src="/static/analytics.js" data-consent="analytics" async>'
        in html
    )
    assert (
        '<script type="text/plain" data-consent="analytics">window.inlineRan = true;</script>'
        in html
    )
    assert '<script src="/static/analytics.js"' not in html


def test_ordinary_pages_never_set_cookies(client: Any) -> None:
    for path in ("/", "/plain", "/consent/preferences", "/consent/preferences?partial=1"):
        assert "Set-Cookie" not in client.get(path).headers


def test_no_js_banner_posts_back_to_the_same_page(client: Any) -> None:
    banner = banner_of(client.get("/?page=2&q=a%20b").get_data(as_text=True))
    assert '<form method="post" action="/consent/accept" data-consent-form>' in banner
    assert '<input type="hidden" name="next" value="/?page=2&amp;q=a%20b">' in banner
    assert 'formaction="/consent/preferences" formmethod="get"' in banner


def test_after_accepting_scripts_run_and_banner_is_gone(client: Any) -> None:
    choose(client, "accept")
    html = client.get("/").get_data(as_text=True)
    assert banner_of(html) == ""
    assert '<script src="/static/analytics.js" data-consent="analytics" async></script>' in html
    assert '<script data-consent="analytics">window.inlineRan = true;</script>' in html
    # The way back in stays, visible.
    reopen = re.search(r'<form id="consent-reopen"[^>]*>', html)
    assert reopen
    assert " hidden" not in reopen.group(0)


def test_after_declining_scripts_stay_inert(client: Any) -> None:
    choose(client, "decline")
    html = client.get("/").get_data(as_text=True)
    assert banner_of(html) == ""
    assert 'type="text/plain" data-src="/static/analytics.js"' in html
    assert '<script src="/static/analytics.js"' not in html


def test_returning_visitor_gets_only_the_reopen_control(client: Any) -> None:
    first = client.get("/").get_data(as_text=True)
    choose(client, "decline")
    again = client.get("/").get_data(as_text=True)
    assert len(again) < len(first)
    assert "consent-reopen" in again
    assert "consent.min.js" in again


def test_settings_button_can_be_turned_off(make_app: AppFactory) -> None:
    client = make_app(CONSENT_SETTINGS_BUTTON=False).test_client()
    choose(client, "accept")
    assert "consent-reopen" not in client.get("/").get_data(as_text=True)


def test_pages_that_read_consent_vary_on_cookie(client: Any) -> None:
    assert "Cookie" in client.get("/").headers.get("Vary", "")
    assert "Vary" not in client.get("/plain").headers


@pytest.mark.parametrize(
    "cookie",
    [
        "garbage",
        "eyJ2IjoxfQ.AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "x" * 5000,
        "%%%",
        "a.b.c.d",
    ],
)
def test_broken_cookie_means_no_choice(
    app: Flask, cookie: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A client without a cookie jar sends the raw Cookie header as given.
    raw = app.test_client(use_cookies=False)
    response = raw.get("/", headers={**GERMAN, "Cookie": f"consent={cookie}"})
    assert response.status_code == 200
    assert SEED_TITLE in banner_of(response.get_data(as_text=True))
    assert any("consent cookie ignored" in r.getMessage() for r in caplog.records)
    assert all(r.levelno <= logging.INFO for r in caplog.records)


def test_raw_cookie_header_reaches_the_app(app: Flask) -> None:
    """The control for the test above: a valid value sent the same way is honoured."""
    jar = app.test_client()
    choose(jar, "accept")
    value = jar.get_cookie("consent").value
    raw = app.test_client(use_cookies=False)
    html = raw.get("/", headers={**GERMAN, "Cookie": f"consent={value}"}).get_data(as_text=True)
    assert banner_of(html) == ""


def test_cookie_from_another_secret_means_no_choice(make_app: AppFactory) -> None:
    other = make_app(SECRET_KEY="a-completely-different-secret-key-0000").test_client()
    choose(other, "accept")
    forged = other.get_cookie("consent")
    assert forged is not None
    client = make_app().test_client()
    client.set_cookie("consent", forged.value)
    html = client.get("/").get_data(as_text=True)
    assert banner_of(html) != ""
    assert 'type="text/plain" data-src="/static/analytics.js"' in html


def test_old_revision_asks_again(make_app: AppFactory) -> None:
    old = make_app(CONSENT_REVISION="1").test_client()
    state = choose(old, "accept")
    value = old.get_cookie("consent").value
    new = make_app(CONSENT_REVISION="2").test_client()
    new.set_cookie("consent", value)
    assert banner_of(new.get("/").get_data(as_text=True)) != ""
    # The visitor keeps their consent id when they answer again.
    assert choose(new, "decline")["consent_id"] == state["consent_id"]


def test_new_category_asks_again_but_keeps_known_answers(make_app: AppFactory) -> None:
    old = make_app(CONSENT_CATEGORIES=["analytics"]).test_client()
    choose(old, "accept")
    value = old.get_cookie("consent").value
    app = make_app(CONSENT_CATEGORIES=["analytics", "marketing"])
    new = app.test_client()
    new.set_cookie("consent", value)
    state = new.get("/consent/preferences", headers={"Accept": "application/json"}).get_json()
    assert state["decided"] is False
    assert state["categories"] == {"necessary": True, "analytics": True, "marketing": False}
    assert banner_of(new.get("/").get_data(as_text=True)) != ""


def test_privacy_url_is_escaped(make_app: AppFactory) -> None:
    client = make_app(CONSENT_PRIVACY_URL='/p?a=1&b="><script>x</script>').test_client()
    html = client.get("/").get_data(as_text=True)
    assert '<a href="/p?a=1&amp;b=&#34;&gt;&lt;script&gt;x&lt;/script&gt;">' in html
    assert "<script>x</script>" not in html


def test_consent_script_unknown_category_raises(app: Flask) -> None:
    with app.test_request_context("/"), pytest.raises(UnknownCategoryError, match="analytic"):
        consent_script("analytic", src="/a.js")


def test_consent_script_from_python_and_attributes(app: Flask) -> None:
    with app.test_request_context("/"):
        html = consent_script(
            "analytics", src="/a.js?x=1&y=2", defer=True, data_domain="example.org", id="t"
        )
    assert isinstance(html, Markup)
    assert html == (
        '<script type="text/plain" data-src="/a.js?x=1&amp;y=2" data-consent="analytics"'
        ' defer data-domain="example.org" id="t"></script>'
    )


def test_consent_script_keeps_module_type_for_activation(app: Flask) -> None:
    with app.test_request_context("/"):
        html = consent_script("analytics", src="/m.js", type="module")
    assert 'type="text/plain" data-type="module"' in html


def test_consent_script_allowed_with_module_type(app: Flask) -> None:
    client = app.test_client()
    choose(client, "accept")
    cookie = client.get_cookie("consent")
    with app.test_request_context("/", headers={"Cookie": f"consent={cookie.value}"}):
        html = consent_script("analytics", src="/m.js", type="module")
    assert html == '<script type="module" src="/m.js" data-consent="analytics"></script>'


def test_html_attrs_rejects_bad_names() -> None:
    with pytest.raises(ValueError, match="invalid HTML attribute"):
        html_attrs({'onload="x"': "y"})
    assert html_attrs({"hidden": False, "title": None, "async_": True}) == " async"


def test_settings_link(app: Flask) -> None:
    with app.test_request_context("/news?id=3", headers=GERMAN):
        html = consent_settings_link()
        custom = consent_settings_link("Privacy choices", class_="footer-link")
    assert html == (
        '<a href="/consent/preferences?next=/news?id%3D3" data-consent-open lang="de" dir="ltr"'
        ' class="consent-settings-link">Cookie-Einstellungen</a>'
    )
    assert 'class="footer-link"' in custom
    assert ">Privacy choices</a>" in custom


@pytest.mark.parametrize(
    ("language", "lang", "direction"),
    [("ar", "ar", "rtl"), ("he", "he", "rtl"), ("pt-BR", "pt-BR", "ltr")],
)
def test_the_settings_link_carries_the_language_and_direction_of_its_text(
    app: Flask, language: str, lang: str, direction: str
) -> None:
    """In an English page, an Arabic link text must still be read and laid out as Arabic."""
    for _ in range(2):  # rendered, then from what the first page kept
        with app.test_request_context("/", headers={"Accept-Language": language}):
            link = consent_settings_link()
        assert f' lang="{lang}" dir="{direction}"' in link


def test_helpers_are_jinja_globals(app: Flask) -> None:
    with app.test_request_context("/"):
        html = render_template_string(
            "{{ current_consent.decided }} {{ current_consent.allows('necessary') }}"
            " {{ consent_locale() }}"
        )
    assert html == "False True en"


def test_the_control_used_travels_only_with_accept_and_decline(client: Any) -> None:
    """Each choice button names the banner as the control (for receipts); the
    settings button, a GET, adds nothing to the preferences URL."""
    banner = banner_of(client.get("/").get_data(as_text=True))
    assert banner.count('name="control" value="banner"') == 2
    assert 'type="hidden" name="control"' not in banner
    settings = re.search(r"<button[^>]*data-consent-open[^>]*>", banner)
    assert settings is not None
    assert "name=" not in settings.group(0)


def test_cached_banner_fills_in_each_page_and_language(client: Any) -> None:
    """The banner is rendered once per locale and state; each page still gets its own path."""
    first = banner_of(client.get("/?q=<b>&x=1", headers=GERMAN).get_data(as_text=True))
    second = banner_of(client.get("/?page=2", headers=GERMAN).get_data(as_text=True))
    english = banner_of(client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True))
    assert 'name="next" value="/?q=&lt;b&gt;&amp;x=1"' in first
    assert "<b>" not in first
    assert 'name="next" value="/?page=2"' in second
    assert ">Ablehnen</button>" in second
    assert ">Decline</button>" in english


def test_kept_markup_prints_and_composes_like_markup(app: Flask) -> None:
    """What helpers hand out again from what an earlier page kept is printed,
    escaped and joined exactly as the markup it stands for."""
    client = app.test_client()
    choose(client, "accept")
    first, second = (client.get("/", headers=GERMAN).get_data(as_text=True) for _ in range(2))
    assert first == second
    assert '<script src="/static/analytics.js" data-consent="analytics" async></script>' in second
    with app.test_request_context("/", headers=GERMAN):
        consent_settings_link()
        kept = consent_settings_link()  # from what the call before kept
        assert isinstance(kept, Markup)
        assert kept.startswith("<a href=")
        assert escape(kept) == kept
        assert Markup(kept) == kept
        assert render_template_string("<p>{{ link }}</p>", link=kept) == f"<p>{kept}</p>"
        assert Markup("<p>%s</p>") % kept == f"<p>{kept}</p>"
        assert kept + "<b>" == f"{kept}&lt;b&gt;"


def _kept_banners(app: Any) -> list[str]:
    cache = app.extensions["consent"].fragment_cache
    return [kept["banner"] for kept in cache.values() if "banner" in kept]


def test_banner_cache_can_be_turned_off(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CACHE_BANNER=False)
    client = app.test_client()
    client.get("/")
    assert _kept_banners(app) == []
    cached = make_app()
    cached.test_client().get("/")
    assert len(_kept_banners(cached)) == 1


def test_vary_joins_a_vary_the_page_already_sends(app: Flask) -> None:
    @app.get("/compressed")
    def compressed() -> Any:
        html = render_template_string("{{ consent_banner() }}")
        return html, {"Vary": "Accept-Encoding"}

    vary = app.test_client().get("/compressed").headers.get_all("Vary")
    assert [v.strip() for v in ",".join(vary).split(",")] == [
        "Accept-Encoding",
        "Cookie",
        "Accept-Language",
    ]


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("*", "*"),
        ("cookie", "cookie, Accept-Language"),
        ("Accept-Encoding, COOKIE, accept-language", "Accept-Encoding, COOKIE, accept-language"),
    ],
)
def test_vary_that_already_covers_cookie_is_left_alone(
    app: Flask, sent: str, expected: str
) -> None:
    @app.get("/varied")
    def varied() -> Any:
        return render_template_string("{{ consent_banner() }}"), {"Vary": sent}

    assert app.test_client().get("/varied").headers.get_all("Vary") == [expected]


def test_vary_survives_an_after_request_function_that_sets_its_own() -> None:
    """Added as the response leaves the app: after every ``after_request`` function,
    even one registered before the extension that replaces ``Vary``."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s" * 32

    @app.after_request
    def compress(response: Any) -> Any:
        response.headers["Vary"] = "Accept-Encoding"
        return response

    Consent(app)

    @app.get("/")
    def page() -> str:
        return render_template_string("{{ consent_banner() }}")

    assert app.test_client().get("/").headers.get_all("Vary") == [
        "Accept-Encoding, Cookie, Accept-Language"
    ]


def test_kept_scripts_tell_true_from_one_and_each_state(make_app: AppFactory) -> None:
    """Gated scripts are kept per state and arguments; equal-hashing values stay apart."""
    app = make_app()
    template = (
        "{{ consent_script('analytics', src='/a.js', defer=True) }}|"
        "{{ consent_script('analytics', src='/a.js', defer=1) }}|"
        "{{ consent_script('analytics', src='/a.js', defer=1.0) }}"
    )

    @app.get("/scripts")
    def scripts() -> str:
        return render_template_string(template)

    client = app.test_client()
    for _ in range(2):  # the second request is served from the kept markup
        parts = client.get("/scripts").get_data(as_text=True).split("|")
        assert [" defer " in p or " defer>" in p for p in parts] == [True, False, False]
        assert 'defer="1"' in parts[1]
        assert 'defer="1.0"' in parts[2]
        assert all('type="text/plain"' in p for p in parts)
    choose(client, "accept")
    allowed = client.get("/scripts").get_data(as_text=True).split("|")
    assert allowed[0] == '<script src="/a.js" data-consent="analytics" defer></script>'


def test_unhashable_script_attributes_are_rendered_each_time(app: Flask) -> None:
    with app.test_request_context("/"):
        html = consent_script("analytics", src="/a.js", data_tags=["x"])
    assert 'data-tags="[&#39;x&#39;]"' in html


def test_markup_kept_per_process_stays_bounded(make_app: AppFactory) -> None:
    """Script roots come from the deployment, but a proxy may pass them on: keep a bound."""
    from consent.page import MAX_COMBINATIONS

    app = make_app()
    client = app.test_client()
    for n in range(MAX_COMBINATIONS + 5):
        client.get("/", environ_overrides={"SCRIPT_NAME": f"/p{n}"})
    assert 0 < len(app.extensions["consent"].fragment_cache) <= MAX_COMBINATIONS


THREE = {"CONSENT_CATEGORIES": ["analytics", "marketing", "preferences"]}


def only_banner(app: Flask, **headers: str) -> str:
    """The banner of a page that shows nothing else (so any policy will do)."""

    @app.get("/only-banner")
    def only() -> str:
        return render_template_string("{{ consent_banner() }}")

    return banner_of(app.test_client().get("/only-banner", headers=headers).get_data(as_text=True))


def test_the_first_layer_names_every_purpose_that_accept_grants(make_app: AppFactory) -> None:
    banner = banner_of(make_app(**THREE).test_client().get("/").get_data(as_text=True))
    assert "<p>We use cookies for analytics to improve our website." in banner
    assert (
        "<p>We also use cookies for these purposes: Marketing and Preferences."
        " You can change or withdraw your choice at any time in the cookie settings.</p>"
    ) in banner


def test_without_analytics_one_sentence_names_them_all(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES=["marketing", "preferences"])
    banner = only_banner(app, **GERMAN)
    assert (
        "<p>Wir verwenden Cookies für folgende Zwecke: Marketing und Präferenzen. Lesen Sie"
        ' unsere <a href="/consent/policy">Datenschutzrichtlinie</a> für weitere'
        " Informationen.</p>\n<p>Sie können Ihre Auswahl jederzeit"
    ) in banner
    assert "Außerdem" not in banner


def test_a_site_category_is_named_by_its_label_escaped(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES={"media": {"label": "Videos <b>&</b> maps"}})
    banner = only_banner(app)
    assert "for these purposes: Videos &lt;b&gt;&amp;&lt;/b&gt; maps. Read our" in banner


def test_every_shipped_language_names_the_purposes_and_the_way_back(
    make_app: AppFactory,
) -> None:
    app = make_app(**THREE)
    config = app.extensions["consent"]
    client = app.test_client()
    for locale in sorted(config.catalogs.locales):
        gettext = config.catalogs.translations(locale).gettext
        html = client.get("/", headers={"Accept-Language": locale.replace("_", "-")})
        banner = banner_of(html.get_data(as_text=True))
        assert f'lang="{locale.replace("_", "-")}"' in banner, locale
        # Analytics in the seed sentence's own words, the others by their labels.
        for label in ("Marketing", "Preferences"):
            assert str(escape(gettext(label))) in banner, (locale, label)
        for message in (
            "We use cookies for analytics to improve our website. Read our"
            " %(privacy_policy)s for more information.",
            "We also use cookies for these purposes: %(purposes)s.",
            "You can change or withdraw your choice at any time in the cookie settings.",
        ):
            translated = gettext(message)
            assert translated != message or locale == "en", (locale, message)
            assert str(escape(translated.split("%(")[0])) in banner, (locale, message)
