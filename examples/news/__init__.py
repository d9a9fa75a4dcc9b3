"""A small bilingual news site showing flask-consent-banner in use.

Run it with ``make demo`` (or ``flask --app examples.news run``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, render_template

from consent import Consent, get_locale

HERE = Path(__file__).parent

ARTICLES: dict[str, dict[str, Any]] = {
    "de": {
        "title": "Stadtrat beschließt neue Radwege",
        "lead": "Nach monatelanger Debatte hat der Stadtrat am Dienstag ein Netz aus"
        " zwölf Kilometern neuer Radwege beschlossen.",
        "body": [
            "Die ersten Abschnitte sollen bereits im Frühjahr gebaut werden. Besonders die"
            " Verbindung zwischen Bahnhof und Universität gilt als dringend.",
            "Anwohnerinnen und Anwohner können die Pläne bis Ende des Monats im Rathaus"
            " einsehen und Stellungnahmen abgeben.",
        ],
    },
    "en": {
        "title": "City council approves new cycle lanes",
        "lead": "After months of debate, the city council on Tuesday approved a network"
        " of twelve kilometres of new cycle lanes.",
        "body": [
            "Work on the first sections is due to start in spring. The link between the"
            " station and the university is seen as the most urgent.",
            "Residents can inspect the plans at the town hall until the end of the month"
            " and submit comments.",
        ],
    },
}


def _secret_key(app: Flask) -> str:
    """A key kept in the instance folder, so choices survive a restart of the demo."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def add_pages(app: Flask, language: Callable[[], str]) -> None:
    """The site's pages; ``language`` picks "de" or "en" for the request."""

    @app.get("/")
    def article() -> str:
        lang = language()
        return render_template("article.html", lang=lang, article=ARTICLES[lang])

    @app.get("/privacy")
    def privacy() -> str:
        return render_template("privacy.html", lang=language())

    @app.get("/video")
    def video() -> str:
        return render_template("video.html", lang=language())

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"


def create_app(config: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    app = Flask(__name__, instance_path=instance_path)
    app.config.update(
        CONSENT_PRIVACY_URL="/privacy",
        CONSENT_CATEGORIES={
            "analytics": {
                "cookies": [
                    {
                        "name": "_pk_id.*",
                        "provider": "Stadtanzeiger",
                        "purpose": "Counts visits",
                        "lifetime": timedelta(hours=1),
                    },
                ]
            },
            # Third-party video: sharing data with its provider, so a Global
            # Privacy Control signal refuses it too. Its texts are English
            # source strings, translated in examples/news/translations.
            "media": {
                "label": "External media",
                "description": "Shows videos and other content from third parties,"
                " which may set their own cookies.",
                "cookies": [
                    {
                        "name": "_stv_uid",
                        "provider": "Stadt-TV",
                        "purpose": "Recognises viewers",
                        "lifetime": timedelta(days=30),
                    }
                ],
                "gpc": True,
                "google_consent": ["ad_storage", "ad_user_data", "ad_personalization"],
            },
        },
        CONSENT_TRANSLATION_DIRS=[str(HERE / "translations")],
        CONSENT_GOOGLE_CONSENT_MODE=True,
        # Proof of consent in an SQLite file in the instance folder.
        CONSENT_RECEIPTS_URL="sqlite:///consent-receipts.db",
        CONSENT_RECEIPTS_RETENTION="3y",
    )
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app)
    Consent(app)

    add_pages(app, lambda: "de" if get_locale().startswith("de") else "en")

    @app.get("/player")
    def player() -> Response:
        """Stand-in for a third-party video player (it sets its own cookie)."""
        response = Response(render_template("player.html"))
        response.set_cookie("_stv_uid", secrets.token_hex(8), max_age=30 * 86400, samesite="Lax")
        return response

    @app.get("/articles/<int:number>")
    def missing(number: int) -> str:
        abort(404)

    return app
