from __future__ import annotations

import base64
import hashlib
import logging
import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from consent.cookie import (
    MAX_COOKIE_LENGTH,
    MAX_EXPIRY_BYTES,
    SALT,
    ChoiceCodec,
    cookie_domains,
    expiry_headers,
    new_consent_id,
)

KEY = "k" * 32


def codec(keys: list[str] | None = None, max_age: int = 3600) -> ChoiceCodec:
    return ChoiceCodec(keys or [KEY], max_age)


def test_round_trip() -> None:
    cid = new_consent_id()
    value, stored = codec().sign("7", cid, {"analytics": True, "marketing": False})
    again = codec().loads(value)
    assert again == stored
    assert again.revision == "7"
    assert again.consent_id == cid
    assert dict(again.choices) == {"analytics": True, "marketing": False}
    assert abs(again.decided_at.timestamp() - time.time()) < 5


def test_consent_ids_are_random_and_url_safe() -> None:
    ids = {new_consent_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 16 and i.replace("-", "").replace("_", "").isalnum() for i in ids)


def test_a_new_consent_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # The random source is made to offer ids a command line would take for options first.
    offered = iter(["-yC5fQ2b9Zx4Lk0P", "--C5fQ2b9Zx4Lk0P", "yC5fQ2b9Zx4Lk0P-"])
    monkeypatch.setattr("consent.cookie.secrets.token_urlsafe", lambda n: next(offered))
    assert new_consent_id() == "yC5fQ2b9Zx4Lk0P-"


def test_an_old_id_that_starts_with_a_dash_still_reads() -> None:
    value, _ = codec().sign("1", "-yC5fQ2b9Zx4Lk0P", {"analytics": True})
    stored = codec().loads(value)
    assert stored is not None
    assert stored.consent_id == "-yC5fQ2b9Zx4Lk0P"


def test_twenty_categories_stay_far_under_four_kilobytes() -> None:
    choices = {f"category-{i:02d}": i % 2 == 0 for i in range(20)}
    value, _ = codec().sign("2026-11-25", new_consent_id(), choices)
    assert len(value) < 1024


def _tamper(value: str) -> list[str]:
    payload, rest = value.split(".", 1)
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    return [
        flipped + "." + rest,
        # Not the last character: its low bits are base64 padding and may not count.
        value[:-5] + ("A" if value[-5] != "A" else "B") + value[-4:],
        value[: len(value) // 2],
        value + "x",
        "",
        "...",
        "not-a-cookie",
        "x" * (MAX_COOKIE_LENGTH + 1),
    ]


@pytest.mark.parametrize("index", range(8))
def test_tampered_values_are_no_choice(index: int) -> None:
    value, _ = codec().sign("1", new_consent_id(), {"analytics": True})
    assert codec().loads(_tamper(value)[index]) is None


def test_forged_with_another_key_is_no_choice() -> None:
    value, _ = codec(["another-key" * 3]).sign("1", new_consent_id(), {"analytics": True})
    assert codec().loads(value) is None


def test_same_key_but_another_salt_is_no_choice() -> None:
    """A value the app signed for another purpose cannot pass for consent."""
    other = URLSafeTimedSerializer(KEY, salt="itsdangerous")
    payload = {"v": 1, "r": "1", "id": new_consent_id(), "c": {"analytics": 1}}
    assert codec().loads(other.dumps(payload)) is None


@pytest.mark.parametrize(
    "payload",
    [
        ["not", "a", "dict"],
        {"v": 2, "r": "1", "id": "A" * 16, "c": {}},
        {"v": 1, "r": 1, "id": "A" * 16, "c": {}},
        {"v": 1, "r": "1", "id": "short", "c": {}},
        {"v": 1, "r": "1", "id": "A" * 16, "c": []},
        {"v": 1, "r": "1", "id": "A" * 16, "c": {"analytics": "yes"}},
        {"v": 1, "r": "1", "id": "A" * 16, "c": {"analytics": 2}},
        {"v": 1, "r": "1", "id": "A" * 16, "c": {"analytics": 1.0}},
        {"v": 1, "r": "1", "id": "A" * 16},
    ],
)
def test_correctly_signed_but_malformed_payload_is_no_choice(payload: object) -> None:
    serializer = URLSafeTimedSerializer(
        KEY, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )
    assert codec().loads(serializer.dumps(payload)) is None


def test_signed_garbage_that_is_not_json_is_no_choice() -> None:
    serializer = URLSafeTimedSerializer(
        KEY, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )
    signer = serializer.make_signer(SALT)
    raw = base64.urlsafe_b64encode(b"{not json").rstrip(b"=")
    assert codec().loads(signer.sign(raw).decode()) is None


def test_expired_choice_is_no_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    value, _ = codec(max_age=60).sign("1", new_consent_id(), {"analytics": True})
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61)
    assert codec(max_age=60).loads(value) is None
    monkeypatch.setattr(time, "time", lambda: real() + 59)
    assert codec(max_age=60).loads(value) is not None


