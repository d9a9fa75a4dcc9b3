"""Property tests over hostile input, against the real app.

Quick by default; ``make fuzz`` runs the long profile (HYPOTHESIS_PROFILE=fuzz).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.cookie import ChoiceCodec, new_consent_id
from tests.conftest import create_app

settings.register_profile(
    "default", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=34_000, deadline=None, suppress_health_check=list(HealthCheck)
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
settings.load_profile(PROFILE)
EXAMPLES: Counter[str] = Counter()
RESULTS = Path(__file__).parent.parent / "bench" / "fuzz-results.json"


@pytest.fixture(scope="module", autouse=True)
def record_long_runs(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the long profile, write how many examples ran (for BENCHMARKS.md)."""
    started = time.monotonic()
    yield
    if PROFILE == "fuzz":
        RESULTS.write_text(
            json.dumps(
                {
                    "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                    "examples": dict(EXAMPLES),
                    "failures": request.session.testsfailed,
                    "seconds": time.monotonic() - started,
                },
                indent=2,
            )
        )


CATEGORIES = ["analytics", "marketing", "preferences"]
APP = create_app(CONSENT_CATEGORIES=CATEGORIES)
CLIENT = APP.test_client(use_cookies=False)
LIVE_SCRIPT = re.compile(r'<script src="/static/analytics\.js"|<script data-consent=')

# Header-safe text: printable Latin-1, no CR/LF (what a client can put on the wire).
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=300,
)
CODEC = ChoiceCodec([APP.config["SECRET_KEY"]], 3600)
VALID, _ = CODEC.sign("1", new_consent_id(), dict.fromkeys(CATEGORIES, True))


@st.composite
def cookie_values(draw: st.DrawFn) -> str:
    """Random text, or a real signed cookie with bytes changed, cut or added."""
    if draw(st.booleans()):
        return draw(header_text.filter(lambda s: ";" not in s))
    value = list(VALID)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(value) - 1))
        choice = draw(st.sampled_from(["flip", "cut", "add"]))
        if choice == "flip":
            value[i] = draw(st.sampled_from("AZaz09-_.")) if value[i] != "A" else "B"
        elif choice == "cut":
            del value[i:]
            if not value:
                value = ["x"]
        else:
            value.insert(i, draw(st.sampled_from("AZaz09-_.=")))
    mutated = "".join(value)
    return mutated if mutated != VALID else mutated + "x"


def live_scripts(html: str) -> bool:
    return bool(LIVE_SCRIPT.search(html))


@given(cookie=cookie_values(), language=header_text, gpc=header_text)
def test_any_cookie_and_headers_give_a_page_and_no_consent(
    cookie: str, language: str, gpc: str
) -> None:
    EXAMPLES["page with any cookie and headers"] += 1
    response = CLIENT.get(
        "/", headers={"Cookie": f"consent={cookie}", "Accept-Language": language, "Sec-GPC": gpc}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # Without a valid signed choice nothing optional is allowed.
    assert not live_scripts(html)
    assert 'id="consent-banner"' in html


def test_the_valid_cookie_really_allows() -> None:
    """The control for the property above: the unmutated cookie is honoured."""
    html = CLIENT.get("/", headers={"Cookie": f"consent={VALID}"}).get_data(as_text=True)
    assert live_scripts(html)


@given(
    action=st.sampled_from(["accept", "decline", "save", "allow", "preferences"]),
    origin=st.one_of(
        st.none(),
        header_text,
        st.sampled_from(["null", "http://localhost", "https://evil.example"]),
    ),
    fetch_site=st.one_of(
        st.none(), st.sampled_from(["cross-site", "same-site", "same-origin", "none"]), header_text
    ),
    next_path=st.one_of(
        st.none(),
        st.text(max_size=200),
        st.sampled_from(["//evil.example", "/\\evil.example", "javascript:alert(1)", "/ok?x=1"]),
    ),
    categories=st.lists(
        st.one_of(st.sampled_from([*CATEGORIES, "necessary"]), st.text(max_size=50)), max_size=70
    ),
    control=st.one_of(st.none(), st.text(max_size=30)),
    accept=st.sampled_from(["text/html", "application/json", "*/*", ""]),
)
def test_posts_never_fail_or_leave_the_site(
    action: str,
    origin: str | None,
    fetch_site: str | None,
    next_path: str | None,
    categories: list[str],
    control: str | None,
    accept: str,
) -> None:
    EXAMPLES["consent endpoints with any origin, next and fields"] += 1
    headers = {"Accept": accept}
    if origin is not None:
        headers["Origin"] = origin
    if fetch_site is not None:
        headers["Sec-Fetch-Site"] = fetch_site
    data: dict[str, object] = {"category": categories}
    if next_path is not None:
        data["next"] = next_path
    if control is not None:
        data["control"] = control
    method = CLIENT.get if action == "preferences" else CLIENT.post
    response = method(f"/consent/{action}", data=data, headers=headers)
    assert response.status_code < 500
    assert response.status_code in {200, 303, 400, 403}
    location = response.headers.get("Location")
    if location is not None:
        parts = urlsplit(location)
        assert not parts.scheme
        assert not parts.netloc
        assert location.startswith("/")
        assert not location.startswith(("//", "/\\"))
    if response.status_code == 403:
        assert "Set-Cookie" not in response.headers


@given(
    choices=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_-]{0,31}", fullmatch=True), st.booleans(), max_size=20
    ),
    revision=st.text(min_size=1, max_size=40),
)
def test_every_valid_state_round_trips(choices: dict[str, bool], revision: str) -> None:
    EXAMPLES["cookie round trip of any valid state"] += 1
    codec = ChoiceCodec(["k" * 32], 3600)
    consent_id = new_consent_id()
    value, stored = codec.sign(revision, consent_id, choices)
    again = codec.loads(value)
    assert again == stored
    assert dict(again.choices) == choices
    assert again.revision == revision
    assert len(value) < 4096
