"""``Vary`` names what a page's consent markup depends on: the choice cookie and,
when it picked the banner's language, ``Accept-Language`` (also behind a real
shared cache: Debian's Varnish with its default configuration)."""

from __future__ import annotations

import http.client
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string

from consent import Consent
from consent.helpers import MAX_SCRIPT_ROOTS
from tests.conftest import AppFactory
from tests.serving import debian_program, free_port, serve

GERMAN = "de-DE,de;q=0.9,en;q=0.5"
ENGLISH = "en-GB,en;q=0.9"


def vary_of(response: Any) -> list[str]:
    return [v.strip().lower() for v in ",".join(response.headers.get_all("Vary")).split(",") if v]


def test_a_banner_in_the_negotiated_language_varies_on_accept_language(
    make_app: AppFactory,
) -> None:
    response = make_app().test_client().get("/", headers={"Accept-Language": "de"})
    assert "Diese Website verwendet Cookies" in response.get_data(as_text=True)
    assert vary_of(response) == ["cookie", "accept-language"]


def test_a_page_that_never_looked_at_consent_varies_on_nothing(make_app: AppFactory) -> None:
    response = make_app().test_client().get("/plain", headers={"Accept-Language": "de"})
    assert "Vary" not in response.headers


def test_a_site_locale_selector_that_decides_leaves_the_header_out(
    make_app: AppFactory,
) -> None:
    app = make_app(Consent(locale_selector=lambda: "fr"))
    response = app.test_client().get("/", headers={"Accept-Language": "de"})
    assert 'lang="fr"' in response.get_data(as_text=True)
    assert vary_of(response) == ["cookie"]


def test_a_selector_without_an_answer_falls_back_to_the_header_and_says_so(
    make_app: AppFactory,
) -> None:
    app = make_app(Consent(locale_selector=lambda: None))
    response = app.test_client().get("/", headers={"Accept-Language": "de"})
    assert 'lang="de"' in response.get_data(as_text=True)
    assert vary_of(response) == ["cookie", "accept-language"]


def test_one_offered_locale_does_not_depend_on_the_header(make_app: AppFactory) -> None:
    app = make_app(CONSENT_LOCALES=["de"], CONSENT_DEFAULT_LOCALE="de")
    response = app.test_client().get("/", headers={"Accept-Language": "en"})
    assert vary_of(response) == ["cookie"]


def test_the_settings_page_varies_on_the_language_too(make_app: AppFactory) -> None:
    response = (
        make_app().test_client().get("/consent/preferences", headers={"Accept-Language": "de"})
    )
    assert {"cookie", "accept-language"} <= set(vary_of(response))
    assert response.headers["Cache-Control"] == "no-store"


# -- behind Debian's Varnish --------------------------------------------------

DEBIAN_VCL = Path("/etc/varnish/default.vcl")


def _vcl(backend_port: int, tmp_path: Path) -> Path:
    """Debian's default VCL, pointed at the test server (its backend is port 8080)."""
    if DEBIAN_VCL.is_file():
        text = DEBIAN_VCL.read_text()
        assert '.port = "8080";' in text, "Debian's default.vcl changed its backend"
        text = text.replace('.port = "8080";', f'.port = "{backend_port}";')
    else:  # the same: Debian's file only names the backend and leaves the built-in logic
        text = f'vcl 4.1;\nbackend default {{ .host = "127.0.0.1"; .port = "{backend_port}"; }}\n'
    path = tmp_path / "default.vcl"
    path.write_text(text)
    return path


