"""App-factory fixtures: every test builds the app it needs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template
from flask.testing import FlaskClient

from consent import Consent

HERE = Path(__file__).parent
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def create_app(consent: Consent | None = None, **config: Any) -> Flask:
    """A small host site: a page with the banner and gated scripts, and a plain page."""
    app = Flask(__name__, template_folder=str(HERE / "templates"))
    app.config.update(SECRET_KEY=SECRET, TESTING=True)
    app.config.update(config)
    (consent or Consent()).init_app(app)

    @app.get("/")
    def page() -> str:
        return render_template("page.html")

    @app.get("/plain")
    def plain() -> str:
        return "no consent here"

    return app


AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app() -> AppFactory:
    return create_app


@pytest.fixture
def app() -> Flask:
    return create_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def choose(client: FlaskClient, action: str = "accept", **form: Any) -> Any:
    """Record a choice the way the banner's script does and return the JSON state."""
    response = client.post(f"/consent/{action}", data=form, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()
