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
        "consent/static/consent/embed.min.js",
        "consent/templates/consent/policy.html",
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


#: What the example site needs, as the demo installs it (the package and its
#: ``receipts`` extra), with their own dependencies.
DEMO_PACKAGES = {
    "babel",
    "blinker",
    "click",
    "flask",
    "flask-consent-banner",
    "itsdangerous",
    "jinja2",
    "markupsafe",
    "publicsuffixlist",
    "sqlalchemy",
    "typing-extensions",
    "werkzeug",
    # Installed with every venv, or by SQLAlchemy on some platforms:
    "greenlet",
    "pip",
    "setuptools",
}

SERVE_EXAMPLE = r"""
import sys
sys.path.insert(0, sys.argv[1])
from examples.news import create_app
app = create_app(instance_path=sys.argv[2])
client = app.test_client()
page = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
accepted = client.post("/consent/accept", headers={"Accept": "application/json"})
assert "Diese Website verwendet Cookies" in page, page
assert accepted.status_code == 200, accepted.status_code
print("ok")
"""


@pytest.mark.slow
def test_make_demo_installs_what_the_example_needs_and_no_test_tools(
    wheel: Path, tmp_path: Path
) -> None:
    plan = subprocess.run(
        ["make", "-n", "demo", f"VENV={tmp_path / 'planned'}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line]
    assert installs, plan
    assert all("[receipts]" in line and "[test]" not in line for line in installs), installs

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *(f"{wheel}[receipts]",),
        ],
        check=True,
    )
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    installed = {line.split("==")[0].lower().replace("_", "-") for line in listed.split()}
    assert installed <= DEMO_PACKAGES, installed - DEMO_PACKAGES
    served = subprocess.run(
        [str(python), "-c", SERVE_EXAMPLE, str(ROOT), str(tmp_path / "instance")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert served.stdout.strip() == "ok", served.stderr
