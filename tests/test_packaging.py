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
import consent, json
app = Flask(__name__)
app.config["SECRET_KEY"] = "s" * 32
Consent(app)
with app.test_request_context("/", headers={"Accept-Language": "de"}):
    html = render_template_string("{{ consent_banner() }}")
client = app.test_client()
js = client.get("/consent/static/consent/consent.js")
print(json.dumps({"html": html, "js": js.status_code, "file": consent.__file__}))
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
        "consent/translations/consent.pot",
        "consent/translations/de/LC_MESSAGES/consent.po",
        "consent/translations/en/LC_MESSAGES/consent.po",
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
    assert "Diese Website verwendet Cookies" in out["html"]
    assert "Wir verwenden Cookies für Analysen" in out["html"]
    assert ">Ablehnen</button>" in out["html"]
    assert out["js"] == 200
