"""Strict Content-Security-Policy: every script we emit can carry the page's nonce."""

from __future__ import annotations

import pytest
from flask import Flask, g, render_template_string

from consent import ConfigurationError
from tests.conftest import AppFactory, choose


def nonced_app(make_app: AppFactory) -> Flask:
    app = make_app(CONSENT_CSP_NONCE=lambda: g.get("nonce"))

    @app.before_request
    def _nonce() -> None:
        g.nonce = "n0nce-123"

    return app


def test_banner_and_gated_scripts_carry_the_nonce(make_app: AppFactory) -> None:
    app = nonced_app(make_app)
    html = app.test_client().get("/").get_data(as_text=True)
    assert 'nonce="n0nce-123" defer></script>' in html  # the banner's own script
    assert (
        '<script type="text/plain" data-consent="analytics" nonce="n0nce-123">'
        "window.inlineRan = true;</script>"
    ) in html


def test_live_gated_scripts_carry_the_nonce(make_app: AppFactory) -> None:
    app = nonced_app(make_app)
    client = app.test_client()
    choose(client, "accept")
    html = client.get("/").get_data(as_text=True)
    assert (
        '<script data-consent="analytics" nonce="n0nce-123">window.inlineRan = true;</script>'
        in html
    )


def test_explicit_nonce_wins(make_app: AppFactory) -> None:
    app = nonced_app(make_app)
    with app.test_request_context("/"):
        g.nonce = "from-config"
        html = render_template_string(
            "{{ consent_script('analytics', src='/a.js', nonce='mine') }}"
        )
    assert 'nonce="mine"' in html
    assert "from-config" not in html


def test_consent_head_carries_the_nonce(make_app: AppFactory) -> None:
    app = make_app(CONSENT_GOOGLE_CONSENT_MODE=True, CONSENT_CSP_NONCE=lambda: "abc")
    with app.test_request_context("/"):
        html = render_template_string("{{ consent_head() }}")
    assert ' nonce="abc" data-consent-gcm=' in html


def test_no_nonce_by_default(client: object) -> None:
    html = client.get("/").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "nonce=" not in html


def test_nonce_must_be_callable(make_app: AppFactory) -> None:
    with pytest.raises(ConfigurationError, match="CONSENT_CSP_NONCE"):
        make_app(CONSENT_CSP_NONCE="static-nonce")
