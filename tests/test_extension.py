"""Setting the extension up: factories, several apps, configuration."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from consent import ConfigurationError, Consent, current_consent
from consent.config import DEFAULTS
from consent.i18n import parse_count
from tests.conftest import AppFactory, choose, create_app


def test_two_lines_mount_it() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s" * 32
    Consent(app)
    assert "consent" in app.blueprints
    assert "consent" in app.extensions
    assert app.test_client().get("/consent/preferences").status_code == 200


def test_factory_pattern_one_instance_many_apps() -> None:
    consent = Consent()
    first = create_app(consent, CONSENT_CATEGORIES=["analytics"], CONSENT_COOKIE_NAME="a")
    second = create_app(
        consent,
        CONSENT_CATEGORIES=["analytics", "marketing"],
        CONSENT_COOKIE_NAME="b",
        CONSENT_URL_PREFIX="/privacy-choices",
    )
    assert not hasattr(consent, "app")
    one, two = first.test_client(), second.test_client()
    assert choose(one, "accept")["categories"] == {"necessary": True, "analytics": True}
    assert one.get_cookie("a") is not None
    response = two.post("/privacy-choices/accept", headers={"Accept": "application/json"})
    assert response.get_json()["categories"]["marketing"] is True
    assert two.get_cookie("b") is not None
    assert two.post("/consent/accept").status_code == 404


def test_defaults_never_override_the_hosts_config() -> None:
    app = create_app(CONSENT_COOKIE_NAME="mine", CONSENT_MAX_AGE=timedelta(days=30))
    assert app.config["CONSENT_COOKIE_NAME"] == "mine"
    assert app.config["CONSENT_MAX_AGE"] == timedelta(days=30)
    for key in DEFAULTS:
        assert key.startswith("CONSENT_")
        assert key in app.config


def test_host_keys_are_untouched() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s" * 32, SESSION_COOKIE_NAME="sess", MAX_CONTENT_LENGTH=10)
    before = {k: v for k, v in app.config.items() if not k.startswith("CONSENT_")}
    Consent(app)
    after = {k: v for k, v in app.config.items() if not k.startswith("CONSENT_")}
    assert before == after


def test_missing_secret_key_says_how_to_fix() -> None:
    app = create_app(SECRET_KEY=None)
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(ConfigurationError, match=r"SECRET_KEY"):
        app.test_client().get("/")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"CONSENT_CATEGORIES": {"necessary": {}}}, "always on"),
        ({"CONSENT_MAX_AGE": -1}, "CONSENT_MAX_AGE"),
        ({"CONSENT_MAX_AGE": "6 months"}, "CONSENT_MAX_AGE"),
        ({"CONSENT_DEFAULT_LOCALE": "xx"}, "CONSENT_DEFAULT_LOCALE"),
        ({"CONSENT_LOCALES": ["de"], "CONSENT_DEFAULT_LOCALE": "en"}, "CONSENT_DEFAULT_LOCALE"),
        ({"CONSENT_TRANSLATION_DIRS": "translations"}, "must be a list"),
        ({"CONSENT_TRUSTED_ORIGINS": "https://a"}, "must be a list"),
    ],
)
def test_bad_configuration_fails_at_start_up(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        create_app(**config)


def test_using_the_state_without_the_extension_says_how_to_fix() -> None:
    app = Flask(__name__)
    with app.test_request_context("/"), pytest.raises(ConfigurationError, match="init_app"):
        current_consent.decided  # noqa: B018


def test_secret_key_fallbacks_keep_old_choices(make_app: AppFactory) -> None:
    old = make_app(SECRET_KEY="old-secret-key-0123456789abcdef").test_client()
    choose(old, "accept")
    value = old.get_cookie("consent").value
    rotated = make_app(
        SECRET_KEY="new-secret-key-0123456789abcdef",
        SECRET_KEY_FALLBACKS=["old-secret-key-0123456789abcdef"],
    ).test_client()
    rotated.set_cookie("consent", value)
    state = rotated.get("/consent/preferences", headers={"Accept": "application/json"}).get_json()
    assert state["decided"] is True
    assert state["categories"]["analytics"] is True


def test_catalogs_are_parsed_once_per_process(make_app: AppFactory) -> None:
    client = make_app().test_client()
    for lang in ("de", "en", "de"):
        client.get("/", headers={"Accept-Language": lang})
    before = parse_count()
    for _ in range(20):
        for lang in ("de", "en"):
            assert client.get("/", headers={"Accept-Language": lang}).status_code == 200
    # A second app in the same process reuses the parsed catalogs too.
    make_app().test_client().get("/", headers={"Accept-Language": "de"})
    assert parse_count() == before


def test_templates_are_compiled_once(app: Flask) -> None:
    client = app.test_client()
    client.get("/")
    env = app.jinja_env
    assert env.cache is not None
    cached = len(env.cache)
    loaded: list[str] = []
    original = env.loader.get_source  # type: ignore[union-attr]

    def spy(environment: Any, name: str) -> Any:
        loaded.append(name)
        return original(environment, name)

    env.loader.get_source = spy  # type: ignore[method-assign,union-attr]
    for _ in range(5):
        client.get("/")
        client.get("/consent/preferences")
    assert [n for n in loaded if n.startswith("consent/")] == [
        "consent/preferences.html",
        "consent/page.html",
        "consent/settings.html",
    ]
    assert len(env.cache) >= cached


def test_every_config_key_is_documented_in_the_readme() -> None:
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    missing = [key for key in DEFAULTS if f"| `{key}` |" not in readme]
    assert missing == []
