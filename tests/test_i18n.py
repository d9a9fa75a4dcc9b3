"""Catalogs and locale negotiation."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from werkzeug.datastructures import LanguageAccept

from consent import Consent
from consent.i18n import Catalogs, LocaleInfo, _candidates, load_catalog, shipped_catalog_dir
from tests.conftest import AppFactory, create_app


def test_shipped_catalogs_are_found() -> None:
    catalogs = Catalogs(None, "en")
    assert {"de", "en"} <= catalogs.locales
    assert shipped_catalog_dir().name == "translations"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-AT", "de"),
        ("de-CH,en;q=0.5", "de"),
        ("en;q=0.4,de;q=0.8", "de"),
        ("fr-FR;q=0.9,de;q=0.1", "de"),
        ("xx,yy", "en"),
        ("", "en"),
        ("*", "en"),
        ("de;q=0", "en"),
        ("EN-us", "en"),
        ("i-klingon", "en"),
        ("de-" + "x" * 300, "en"),
    ],
)
def test_accept_language_negotiation(header: str, expected: str) -> None:
    catalogs = Catalogs(["de", "en"], "en")
    accepted = LanguageAccept(
        [
            (v.split(";q=")[0], float(v.split(";q=")[1]) if ";q=" in v else 1.0)
            for v in header.split(",")
            if v
        ]
    )
    assert catalogs.negotiate(accepted) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("de-AT", ["de_Latn_AT", "de_AT", "de_Latn", "de"]),
        ("pt-BR", ["pt_Latn_BR", "pt_BR", "pt_Latn", "pt"]),
        ("zh-TW", ["zh_Hant_TW", "zh_TW", "zh_Hant", "zh"]),
        ("zh-Hant", ["zh_Hant", "zh"]),
        ("zh-CN", ["zh_Hans_CN", "zh_CN", "zh_Hans", "zh"]),
        ("zh", ["zh_Hans", "zh"]),
    ],
)
def test_candidates_follow_region_and_script(tag: str, expected: list[str]) -> None:
    assert _candidates(tag) == expected


def test_match_uses_region_fallback() -> None:
    catalogs = Catalogs(["de", "en", "pt", "pt_BR", "zh_Hans", "zh_Hant"], "en")
    catalogs.locales = frozenset(catalogs.locales | {"pt", "pt_BR", "zh_Hans", "zh_Hant"})
    catalogs._by_key = {loc.lower(): loc for loc in catalogs.locales}
    assert catalogs.match("pt-BR") == "pt_BR"
    assert catalogs.match("pt-PT") == "pt"
    assert catalogs.match("zh-TW") == "zh_Hant"
    assert catalogs.match("zh-HK") == "zh_Hant"
    assert catalogs.match("zh-CN") == "zh_Hans"
    assert catalogs.match("zh") == "zh_Hans"


def test_locale_info() -> None:
    assert LocaleInfo("pt_BR").lang == "pt-BR"
    assert LocaleInfo("de").direction == "ltr"
    assert LocaleInfo("he").direction == "rtl"


def test_locale_selector_wins_over_accept_language(make_app: AppFactory) -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s" * 32
    Consent(app, locale_selector=lambda: "de")
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        from consent import get_locale

        assert get_locale() == "de"


def test_locale_selector_falls_back_when_unmatched() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s" * 32
    Consent().init_app(app, locale_selector=lambda: None)
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        from consent import get_locale

        assert get_locale() == "de"


def test_restricting_locales(make_app: AppFactory) -> None:
    client = make_app(CONSENT_LOCALES=["en"]).test_client()
    html = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "This website uses cookies" in html


def test_default_locale(make_app: AppFactory) -> None:
    client = make_app(CONSENT_DEFAULT_LOCALE="de").test_client()
    html = client.get("/", headers={"Accept-Language": "xx"}).get_data(as_text=True)
    assert "Diese Website verwendet Cookies" in html


def _write_po(
    directory: Path, locale: str, entries: dict[str, str], fuzzy: set[str] = frozenset()
) -> None:  # type: ignore[assignment]
    path = directory / locale / "LC_MESSAGES"
    path.mkdir(parents=True)
    lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for msgid, msgstr in entries.items():
        if msgid in fuzzy:
            lines.append("#, fuzzy")
        lines += [f'msgid "{msgid}"', f'msgstr "{msgstr}"', ""]
    (path / "consent.po").write_text("\n".join(lines), encoding="utf-8")


def test_host_overrides_one_string_without_forking(tmp_path: Path) -> None:
    _write_po(tmp_path, "de", {"Decline": "Nein, danke", "Cookie settings": ""})
    app = create_app(CONSENT_TRANSLATION_DIRS=[str(tmp_path)])
    html = app.test_client().get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert ">Nein, danke</button>" in html
    assert ">Akzeptieren</button>" in html  # everything else still ours
    assert "Cookie-Einstellungen" in html  # an empty override falls through


def test_host_can_add_a_locale(tmp_path: Path) -> None:
    _write_po(tmp_path, "eo", {"This website uses cookies": "Ĉi tiu retejo uzas kuketojn"})
    app = create_app(CONSENT_TRANSLATION_DIRS=[str(tmp_path)])
    html = app.test_client().get("/", headers={"Accept-Language": "eo"}).get_data(as_text=True)
    assert "Ĉi tiu retejo uzas kuketojn" in html
    assert 'lang="eo"' in html
    assert ">Decline</button>" in html  # untranslated: English source


def test_fuzzy_entries_are_not_shown(tmp_path: Path) -> None:
    _write_po(tmp_path, "de", {"Accept": "Vielleicht", "Decline": "Nein"}, fuzzy={"Accept"})
    translations = load_catalog(tmp_path, "de")
    assert translations is not None
    assert translations.gettext("Accept") == "Accept"
    assert translations.gettext("Decline") == "Nein"


def test_broken_placeholder_in_a_catalog_falls_back_to_english(tmp_path: Path) -> None:
    intro = (
        "We use cookies for analytics to improve our website."
        " Read our %(privacy_policy)s for more information."
    )
    _write_po(
        tmp_path,
        "de",
        {intro: "Kaputt %(privacy)s 100 %", "We keep your choice for %(duration)s.": "%(dauer)s"},
    )
    app = create_app(CONSENT_TRANSLATION_DIRS=[str(tmp_path)])
    client = app.test_client()
    response = client.get("/", headers={"Accept-Language": "de"})
    assert response.status_code == 200
    assert 'Read our <a href="/consent/policy">Datenschutzrichtlinie</a>' in response.get_data(
        as_text=True
    )
    prefs = client.get("/consent/preferences", headers={"Accept-Language": "de"})
    assert prefs.status_code == 200
    assert "We keep your choice for 6 Monate." in prefs.get_data(as_text=True)


def test_localized_date_and_duration(make_app: AppFactory) -> None:
    client = make_app().test_client()
    client.post("/consent/accept")
    html = client.get("/consent/preferences", headers={"Accept-Language": "de"}).get_data(
        as_text=True
    )
    assert "Wir speichern Ihre Auswahl für 6 Monate." in html
    assert "Sie haben Ihre Auswahl am " in html
    assert " getroffen." in html


def test_durations_come_from_babel_where_cldr_has_words() -> None:
    from consent.i18n import format_duration, needs_duration_fallback

    catalogs = Catalogs(None, "en")
    assert needs_duration_fallback("de") is False
    assert format_duration(180 * 86400, "de", catalogs.translations("de")) == "6 Monate"
    assert format_duration(365 * 86400, "fr", catalogs.translations("fr")) == "1\xa0an"


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (1, "1 jum"),
        (3, "3 ijiem"),
        (14, "2 ġimgħat"),
        (180, "6 xhur"),
        (365, "1 sena"),
        (4015, "11-il sena"),
    ],
)
def test_maltese_durations_come_from_our_catalog(days: int, expected: str) -> None:
    """CLDR has no Maltese duration words; babel alone would print "6 m"."""
    from consent.i18n import format_duration, needs_duration_fallback

    assert needs_duration_fallback("mt") is True
    catalogs = Catalogs(None, "en")
    assert format_duration(days * 86400, "mt", catalogs.translations("mt")) == expected


def test_maltese_preferences_page_says_six_months(make_app: AppFactory) -> None:
    html = (
        make_app()
        .test_client()
        .get("/consent/preferences", headers={"Accept-Language": "mt"})
        .get_data(as_text=True)
    )
    assert "6 xhur" in html
    assert "6 m." not in html


def test_flask_babel_locale_is_used_automatically() -> None:
    from flask_babel import Babel

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s" * 32
    Babel(app, locale_selector=lambda: "de")
    Consent(app)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        from consent import get_locale

        assert get_locale() == "de"


def test_explicit_selector_wins_over_flask_babel() -> None:
    from flask_babel import Babel

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s" * 32
    Babel(app, locale_selector=lambda: "de")
    Consent(app, locale_selector=lambda: "fr")
    with app.test_request_context("/"):
        from consent import get_locale

        assert get_locale() == "fr"