@pytest.fixture
def varnish(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The example-style test app behind a Varnish on loopback: yields (host, port)."""
    varnishd = debian_program("varnishd", "varnish")
    app = Flask(__name__)
    app.config.update(SECRET_KEY="varnish-test-secret-key-0123456789abcdef")
    Consent(app)

    @app.get("/")
    def page() -> str:
        return render_template_string("<!doctype html><title>t</title>{{ consent_banner() }}")

    log = tmp_path / "varnishd.log"
    with serve(app) as origin, log.open("wb") as output:
        port = free_port()
        process = subprocess.Popen(
            [
                varnishd,
                "-F",  # in the foreground, so the test owns the process
                "-j",
                "none",  # no privilege separation: runs as the test's user
                "-a",
                f"127.0.0.1:{port}",
                "-f",
                str(_vcl(int(origin.rsplit(":", 1)[1]), tmp_path)),
                "-n",
                str(tmp_path / "varnish"),
                "-s",
                "malloc,16m",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(port, process, log)
            yield "127.0.0.1", port
        finally:
            process.terminate()
            process.wait(10)


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"varnishd exited: {log.read_text()}")
        try:
            _get(("127.0.0.1", port), ENGLISH, path="/missing")
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail("varnishd did not answer within 30 s")


def _get(address: tuple[str, int], language: str, path: str = "/") -> tuple[str, str, bool]:
    """(body, lang of the banner, whether Varnish served it from its cache)."""
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept-Language": language})
        response = connection.getresponse()
        body = response.read().decode()
        # Varnish names two transactions on a hit (this one, the one that stored it).
        hit = len(response.getheader("X-Varnish", "").split()) == 2
        lang = body.split('lang="', 1)[1].split('"', 1)[0] if 'lang="' in body else ""
        return body, lang, hit
    finally:
        connection.close()


def test_a_shared_cache_never_serves_one_language_s_banner_to_another(
    varnish: tuple[str, int],
) -> None:
    _, lang, hit = _get(varnish, GERMAN)
    assert (lang, hit) == ("de", False)

    body, lang, hit = _get(varnish, ENGLISH)
    assert (lang, hit) == ("en", False), "an English visitor got the German visitor's page"
    assert "This website uses cookies" in body

    # The cache does cache: each language's page is now a hit, in its own language.
    assert _get(varnish, GERMAN)[1:] == ("de", True)
    assert _get(varnish, ENGLISH)[1:] == ("en", True)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/consent/accept", 405),
        ("GET", "/consent/nothing-here", 404),
        ("POST", "/consent/save?x", 400),
    ],
)
def test_every_answer_under_the_prefix_is_no_store_errors_too(
    make_app: AppFactory, method: str, path: str, status: int
) -> None:
    client = make_app().test_client()
    data = {"category": "nope"} if method == "POST" else None
    response = client.open(path, method=method, data=data)
    assert response.status_code == status
    assert response.headers.get_all("Cache-Control") == ["no-store"]


def test_static_files_keep_their_long_cache(make_app: AppFactory) -> None:
    client = make_app().test_client()
    html = client.get("/").get_data(as_text=True)
    css = html.split('<link rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    response = client.get(css)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    response.close()


@pytest.mark.parametrize("script_name", ["//evil.example", "/\\evil.example", "///evil.example"])
def test_a_script_root_that_names_another_host_stays_on_this_one(
    make_app: AppFactory, script_name: str
) -> None:
    """gunicorn takes ``SCRIPT_NAME`` from a header on loopback by default."""
    client = make_app().test_client()
    html = client.get("/", environ_overrides={"SCRIPT_NAME": script_name}).get_data(as_text=True)
    assert 'action="/evil.example/consent/accept"' in html
    assert "//evil.example" not in html
    assert "\\evil" not in html


def test_kept_urls_are_bounded_whatever_script_roots_arrive(make_app: AppFactory) -> None:
    app = make_app()
    client = app.test_client()
    for n in range(MAX_SCRIPT_ROOTS * 3):
        client.get("/", environ_overrides={"SCRIPT_NAME": f"/root{n}"})
    assert 0 < len(app.extensions["consent"].url_cache) <= MAX_SCRIPT_ROOTS


def test_only_paths_under_the_prefix_are_ours(make_app: AppFactory) -> None:
    """A site's own ``/consenting`` is not under ``/consent``; with no prefix at all,
    only the blueprint's answers (marked by its own hook) are ``no-store``."""
    for prefix in ("/consent", ""):
        app = make_app(CONSENT_URL_PREFIX=prefix)

        @app.get("/consenting-adults")
        def adults() -> str:
            return "the site's own page"

        client = app.test_client()
        assert "Cache-Control" not in client.get("/consenting-adults").headers, prefix
        assert "Cache-Control" not in client.get("/plain").headers, prefix
        preferences = client.get(f"{prefix}/preferences")
        assert preferences.headers.get_all("Cache-Control") == ["no-store"], prefix