def test_rotated_key_keeps_old_choices() -> None:
    value, _ = codec(["old-key" * 4]).sign("1", new_consent_id(), {"analytics": True})
    # Flask order: fallbacks first, current key last.
    rotated = codec(["old-key" * 4, "new-key" * 4])
    assert rotated.loads(value) is not None
    new_value, _ = rotated.sign("1", new_consent_id(), {"analytics": True})
    assert codec(["new-key" * 4]).loads(new_value) is not None
    assert codec(["old-key" * 4]).loads(new_value) is None


def test_bad_cookies_log_nothing_above_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="consent")
    value, _ = codec().sign("1", new_consent_id(), {"analytics": True})
    for bad in _tamper(value):
        codec().loads(bad)
    assert caplog.records
    assert all(r.levelno <= logging.DEBUG for r in caplog.records)


def test_a_remembered_cookie_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verified values are remembered per process, but never past their age."""
    reader = codec(max_age=60)
    value, _ = reader.sign("1", new_consent_id(), {"analytics": True})
    assert reader.loads(value) is not None
    assert reader.loads(value) is not None  # from memory
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61)
    assert reader.loads(value) is None


def test_non_canonical_base64_is_no_choice() -> None:
    """Flipping the unused low bits of a base64 character keeps the bytes the same;
    such a value is still refused, so each choice has exactly one cookie value."""
    value, _ = codec().sign("1", new_consent_id(), {"analytics": True})
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    variants = [value[:-1] + c for c in alphabet if c != value[-1]]
    assert codec().loads(value) is not None
    assert [v for v in variants if codec().loads(v) is not None] == []


@pytest.mark.parametrize(
    ("host", "configured", "expected"),
    [
        ("www.shop.example", None, [None, "shop.example"]),
        ("a.b.example.co.uk:8443", None, [None, "example.co.uk"]),
        ("example.com", None, [None]),  # the host is its registrable domain
        ("x.github.io", None, [None]),  # github.io is a public suffix: x.github.io is the site
        ("www.example.com", ".example.com", [None, "example.com"]),
        ("www.example.com", "shop.example.com", [None, "example.com", "shop.example.com"]),
        ("127.0.0.1:5000", None, [None]),
        ("[::1]:5000", None, [None]),
        ("localhost", None, [None]),
        ('evil";x=1.example.com', None, [None]),  # never into a header attribute
    ],
)
def test_cookies_are_expired_only_where_they_can_live(
    host: str, configured: str | None, expected: list[str | None]
) -> None:
    assert cookie_domains(host, configured) == expected


def test_thirty_owned_cookies_expire_in_well_under_eight_kilobytes() -> None:
    """On a deep host, each cookie once per parent domain was 91 headers (8.9 KB)."""
    names = [f"_ga_{i:04X}XYZAB" for i in range(30)]
    headers = expiry_headers(names, "www.shop.example")
    assert len(headers) == 60
    assert sum(len("Set-Cookie: \r\n") + len(h) for h in headers) < 4 * 1024
    assert f"{names[0]}=; Max-Age=0; Path=/" in headers
    assert f"{names[0]}=; Max-Age=0; Path=/; Domain=shop.example" in headers


def test_expiry_headers_are_bounded_whatever_the_request_holds() -> None:
    names = [f"_pk_id.{i}.abcdef" for i in range(400)]
    headers = expiry_headers(names, "a.b.c.d.e.f.www.shop.example")
    assert sum(len("Set-Cookie: \r\n") + len(h) for h in headers) <= MAX_EXPIRY_BYTES
    assert 0 < len(headers) < 800


def test_names_that_are_not_cookie_tokens_are_never_written() -> None:
    assert expiry_headers(["ok", "bad;Domain=evil.example", "sp ace"], "example.com") == [
        "ok=; Max-Age=0; Path=/"
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"v": 1, "r": "1", "id": "A" * 16 + "\n", "c": {"analytics": 1}},  # trailing newline
        {"v": 1, "r": "1", "id": "A" * 16, "c": {"analytics": True}},  # JSON true, not 1
        {"v": 1, "r": "1", "id": "A" * 16, "c": {"analytics": 1.0}},
    ],
)
def test_only_exactly_our_payload_verifies(payload: dict[str, object]) -> None:
    serializer = URLSafeTimedSerializer(
        KEY, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )
    assert codec().loads(serializer.dumps(payload)) is None
