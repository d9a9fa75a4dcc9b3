"""The example news site runs and uses every part of the extension."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from examples.news import create_app


@pytest.fixture
def news(tmp_path: Path) -> Flask:
    return create_app({"TESTING": True}, instance_path=str(tmp_path))


def test_german_article_with_the_seed_banner(news: Flask) -> None:
    html = news.test_client().get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Stadtrat beschließt neue Radwege" in html
    assert "Diese Website verwendet Cookies" in html
    assert 'Lesen Sie unsere <a href="/privacy">Datenschutzrichtlinie</a>' in html
    assert 'type="text/plain" data-src="/static/analytics.js"' in html


def test_english_article(news: Flask) -> None:
    html = news.test_client().get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "City council approves new cycle lanes" in html
    assert "This website uses cookies" in html


def test_accepting_enables_analytics(news: Flask) -> None:
    client = news.test_client()
    client.post("/consent/accept")
    html = client.get("/").get_data(as_text=True)
    assert '<script src="/static/analytics.js" data-consent="analytics"></script>' in html
    assert "consent-banner" not in html


def test_privacy_page_and_footer_link(news: Flask) -> None:
    html = (
        news.test_client().get("/privacy", headers={"Accept-Language": "de"}).get_data(as_text=True)
    )
    assert "<h1>Datenschutzrichtlinie</h1>" in html
    assert "Cookie-Einstellungen</a>" in html


def test_secret_key_is_created_once_in_the_instance_folder(tmp_path: Path) -> None:
    first = create_app({"TESTING": True}, instance_path=str(tmp_path))
    assert len(first.config["SECRET_KEY"]) >= 32
    assert (tmp_path / "secret_key").read_text() == first.config["SECRET_KEY"]
    second = create_app({"TESTING": True}, instance_path=str(tmp_path))
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
