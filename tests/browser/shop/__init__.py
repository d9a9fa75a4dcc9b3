"""A second test site with three optional categories and a strict CSP.

Each category gates its own local script; every script only sets a window
global (analytics also sets a first-party cookie, like a real tag would), so
the browser tests can see exactly which categories ran. The site sends a
nonce-based Content-Security-Policy without 'unsafe-inline', so the banner,
the dialog and script activation are proven to work under CSP.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, render_template

from consent import Consent

HERE = Path(__file__).parent

CATEGORIES = {
    "analytics": {"cookies": ["_shop_an", "_shop_an_*"]},
    "marketing": {"cookies": ["_shop_ads"]},
    "preferences": {"cookies": ["shop_prefs"]},
}

#: The window global each category's script sets when it runs.
GLOBALS = {
    "analytics": "shopAnalytics",
    "marketing": "shopMarketing",
    "preferences": "shopPreferences",
}

PRODUCTS = [f"Product {n}" for n in range(1, 13)]


def create_app(**config: Any) -> Flask:
    app = Flask(
        __name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static")
    )
    app.config.update(
        SECRET_KEY="shop-test-secret-key-that-is-long-enough-0123456789",
        CONSENT_CATEGORIES=CATEGORIES,
        CONSENT_PRIVACY_URL="/privacy",
        # Every script the extension emits carries the page's nonce.
        CONSENT_CSP_NONCE=lambda: g.get("csp_nonce"),
    )
    app.config.update(config)
    Consent(app)

    @app.before_request
    def _nonce() -> None:
        g.csp_nonce = secrets.token_urlsafe(16)

    @app.after_request
    def _csp(response: Response) -> Response:
        nonce = g.get("csp_nonce", "")
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self';"
            " img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self';"
            " frame-ancestors 'none'; object-src 'none'"
        )
        return response

    @app.get("/")
    def index() -> str:
        return render_template("shop.html", products=PRODUCTS)

    @app.get("/privacy")
    def privacy() -> str:
        return render_template("shop.html", products=[])

    return app
