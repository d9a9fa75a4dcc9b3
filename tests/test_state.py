"""``current_consent``: the visitor's choice as host code sees it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask, g

from consent import ConsentState, UnknownCategoryError, current_consent
from consent.config import get_config
from consent.state import MAX_KEPT_HEADER
from tests.conftest import AppFactory, choose

JSON = {"Accept": "application/json"}


def _cookie_header(client: Any) -> dict[str, str]:
    return {"Cookie": f"consent={client.get_cookie('consent').value}"}


def test_no_choice_yet(app: Flask) -> None:
    with app.test_request_context("/"):
        assert current_consent.decided is False
        assert current_consent.allows("necessary") is True
        assert current_consent.allows("analytics") is False
        assert dict(current_consent.categories) == {"necessary": True, "analytics": False}
        assert current_consent.consent_id is None


def test_after_a_choice(make_app: AppFactory) -> None:
    app = make_app(CONSENT_CATEGORIES=["analytics", "marketing"])
    client = app.test_client()
    state = choose(client, "save", category="analytics")
    with app.test_request_context("/", headers=_cookie_header(client)):
        assert current_consent.decided is True
        assert current_consent.allows("analytics") is True
        assert current_consent.allows("marketing") is False
        assert current_consent.consent_id == state["consent_id"]
        assert current_consent.decided_at is not None


def test_unknown_category_is_a_programming_error(app: Flask) -> None:
    with app.test_request_context("/"), pytest.raises(UnknownCategoryError) as info:
        current_consent.allows("analytcs")
    assert "analytcs" in str(info.value)
    assert "analytics" in str(info.value)
    assert isinstance(info.value, LookupError)


def test_categories_mapping_is_read_only(app: Flask) -> None:
    with app.test_request_context("/"):
        categories = current_consent.categories
        with pytest.raises(TypeError):
            categories["analytics"] = True  # type: ignore[index]


def test_state_is_read_once_per_request(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    client = app.test_client()
    choose(client, "accept")
    with app.test_request_context("/", headers=_cookie_header(client)):
        codec = get_config(app).codec()
        calls = 0
        original = codec.loads

        def counting(value: str | None) -> Any:
            nonlocal calls
            calls += 1
            return original(value)

        monkeypatch.setattr(codec, "loads", counting)
        for _ in range(10):
            assert current_consent.allows("analytics")
        assert calls == 1
        assert isinstance(g._consent_state, ConsentState)


def test_proxy_is_the_same_object_within_a_request(app: Flask) -> None:
    with app.test_request_context("/"):
        assert current_consent._get_current_object() is current_consent._get_current_object()  # type: ignore[attr-defined]


def test_remembered_states_respect_a_changed_secret_key(app: Flask) -> None:
    """States are remembered per cookie value, but only under the keys that verified them."""
    client = app.test_client()
    choose(client, "accept")
    with app.test_request_context("/", headers=_cookie_header(client)):
        assert current_consent.allows("analytics") is True
    app.config["SECRET_KEY"] = "a-brand-new-secret-key-after-a-leak-0123"
    with app.test_request_context("/", headers=_cookie_header(client)):
        assert current_consent.decided is False
        assert current_consent.allows("analytics") is False


def _counting_loads(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Record every cookie value the app's codec is asked to verify."""
    with app.app_context():
        codec = get_config(app).codec(app)
    seen: list[str | None] = []
    original = codec.loads

    def counting(value: str | None) -> Any:
        seen.append(value)
        return original(value)

    monkeypatch.setattr(codec, "loads", counting)
    return seen


def test_the_same_cookie_header_is_read_once_per_process(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A returning visitor's next page costs a lookup, not a parse and a signature check."""
    client = app.test_client()
    choose(client, "accept")
    header = _cookie_header(client)
    seen = _counting_loads(app, monkeypatch)
    raw = app.test_client(use_cookies=False)
    for _ in range(3):
        assert raw.get("/consent/preferences", headers={**header, **JSON}).get_json()["decided"]
    assert len(seen) == 1
    # Another header (here: one more cookie) is read afresh, to the same answer.
    other = {"Cookie": header["Cookie"] + "; theme=dark"}
    assert raw.get("/consent/preferences", headers={**other, **JSON}).get_json()["decided"]
    assert len(seen) == 2


def test_two_choice_cookies_stay_no_choice_when_remembered(make_app: AppFactory) -> None:
    app = make_app()
    values = []
    for _ in range(2):
        jar = app.test_client()
        choose(jar, "accept")
        values.append(jar.get_cookie("consent").value)
    both = {"Cookie": "; ".join(f"consent={v}" for v in values), **JSON}
    raw = app.test_client(use_cookies=False)
    for _ in range(2):
        assert raw.get("/consent/preferences", headers=both).get_json()["decided"] is False


def test_remembered_states_still_expire(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(CONSENT_MAX_AGE=60)
    client = app.test_client()
    choose(client, "accept")
    header = {**_cookie_header(client), **JSON}
    raw = app.test_client(use_cookies=False)
    assert raw.get("/consent/preferences", headers=header).get_json()["decided"] is True
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61)
    assert raw.get("/consent/preferences", headers=header).get_json()["decided"] is False


def test_long_cookie_headers_are_read_every_time_not_kept(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory per kept state stays small whatever other cookies a visitor carries."""
    client = app.test_client()
    choose(client, "accept")
    long = {"Cookie": _cookie_header(client)["Cookie"] + "; filler=" + "x" * MAX_KEPT_HEADER}
    seen = _counting_loads(app, monkeypatch)
    raw = app.test_client(use_cookies=False)
    for _ in range(2):
        assert raw.get("/consent/preferences", headers={**long, **JSON}).get_json()["decided"]
    assert len(seen) == 2
    kept = get_config(app).state_cache
    assert all(len(header) <= MAX_KEPT_HEADER for header, *_ in kept)


def test_a_choice_signed_ahead_of_this_clock_counts_once_the_clock_catches_up(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two hosts whose clocks differ by a second: a choice made on the one ahead
    is "not yet valid" on the other for that second, and must not stay so."""
    ahead, here = make_app(), make_app()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 2)
    client = ahead.test_client()
    choose(client, "accept")  # signed two seconds "in the future" of this host
    header = {**_cookie_header(client), **JSON}
    monkeypatch.setattr(time, "time", real)
    raw = here.test_client(use_cookies=False)
    assert raw.get("/consent/preferences", headers=header).get_json()["decided"] is False
    monkeypatch.setattr(time, "time", lambda: real() + 3)
    assert raw.get("/consent/preferences", headers=header).get_json()["decided"] is True
