"""The cookie declaration: what each category sets, for the privacy page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import render_template_string

from consent import ConfigurationError
from tests.conftest import AppFactory

CATEGORIES = {
    "analytics": {
        "cookies": [
            {
                "name": "_pk_id.*",
                "provider": "Matomo",
                "purpose": {"en": "Counts visits", "de": "Zählt Besuche"},
                "lifetime": timedelta(days=393),
            },
            "_pk_ses.*",
        ]
    },
    "marketing": {"cookies": [{"name": "_fbp", "provider": "Meta", "lifetime": "3 months"}]},
}


def table(make_app: AppFactory, lang: str, **config: object) -> str:
    app = make_app(CONSENT_CATEGORIES=CATEGORIES, **config)
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        return render_template_string("{{ consent_cookie_table() }}")


def test_german_table(make_app: AppFactory) -> None:
    markup = table(make_app, "de")
    assert "<caption>Analyse</caption>" in markup
    assert "<caption>Notwendig</caption>" in markup
    assert (
        "<tr><td><code>_pk_id.*</code></td><td>Matomo</td><td>Zählt Besuche</td>"
        "<td>1 Jahr</td></tr>"
    ) in markup
    assert "<td><code>_fbp</code></td><td>Meta</td><td></td><td>3 months</td>" in markup
    # The choice cookie itself is declared as necessary, with its real lifetime.
    assert "<td><code>consent</code></td><td>Diese Website</td>" in markup
    assert "<td>6 Monate</td>" in markup


def test_english_table(make_app: AppFactory) -> None:
    markup = table(make_app, "en")
    assert '<th scope="col">Name</th>' in markup
    assert "<td>Counts visits</td>" in markup
    assert "<td>Stores your cookie choice.</td>" in markup


def test_necessary_cookies_can_be_declared(make_app: AppFactory) -> None:
    markup = table(
        make_app,
        "en",
        CONSENT_NECESSARY_COOKIES=[
            {"name": "session", "purpose": "Keeps you signed in", "lifetime": 0}
        ],
    )
    assert (
        "<tr><td><code>session</code></td><td>This website</td>"
        "<td>Keeps you signed in</td><td>Session</td></tr>" in markup
    )


def test_values_are_escaped(make_app: AppFactory) -> None:
    markup = table(
        make_app,
        "en",
        CONSENT_NECESSARY_COOKIES=[{"name": "<b>x</b>", "provider": "<script>"}],
    )
    assert "<b>x</b>" not in markup
    assert "&lt;script&gt;" in markup


@pytest.mark.parametrize(
    ("cookies", "message"),
    [
        ([{"provider": "x"}], "needs|with a 'name'"),
        ([{"name": "a", "expires": 3}], "unknown field"),
        ([{"name": "a", "lifetime": -1}], "negative"),
        ("session", "list of patterns"),
    ],
)
def test_bad_declarations_fail_at_start_up(
    make_app: AppFactory, cookies: object, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_app(CONSENT_NECESSARY_COOKIES=cookies)


def test_refusing_deletes_the_registrable_domain_s_cookies(make_app: AppFactory) -> None:
    """A tag sets its cookie on the registrable domain (``example.com``); deleting it
    on every parent domain in between only cost headers (issue 14, Set-Cookie amplification)."""
    client = make_app(CONSENT_CATEGORIES=CATEGORIES).test_client(use_cookies=False)
    response = client.post(
        "/consent/decline", base_url="http://www.shop.example.com", headers={"Cookie": "_fbp=1"}
    )
    deletions = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("_fbp=")]
    domains = {
        part.split("=", 1)[1]
        for h in deletions
        for part in h.split("; ")
        if part.startswith("Domain=")
    }
    assert domains == {"example.com"}
    assert any("Domain=" not in h for h in deletions)  # the host-only one too
    assert len(deletions) == 2


@pytest.mark.parametrize("base", ["http://localhost", "http://127.0.0.1:5000", "http://[::1]:8000"])
def test_no_parent_domains_for_single_labels_and_ips(make_app: AppFactory, base: str) -> None:
    client = make_app(CONSENT_CATEGORIES=CATEGORIES).test_client(use_cookies=False)
    response = client.post("/consent/decline", base_url=base, headers={"Cookie": "_fbp=1"})
    deletions = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("_fbp=")]
    assert len(deletions) == 1
    assert "Domain=" not in deletions[0]


def test_the_choice_cookie_is_declared_by_the_name_the_browser_holds(
    make_app: AppFactory,
) -> None:
    client = make_app(CONSENT_CATEGORIES=CATEGORIES).test_client()
    secure = client.get("/consent/policy", base_url="https://www.example.com").get_data(
        as_text=True
    )
    plain = client.get("/consent/policy").get_data(as_text=True)
    assert "<code>__Host-consent</code>" in secure
    assert "<code>consent</code>" in plain
