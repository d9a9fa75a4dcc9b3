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


def test_video_page_shows_a_placeholder_until_media_is_allowed(news: Flask) -> None:
    client = news.test_client()
    html = client.get("/video", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert 'data-consent-embed="media"' in html
    assert "<iframe" not in html
    assert "Stadt-TV" in html
    assert "Immer erlauben: Externe Medien" in html
    client.post("/consent/allow", data={"category": "media"})
    html = client.get("/video").get_data(as_text=True)
    assert '<iframe src="/player" title="Stadtrat live"' in html or '<iframe src="/player"' in html


def test_privacy_page_declares_every_cookie(news: Flask) -> None:
    html = (
        news.test_client().get("/privacy", headers={"Accept-Language": "de"}).get_data(as_text=True)
    )
    for name in ("consent", "_pk_id.*", "_stv_uid"):
        assert f"<code>{name}</code>" in html
    assert "<caption>Externe Medien</caption>" in html
    assert "Zählt Besuche" in html


def test_pages_start_with_the_consent_mode_default(news: Flask) -> None:
    html = news.test_client().get("/").get_data(as_text=True)
    head = html.split("</head>")[0]
    assert 'src="/consent/static/consent/gcm.min.js' in head


def test_gpc_json(news: Flask) -> None:
    assert news.test_client().get("/.well-known/gpc.json").get_json()["gpc"] is True


def test_decisions_leave_receipts_in_sqlite(news: Flask, tmp_path: Path) -> None:
    client = news.test_client()
    client.post("/consent/accept", data={"control": "banner"}, headers={"Accept-Language": "de"})
    client.post("/consent/decline", data={"control": "settings"})
    store = news.extensions["consent"].receipts
    assert store.url == f"sqlite:///{tmp_path / 'consent-receipts.db'}"
    assert [(r.action, r.control, r.locale) for r in store.export()] == [
        ("accept", "banner", "de"),
        ("decline", "settings", "en"),
    ]
    store.dispose()
