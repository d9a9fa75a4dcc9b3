"""A host site for the browser tests of how the consent boxes fit into other
people's pages: their stylesheets (real ones from npm, and a hostile one), the
colour scheme they declare, their CSRF protection and their page length.

``/page?sheet=bootstrap&declares=meta&length=short`` is one page; every part
of it is chosen by the query, so one server serves every combination.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, abort, render_template, request, send_file
from flask_wtf.csrf import CSRFProtect

from consent import Consent

HERE = Path(__file__).parent
STYLESHEETS = HERE.parent / "stylesheets"
NODE_MODULES = STYLESHEETS / "node_modules"

#: Each host stylesheet: the file a site would link, as npm installs it.
SHEETS = {
    "bootstrap": NODE_MODULES / "bootstrap" / "dist" / "css" / "bootstrap.min.css",
    "pico": NODE_MODULES / "@picocss" / "pico" / "css" / "pico.min.css",
    "tailwind": NODE_MODULES / "tailwindcss" / "preflight.css",
    "normalize": NODE_MODULES / "normalize.css" / "normalize.css",
    "hostile": STYLESHEETS / "hostile.css",
}

CATEGORIES = {
    "analytics": {"cookies": ["_host_an"]},
    "marketing": {"cookies": ["_host_ads"]},
    "media": {
        "label": "External media",
        "description": "Videos from other sites, which may set their own cookies.",
        "cookies": [{"name": "_vid", "provider": "Video Co", "purpose": "Plays videos"}],
    },
}


def create_app(*, csrf: bool = False, **config: Any) -> Flask:
    """The host site; ``csrf`` protects every form with Flask-WTF's CSRFProtect,
    set up after the extension, as a site that adds it later would."""
    app = Flask(__name__, template_folder=str(HERE / "templates"))
    app.config.update(
        SECRET_KEY="host-test-secret-key-that-is-long-enough-0123456789",
        CONSENT_CATEGORIES=CATEGORIES,
    )
    app.config.update(config)
    Consent(app)
    if csrf:
        CSRFProtect(app)

    @app.get("/page")
    def page() -> str:
        sheet = request.args.get("sheet", "none")
        if sheet != "none" and sheet not in SHEETS:
            abort(404)
        return render_template(
            "host.html",
            sheet=sheet,
            declares=request.args.get("declares", "none"),
            length=request.args.get("length", "long"),
        )

    @app.get("/deep/<path:rest>")
    def deep(rest: str) -> str:
        """A page some folders down, where a tag may set cookies for its own path."""
        return render_template("host.html", sheet="none", declares="none", length="short")

    @app.get("/sheet/<name>.css")
    def stylesheet(name: str) -> Any:
        if name not in SHEETS:
            abort(404)
        return send_file(SHEETS[name], mimetype="text/css")

    @app.post("/comment")
    def comment() -> str:
        return "thanks"

    return app
