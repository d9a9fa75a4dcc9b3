"""Several processes, one choice: the signed cookie is the only state.

Real gunicorn instances of the example site (``bench.wsgi``, configured through
the environment) on free 127.0.0.1 ports, each with its own instance folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.common import Gunicorn, accept_all, http_request

pytestmark = pytest.mark.slow

OLD_KEY = "scale-test-old-secret-key-0123456789abcdefghijklmn"
NEW_KEY = "scale-test-new-secret-key-9876543210zyxwvutsrqponm"

#: Opening tags of the example site's scripts gated on analytics.
GATED = re.compile(r'<script\b[^>]*\bdata-consent="analytics"[^>]*>')


def gated_scripts(html: str) -> list[str]:
    tags = GATED.findall(html)
    assert len(tags) == 2, tags  # the external tag and the inline one
    return tags


Start = Callable[..., Gunicorn]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """``start(SECRET_KEY=..., SECRET_KEY_FALLBACKS=[...])``: a running instance."""
    running: list[Gunicorn] = []

    def _start(workers: int = 1, **config: object) -> Gunicorn:
        n = len(running)
        instance = tmp_path / f"instance-{n}"
        instance.mkdir()
        env = {"CONSENT_INSTANCE_PATH": str(instance)}
        env.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
        server = Gunicorn(
            "bench.wsgi:consent_app()",
            env,
            tmp_path / f"gunicorn-{n}.log",
            workers=workers,
            ready_timeout=15.0,
        )
        running.append(server)
        return server.start()

    try:
        yield _start
    finally:
        for server in running:
            server.stop()
        for server in running:
            assert server.process is None


def page(server: Gunicorn, cookie: str | None = None) -> str:
    headers = {"Accept-Language": "en"}
    if cookie is not None:
        headers["Cookie"] = f"consent={cookie}"
    response = http_request(server.port, "/", headers=headers, timeout=5.0)
    assert response.status == 200, response.body[:500]
    return response.body.decode()


def assert_returning(html: str) -> None:
    assert 'id="consent-banner"' not in html
    tags = gated_scripts(html)
    assert not [t for t in tags if 'type="text/plain"' in t], "a gated script is still inert"
    assert any('src="/static/analytics.js"' in t for t in tags)


def assert_first_visit(html: str) -> None:
    assert 'id="consent-banner"' in html
    tags = gated_scripts(html)
    assert all('type="text/plain"' in t for t in tags), "a gated script runs without consent"
    assert any('data-src="/static/analytics.js"' in t for t in tags)


def test_a_choice_travels_between_instances_and_survives_key_rotation(start: Start) -> None:
    one = start(workers=2, SECRET_KEY=OLD_KEY)
    two = start(workers=2, SECRET_KEY=OLD_KEY)
    assert one.port != two.port
    assert_first_visit(page(two))

    cookie = accept_all(one.port)
    # Another process that shares only the key: no banner, analytics live, on
    # whichever worker answers.
    for _ in range(4):
        assert_returning(page(two, cookie))

    rotated = start(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY])
    assert_returning(page(rotated, cookie))

    replaced = start(SECRET_KEY=NEW_KEY)
    assert_first_visit(page(replaced, cookie))
    # ... and a choice made under the new key is read by the rotated instance.
    assert_returning(page(rotated, accept_all(replaced.port)))
