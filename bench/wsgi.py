"""WSGI entry points for gunicorn, configured through the environment.

``gunicorn 'bench.wsgi:consent_app()'`` serves the example news site with the
extension; ``gunicorn 'bench.wsgi:plain_app()'`` serves the same templates and
article with every consent helper replaced by a no-op, and no ``Consent``.

Environment:

``SECRET_KEY``
    required for ``consent_app()`` (every worker must sign with the same key)
``SECRET_KEY_FALLBACKS``
    optional JSON list of older keys, e.g. ``["old-key"]``
``CONSENT_INSTANCE_PATH``
    the instance folder (receipts database); default: a new temporary folder
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request

from consent.i18n import parse_count
from examples.news import add_pages, create_app

NEWS_DIR = Path(__file__).resolve().parent.parent / "examples" / "news"

#: The Jinja globals the extension registers, as no-ops for the site without it.
CONSENT_GLOBALS = (
    "consent_banner",
    "consent_script",
    "consent_settings_link",
    "consent_head",
    "consent_iframe",
    "consent_cookie_table",
)


def env_config() -> dict[str, Any]:
    """``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` from the environment."""
    key = os.environ.get("SECRET_KEY", "")
    if not key:
        raise RuntimeError("set SECRET_KEY: every worker and instance must share it")
    config: dict[str, Any] = {"SECRET_KEY": key}
    raw = os.environ.get("SECRET_KEY_FALLBACKS", "").strip()
    if raw:
        fallbacks = json.loads(raw)
        if not isinstance(fallbacks, list) or not all(isinstance(k, str) for k in fallbacks):
            raise RuntimeError("SECRET_KEY_FALLBACKS must be a JSON list of strings")
        config["SECRET_KEY_FALLBACKS"] = fallbacks
    return config


def _instance_path() -> str:
    return os.environ.get("CONSENT_INSTANCE_PATH") or tempfile.mkdtemp(prefix="consent-bench-")


def consent_app() -> Flask:
    """The example news site, with the extension, plus a probe of catalog parses."""
    app = create_app(env_config(), instance_path=_instance_path())

    @app.get("/_bench/parses")
    def parses() -> Any:
        # Held a moment, so that concurrent probes reach every sync worker.
        time.sleep(min(0.5, float(request.args.get("hold", "0"))))
        return jsonify(pid=os.getpid(), parses=parse_count())

    return app


def _nothing(*args: Any, **kwargs: Any) -> str:
    return ""


def plain_app(config: dict[str, Any] | None = None) -> Flask:
    """The same article page without the extension: consent helpers render ``''``.

    Configured like :func:`consent_app` (the same ``SECRET_KEY``, so Flask opens
    its session on both): the only difference is the extension. ``config``
    replaces the environment's keys, for use in-process.
    """
    app = Flask("examples.news", root_path=str(NEWS_DIR))
    app.config.update(env_config() if config is None else config)
    app.jinja_env.globals.update(dict.fromkeys(CONSENT_GLOBALS, _nothing))

    add_pages(app, lambda: request.accept_languages.best_match(["de", "en"]) or "en")
    return app
