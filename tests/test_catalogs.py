"""Translator tooling and the shipped catalogs themselves."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from flask import Flask

from consent import catalogs
from consent.cli import consent_cli
from consent.i18n import (
    available_locales,
    load_catalog,
    needs_duration_fallback,
    shipped_catalog_dir,
)
from consent.texts import BUILTIN_TEXTS
from examples.news import create_app as create_news_app
from tests.conftest import create_app

SHIPPED = shipped_catalog_dir()
EU_AND_MORE = [
    "bg",
    "cs",
    "da",
    "de",
    "el",
    "en",
    "es",
    "et",
    "fi",
    "fr",
    "ga",
    "hr",
    "hu",
    "it",
    "lt",
    "lv",
    "mt",
    "nl",
    "pl",
    "pt",
    "ro",
    "sk",
    "sl",
    "sv",
    "nb",
    "is",
    "tr",
    "uk",
    "ru",
    "ar",
    "he",
    "ja",
    "ko",
    "zh_Hans",
    "zh_Hant",
    "ca",
    "pt_BR",
]


def test_every_required_locale_ships() -> None:
    shipped = set(available_locales(SHIPPED))
    assert set(EU_AND_MORE) <= shipped
    assert len(shipped) >= 37


def test_every_shipped_catalog_is_complete() -> None:
    assert [str(p) for p in catalogs.check(SHIPPED)] == []


def test_template_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    assert catalogs.write_template(tmp_path) is True
    fresh = catalogs._read_template(tmp_path)
    shipped = catalogs._read_template(SHIPPED)
    assert {m.id for m in fresh if m.id} == {m.id for m in shipped if m.id}, (
        "translations/consent.pot is stale: run 'make translations-extract'"
    )


def test_extract_leaves_an_unchanged_template_alone(tmp_path: Path) -> None:
    catalogs.write_template(tmp_path)
    before = (tmp_path / "consent.pot").read_bytes()
    assert catalogs.write_template(tmp_path) is False
    assert (tmp_path / "consent.pot").read_bytes() == before


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(SHIPPED / "consent.pot", tmp_path / "consent.pot")
    shutil.copytree(SHIPPED / "de", tmp_path / "de")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_check_reports_each_problem_with_file_and_line(workdir: Path) -> None:
    po = catalogs.catalog_path(workdir, "de")
    _edit(po, 'msgstr "Akzeptieren"', 'msgstr ""')
    _edit(po, 'msgid "Decline"', '#, fuzzy\nmsgid "Decline"')
    _edit(po, "für %(duration)s.", "für %(dauer)s.")
    _edit(
        po,
        'msgid "Close"\nmsgstr "Schließen"',
        'msgid "Close"\nmsgstr "Schließen"\n\nmsgid "Gone"\nmsgstr "Weg"',
    )
    problems = [str(p) for p in catalogs.check(workdir, ["de"])]
    accept_line = _line_of(po, 'msgid "Accept"')
    decline_line = _line_of(po, 'msgid "Decline"')
    assert f"{po}:{accept_line}: missing translation of 'Accept'" in problems
    assert any(p.startswith(f"{po}:{decline_line}: fuzzy") for p in problems)
    assert any(
        "placeholders of 'We keep your choice for %(duration)s.' must be exactly %(duration)s;"
        " found %(dauer)s" in p
        for p in problems
    )
    assert any("'Gone' is not in the template" in p for p in problems)
    assert len(problems) == 4


def test_duration_words_are_required_only_where_cldr_lacks_them(workdir: Path) -> None:
    shutil.copytree(SHIPPED / "mt", workdir / "mt")
    # German leaves them empty (babel has German words) and passes.
    assert catalogs.check(workdir, ["de"]) == []
    po = catalogs.catalog_path(workdir, "mt")
    _edit(po, 'msgstr[1] "%(num)s xhur"', 'msgstr[1] ""')
    problems = [p.message for p in catalogs.check(workdir, ["mt"])]
    assert problems == ["missing translation of ('%(num)s month', '%(num)s months')"]


def test_check_reports_a_stray_percent(workdir: Path) -> None:
    po = catalogs.catalog_path(workdir, "de")
    _edit(po, "für %(duration)s.", "für %(duration)s zu 100 %.")
    problems = [str(p) for p in catalogs.check(workdir, ["de"])]
    assert len(problems) == 1
    assert "broken '%'" in problems[0]


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('msgstr "Akzeptieren"', 'msgstr "Akzeptieren', 'msgstr "Akzeptieren'),
        ('msgstr "Akzeptieren"', "msgstr Akzeptieren", "msgstr Akzeptieren"),
        ('msgstr "Akzeptieren"', 'msgstr "Akzeptieren"\nthis is not po', "this is not po"),
        ('msgid "Accept"', 'msgid "Accept"\nmsgid "Again"', 'msgid "Accept"'),
    ],
)
def test_check_reports_syntax_errors_with_the_line(
    workdir: Path, old: str, new: str, needle: str
) -> None:
    po = catalogs.catalog_path(workdir, "de")
    _edit(po, old, new)
    problems = catalogs.check(workdir, ["de"])
    assert len(problems) == 1
    assert "syntax error" in problems[0].message
    assert problems[0].line == _line_of(po, needle)


def test_check_reports_an_out_of_date_catalog(workdir: Path) -> None:
    _edit(
        workdir / "consent.pot",
        'msgid "Accept"\nmsgstr ""',
        'msgid "Accept"\nmsgstr ""\n\nmsgid "Brand new"\nmsgstr ""',
    )
    problems = [str(p) for p in catalogs.check(workdir, ["de"])]
    assert problems == [
        f"{catalogs.catalog_path(workdir, 'de')}:0: entry 'Brand new' is missing:"
        " the catalog is out of date, run update"
    ]


def test_update_then_translate_then_check(workdir: Path) -> None:
    _edit(
        workdir / "consent.pot",
        'msgid "Accept"\nmsgstr ""',
        'msgid "Accept"\nmsgstr ""\n\nmsgid "Brand new"\nmsgstr ""',
    )
    assert catalogs.update(workdir, ["de"]) == ["de"]
    problems = [p.message for p in catalogs.check(workdir, ["de"])]
    assert problems == ["missing translation of 'Brand new'"]
    po = catalogs.catalog_path(workdir, "de")
    _edit(po, 'msgid "Brand new"\nmsgstr ""', 'msgid "Brand new"\nmsgstr "Brandneu"')
    assert catalogs.check(workdir, ["de"]) == []


def test_init_a_new_language(workdir: Path) -> None:
    path = catalogs.init(workdir, "eo")
    assert path == catalogs.catalog_path(workdir, "eo")
    problems = catalogs.check(workdir, ["eo"])
    template = catalogs._read_template(workdir)
    required = [
        m for m in template if m.id and (m.context != "duration" or needs_duration_fallback("eo"))
    ]
    assert len(problems) == len(required) > 30
    assert all(p.message.startswith("missing translation") for p in problems)
    with pytest.raises(FileExistsError):
        catalogs.init(workdir, "eo")
    with pytest.raises(ValueError, match="not a locale"):
        catalogs.init(workdir, "xx_NOPE")


def test_cli_check_exit_codes(workdir: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(consent_cli, ["translations", "check", "--dir", str(workdir)])
    assert ok.exit_code == 0, ok.output
    assert "all catalogs complete" in ok.output
    _edit(catalogs.catalog_path(workdir, "de"), 'msgstr "Akzeptieren"', 'msgstr ""')
    bad = runner.invoke(consent_cli, ["translations", "check", "--dir", str(workdir)])
    assert bad.exit_code == 1
    assert "de/LC_MESSAGES/consent.po:" in bad.output
    assert "missing translation of 'Accept'" in bad.output


def test_cli_init_and_update(workdir: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(consent_cli, ["translations", "init", "--dir", str(workdir), "sq"])
    assert made.exit_code == 0, made.output
    assert (workdir / "sq" / "LC_MESSAGES" / "consent.po").is_file()
    again = runner.invoke(consent_cli, ["translations", "init", "--dir", str(workdir), "sq"])
    assert again.exit_code != 0
    assert "exists already" in again.output
    updated = runner.invoke(consent_cli, ["translations", "update", "--dir", str(workdir)])
    assert updated.exit_code == 0
    assert "updated" in updated.output
    assert "sq" in updated.output


def test_python_dash_m_and_flask_cli_run_from_a_checkout() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    module = subprocess.run(
        [sys.executable, "-m", "consent", "translations", "check"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert module.returncode == 0, module.stderr
    flask = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "examples.news",
            "consent",
            "translations",
            "check",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent.parent,
    )
    assert flask.returncode == 0, flask.stderr
    assert "all catalogs complete" in flask.stdout


def _banner_lang(app: Flask, lang: str) -> str:
    return app.test_client().get("/", headers={"Accept-Language": lang}).get_data(as_text=True)


def test_an_edit_shows_on_the_next_start(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED / "de", tmp_path / "de")
    po = catalogs.catalog_path(tmp_path, "de")
    app = create_app(CONSENT_TRANSLATION_DIRS=[str(tmp_path)])
    assert ">Ablehnen</button>" in _banner_lang(app, "de")
    _edit(po, 'msgstr "Ablehnen"', 'msgstr "Nein danke"')
    bump = time.time() + 5
    os.utime(po, (bump, bump))
    # Parsed once per process: a running production app keeps what it read...
    assert ">Ablehnen</button>" in _banner_lang(app, "de")
    # ...while in debug mode the edit shows on the next request.
    debug = create_app(CONSENT_TRANSLATION_DIRS=[str(tmp_path)], DEBUG=True)
    debug.debug = True
    assert ">Nein danke</button>" in _banner_lang(debug, "de")


@pytest.mark.parametrize("locale", sorted(set(EU_AND_MORE) - {"en"}))
def test_every_locale_renders_its_own_banner(locale: str) -> None:
    app = create_app()
    english = _banner_lang(app, "en")
    html = _banner_lang(app, locale.replace("_", "-"))
    assert html != english
    assert f'lang="{locale.replace("_", "-")}"' in html
    assert '<a href="/consent/policy">' in html
    assert "This website uses cookies" not in html
    expected_dir = "rtl" if locale in {"ar", "he"} else "ltr"
    assert f'dir="{expected_dir}"' in html


def test_check_reports_site_texts_an_offered_locale_lacks(tmp_path: Path) -> None:
    app = create_app(
        CONSENT_LOCALES=["de", "en", "fr"],
        CONSENT_CATEGORIES={
            "analytics": {},
            "media": {
                "label": {"en": "Media", "de": "Medien"},
                "description": "Videos from other sites.",
                "cookies": [
                    {"name": "_v", "provider": {"en": "Us"}, "purpose": "Plays videos"},
                    {"name": "_w", "provider": "Video Co", "lifetime": {"en": "a while"}},
                ],
            },
        },
    )
    result = app.test_cli_runner().invoke(args=["consent", "translations", "check"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[-1] == "5 problem(s)"
    assert lines[:-1] == [
        "category 'media' label: no text for fr: add them to the mapping",
        "category 'media' description: no translation of 'Videos from other sites.' for de,"
        " fr: add it to a catalog in CONSENT_TRANSLATION_DIRS",
        "category 'media', cookie '_v' purpose: no translation of 'Plays videos' for de, fr:"
        " add it to a catalog in CONSENT_TRANSLATION_DIRS",
        "category 'media', cookie '_v' provider: no text for de, fr: add them to the mapping",
        "category 'media', cookie '_w' lifetime: no text for de, fr: add them to the mapping",
    ]


def test_a_site_text_in_its_own_catalog_counts(tmp_path: Path) -> None:
    catalog = tmp_path / "fr" / "LC_MESSAGES" / "consent.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text('msgid "Plays videos"\nmsgstr "Lit les vidéos"\n', encoding="utf-8")
    app = create_app(
        CONSENT_LOCALES=["en", "fr"],
        CONSENT_TRANSLATION_DIRS=[str(tmp_path)],
        CONSENT_CATEGORIES={
            "analytics": {"cookies": [{"name": "_v", "purpose": "Plays videos"}]},
        },
    )
    result = app.test_cli_runner().invoke(args=["consent", "translations", "check"])
    assert result.exit_code == 0, result.output
    assert "every site text translated" in result.output


def test_the_example_site_has_every_text_in_every_locale_it_offers(tmp_path: Path) -> None:
    app = create_news_app({"SECRET_KEY": "x" * 32}, instance_path=str(tmp_path))
    assert len(app.extensions["consent"].catalogs.locales) == 37
    result = app.test_cli_runner().invoke(args=["consent", "translations", "check"])
    assert result.exit_code == 0, result.output
    assert "every site text translated" in result.output


def test_the_german_category_descriptions_are_whole_sentences() -> None:
    """The reported defect: "Speichern Einstellungen wie Ihre Sprache oder Region." (no subject)."""
    german = catalogs_translations("de")
    for _label, description in BUILTIN_TEXTS.values():
        text = german.gettext(description)
        assert text != description
        assert text.startswith("Diese Cookies "), text
    assert german.gettext(BUILTIN_TEXTS["preferences"][1]) == (
        "Diese Cookies speichern Einstellungen wie Ihre Sprache oder Ihre Region."
    )


def test_no_translation_names_a_placeholder_twice() -> None:
    """One mention each: a sentence that names the provider twice is what the review
    found in 20 catalogs (babel's check compares which placeholders, not how often)."""
    repeated = []
    for locale in available_locales(shipped_catalog_dir()):
        with catalogs.catalog_path(shipped_catalog_dir(), locale).open("rb") as f:
            catalog = read_po(f, locale=locale)
        for message in catalog:
            strings = message.string if isinstance(message.string, tuple) else [message.string]
            for text in strings:
                names = re.findall(r"%\((\w+)\)", text or "")
                if len(names) != len(set(names)):
                    repeated.append((locale, message.id))
    assert repeated == []


def catalogs_translations(locale: str) -> Any:
    loaded = load_catalog(shipped_catalog_dir(), locale)
    assert loaded is not None
    return loaded
