"""The built wheel carries everything it needs: templates, static files, catalogs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

RENDER = r"""
from flask import Flask, render_template_string
from consent import Consent
from consent.i18n import available_locales, shipped_catalog_dir
import consent, json
app = Flask(__name__)
app.config["SECRET_KEY"] = "s" * 32
Consent(app)
banners = {}
for locale in available_locales(shipped_catalog_dir()):
    tag = locale.replace("_", "-")
    with app.test_request_context("/", headers={"Accept-Language": tag}):
        banners[locale] = render_template_string("{{ consent_banner() }}")
client = app.test_client()
js = client.get("/consent/static/consent/consent.min.js")
print(json.dumps({
    "banners": banners, "js": js.status_code, "file": consent.__file__,
    "catalogs": str(shipped_catalog_dir()),
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
    )
    return next(out.glob("*.whl"))


@pytest.mark.slow
def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "consent/__init__.py",
        "consent/py.typed",
        "consent/templates/consent/banner.html",
        "consent/templates/consent/preferences.html",
        "consent/templates/consent/settings.html",
        "consent/static/consent/consent.js",
        "consent/static/consent/consent.css",
        "consent/static/consent/consent.min.js",
        "consent/static/consent/consent.min.css",
        "consent/static/consent/settings.min.css",
        "consent/static/consent/gcm.min.js",
        "consent/translations/consent.pot",
        "consent/translations/de/LC_MESSAGES/consent.po",
        "consent/translations/en/LC_MESSAGES/consent.po",
        "consent/translations/zh_Hant/LC_MESSAGES/consent.po",
        "consent/translations/ar/LC_MESSAGES/consent.po",
    ):
        assert required in names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)


@pytest.mark.slow
def test_installed_wheel_renders_the_german_banner(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        check=True,
    )
    result = subprocess.run(
        [str(python), "-c", RENDER], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    import json

    out = json.loads(result.stdout)
    assert str(venv) in out["file"]
    assert out["catalogs"].startswith(str(venv))
    german = out["banners"]["de"]
    assert "Diese Website verwendet Cookies" in german
    assert "Wir verwenden Cookies für Analysen" in german
    assert ">Ablehnen</button>" in german
    assert out["js"] == 200
    # Every shipped locale renders from the wheel, in its own words.
    assert len(out["banners"]) >= 37
    english = out["banners"]["en"]
    for locale, html in out["banners"].items():
        assert f'lang="{locale.replace("_", "-")}"' in html, locale
        assert '<a href="/consent/policy">' in html, locale
        if locale != "en":
            assert html != english, locale
            assert "This website uses cookies" not in html, locale
