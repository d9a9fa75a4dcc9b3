"""Embedded third-party content behind a localized placeholder."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from flask import Flask, render_template_string

from consent.helpers import consent_iframe
from tests.conftest import AppFactory, choose

JSON = {"Accept": "application/json"}
VIDEO = "https://www.youtube-nocookie.com/embed/abc?rel=0&x=1"


def embed(app: Flask, client: Any, lang: str = "de") -> str:
    headers = {"Accept-Language": lang}
    cookie = client.get_cookie("consent")
    if cookie:
        headers["Cookie"] = f"consent={cookie.value}"
    with app.test_request_context("/watch", headers=headers):
        return render_template_string(
            "{{ consent_iframe('marketing', src=src, title='Stadtrat live', width=560,"
            " allowfullscreen=True) }}",
            src=VIDEO,
        )


def test_placeholder_before_consent(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES=["analytics", "marketing"])
    markup = embed(app, app.test_client())
    assert "<iframe" not in markup
    assert 'data-consent-embed="marketing"' in markup
    assert f'data-src="{html.escape(VIDEO)}"' in markup
    assert "www.youtube-nocookie.com" in markup  # who provides it
    assert "Stadtrat live" in markup
    assert 'action="/consent/allow"' in markup
    assert '<input type="hidden" name="next" value="/watch">' in markup
    assert 'name="category" value="marketing"' in markup
    attrs = json.loads(html.unescape(re.search(r'data-attrs="([^"]*)"', markup).group(1)))
    assert attrs == {"width": 560, "allowfullscreen": True}


def test_placeholder_is_localized(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES=["analytics", "marketing"])
    german = embed(app, app.test_client(), "de")
    english = embed(app, app.test_client(), "en")
    assert "Load content" in english
    assert "Always allow: Marketing" in english
    assert german != english
    assert 'lang="de"' in german


def test_iframe_after_consent(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES=["analytics", "marketing"])
    client = app.test_client()
    choose(client, "accept")
    markup = embed(app, client)
    assert markup.endswith(
        f'</template><iframe src="{html.escape(VIDEO)}" title="Stadtrat live" loading="lazy"'
        ' data-consent-frame="marketing" width="560" allowfullscreen></iframe>'
    )
    # The placeholder waits in a <template> (inert: nothing loads), for a withdrawal.
    kept = markup.split("<template data-consent-placeholder>", 1)[1].split("</template>", 1)[0]
    assert kept.startswith('<div class="consent-embed" data-consent-embed="marketing"')
    assert "Immer erlauben: Marketing" in kept
    assert "embed.min.js" in markup


def test_always_allow_records_only_that_category(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES=["analytics", "marketing"])
    client = app.test_client()
    response = client.post("/consent/allow", data={"category": "marketing", "next": "/watch"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/watch"
    state = client.get("/consent/preferences", headers=JSON).get_json()
    assert state["categories"] == {"necessary": True, "analytics": False, "marketing": True}
    # Analytics was never answered, so the banner still asks.
    assert state["decided"] is False
    assert "<iframe" in embed(app, client)


def test_always_allow_keeps_other_answers(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES=["analytics", "marketing"])
    client = app.test_client()
    choose(client, "save", category="analytics")
    state = choose(client, "allow", category="marketing")
    assert state["categories"] == {"necessary": True, "analytics": True, "marketing": True}
    assert state["decided"] is True


def test_allow_needs_a_known_category(make_app: AppFactory) -> None:
    client = make_app(CONSENT_CATEGORIES=["analytics", "marketing"]).test_client()
    assert client.post("/consent/allow").status_code == 400
    assert client.post("/consent/allow", data={"category": "video"}).status_code == 400
    assert (
        client.post(
            "/consent/allow",
            headers={"Origin": "https://evil.example"},
            data={"category": "marketing"},
        ).status_code
        == 403
    )


def test_under_gpc_a_refused_category_is_not_offered_always_allow(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES=["analytics", "marketing"])
    client = app.test_client()
    with app.test_request_context("/", headers={"Sec-GPC": "1"}):
        markup = str(consent_iframe("marketing", src=VIDEO, title="Stadtrat live"))
    assert "Always allow" not in markup
    assert "Turned off by your browser&#39;s Global Privacy Control signal." in markup
    assert '<p class="consent-gpc" data-consent-gpc>' in markup  # shown: the header says so
    assert "Load content" in markup  # this once, the visitor's own act
    # Without the header, the script learns of a browser-only signal: the button
    # is marked for it to remove, and the note waits hidden.
    plain = embed(app, client)
    assert "data-consent-gpc-refuses>Immer erlauben: Marketing</button>" in plain
    assert '<p class="consent-gpc" data-consent-gpc hidden>' in plain
