"""Translator tooling: extract the template, update, create and check catalogs.

These wrap babel's own reader and writer so a translator needs one command
per task and no knowledge of the code. ``check`` is also run by the test
suite on every shipped catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import PoFileError, read_po, write_po

from .i18n import DOMAIN, Catalogs, available_locales, needs_duration_fallback
from .policy import Policy, Text

PACKAGE_DIR = Path(__file__).parent
PROJECT = "flask-consent-banner"
COPYRIGHT = "The flask-consent-banner developers"
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
_WIDTH = 76
# A keyword line or a continuation line, with one properly quoted string.
_PO_LINE = re.compile(
    r'^(?:(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+)?"(?:[^"\\]|\\.)*"\s*$'
)


def template_path(directory: Path) -> Path:
    return directory / f"{DOMAIN}.pot"


def catalog_path(directory: Path, locale: str) -> Path:
    return directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(source: Path = PACKAGE_DIR) -> Catalog:
    """Every translatable string in the package's Python code and templates."""
    catalog = Catalog(project=PROJECT, copyright_holder=COPYRIGHT, charset="utf-8")
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    for filename, lineno, message, comments, context in extract_from_dir(
        str(source), method_map, keywords=keywords, comment_tags=("TRANSLATORS:",)
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _ids(catalog: Catalog) -> set[object]:
    return {m.id for m in catalog if m.id}


def write_template(directory: Path, source: Path = PACKAGE_DIR) -> bool:
    """Write ``consent.pot``; return whether it changed (an unchanged one is left alone)."""
    fresh = extract(source)
    path = template_path(directory)
    if path.exists():
        with path.open("rb") as f:
            if _ids(read_po(f)) == _ids(fresh):
                return False
    directory.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, fresh, width=_WIDTH, no_location=True, sort_output=True)
    return True


def _read_template(directory: Path) -> Catalog:
    with template_path(directory).open("rb") as f:
        return read_po(f)


def update(directory: Path, locales: Iterable[str] = ()) -> list[str]:
    """Bring catalogs in line with the template; changed entries are marked fuzzy."""
    template = _read_template(directory)
    updated = []
    for locale in list(locales) or available_locales(directory):
        path = catalog_path(directory, locale)
        with path.open("rb") as f:
            catalog = read_po(f, locale=locale)
        catalog.update(template)
        with path.open("wb") as f:
            write_po(f, catalog, width=_WIDTH, no_location=True, ignore_obsolete=True)
        updated.append(locale)
    return updated


def init(directory: Path, locale: str) -> Path:
    """Start a catalog for a new language from the template."""
    try:
        parsed = Locale.parse(locale)
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(f"{locale!r} is not a locale babel knows: {exc}") from None
    path = catalog_path(directory, locale)
    if path.exists():
        raise FileExistsError(f"{path} exists already; use 'update' instead")
    template = _read_template(directory)
    catalog = Catalog(
        locale=parsed,
        domain=DOMAIN,
        project=PROJECT,
        copyright_holder=COPYRIGHT,
        charset="utf-8",
        revision_date=datetime.now(UTC),
        language_team=parsed.english_name,
        fuzzy=False,
    )
    for message in template:
        if message.id:
            catalog.add(message.id, None, flags=message.flags, context=message.context)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=_WIDTH, no_location=True)
    return path


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a catalog, with where it is."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _placeholders(text: str) -> list[str]:
    return sorted(set(_PLACEHOLDER.findall(text)))


def _formats(text: str, names: Iterable[str]) -> bool:
    try:
        text % dict.fromkeys(names, "x")
    except (KeyError, ValueError, TypeError):
        return False
    return True


def check(directory: Path, locales: Iterable[str] = ()) -> list[Problem]:
    """Everything that would make a catalog show wrong or English text."""
    problems: list[Problem] = []
    template = _read_template(directory)
    expected = {m.id: m for m in template if m.id}
    for locale in list(locales) or available_locales(directory):
        problems.extend(_check_one(catalog_path(directory, locale), locale, expected))
    return problems


def _malformed_lines(path: Path) -> Iterator[Problem]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        yield Problem(path, 0, f"not UTF-8: {exc}")
        return
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not _PO_LINE.match(stripped):
            yield Problem(path, number, f"syntax error: not a quoted PO string: {stripped[:60]}")


def _check_one(path: Path, locale: str, expected: Mapping[Any, Message]) -> Iterator[Problem]:
    if not path.is_file():
        yield Problem(path, 0, "no such catalog")
        return
    # babel's reader forgives a missing quote by dropping a character, so
    # check each line's shape first and point at the exact line.
    bad_lines = list(_malformed_lines(path))
    if bad_lines:
        yield from bad_lines
        return
    try:
        with path.open("rb") as f:
            catalog = read_po(f, locale=locale, abort_invalid=True)
    except PoFileError as exc:
        yield Problem(path, exc.lineno + 1, f"syntax error: {exc.args[0].rsplit(' on ', 1)[0]}")
        return
    except (UnknownLocaleError, ValueError) as exc:
        yield Problem(path, 0, f"cannot read: {exc}")
        return
    seen = set()
    for message in catalog:
        if not message.id:
            continue
        line = message.lineno or 0
        seen.add(message.id)
        if message.id not in expected:
            yield Problem(path, line, f"entry {message.id!r} is not in the template: run update")
            continue
        raw = message.string
        strings = [t or "" for t in (raw if isinstance(raw, tuple | list) else [raw])]
        if message.fuzzy:
            yield Problem(
                path,
                line,
                f"fuzzy translation of {message.id!r}: review it, then remove '#, fuzzy'",
            )
        optional = message.context == "duration" and not needs_duration_fallback(locale)
        if optional and not any(strings):
            continue  # only shown where CLDR has no duration words
        if not all(s and s.strip() for s in strings):
            yield Problem(path, line, f"missing translation of {message.id!r}")
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        names = _placeholders(source)
        for text in strings:
            if _placeholders(text) != names:
                yield Problem(
                    path,
                    line,
                    f"placeholders of {message.id!r} must be exactly"
                    f" {', '.join(f'%({n})s' for n in names) or 'none'};"
                    f" found {', '.join(f'%({n})s' for n in _placeholders(text)) or 'none'}",
                )
            elif names and not _formats(text, names):
                yield Problem(
                    path,
                    line,
                    f"broken '%' in translation of {message.id!r} (write %% for a percent sign)",
                )
    for msgid in expected:
        if msgid not in seen:
            yield Problem(
                path, 0, f"entry {msgid!r} is missing: the catalog is out of date, run update"
            )


@dataclass(frozen=True)
class SiteTextProblem:
    """A text of the site's own configuration that an offered locale lacks."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def check_site_texts(policy: Policy, catalogs: Catalogs) -> list[SiteTextProblem]:
    """Every label, description, cookie purpose and text lifetime the site declares
    that some offered locale would show in another language.

    A string is English source text and needs a translation in one of the
    catalogs (``CONSENT_TRANSLATION_DIRS``); a mapping needs the locale or its
    language. Providers are names: only a mapping of them is checked.
    """
    problems = []
    for category in policy.categories:
        owner = f"category {category.id!r}"
        texts: list[tuple[str, Text | None]] = [
            (f"{owner} label", category.label),
            (f"{owner} description", category.description),
        ]
        for cookie in category.cookies:
            where = f"{owner}, cookie {cookie.name!r}"
            texts.append((f"{where} purpose", cookie.purpose))
            if not isinstance(cookie.provider, str):
                texts.append((f"{where} provider", cookie.provider))
            if not isinstance(cookie.lifetime, int):
                texts.append((f"{where} lifetime", cookie.lifetime))
        for where, text in texts:
            missing = [
                loc for loc in sorted(catalogs.locales) if not _has_text(text, loc, catalogs)
            ]
            if missing:
                problems.append(SiteTextProblem(where, _missing_message(text, missing)))
    return problems


def _has_text(text: Text | None, locale: str, catalogs: Catalogs) -> bool:
    if text is None:
        return True
    if isinstance(text, str):
        return catalogs.translates(locale, text)
    return locale in text or locale.split("_", 1)[0] in text


def _missing_message(text: Text | None, missing: list[str]) -> str:
    locales = ", ".join(missing)
    if isinstance(text, str):
        return (
            f"no translation of {text!r} for {locales}: add it to a catalog in"
            " CONSENT_TRANSLATION_DIRS"
        )
    return f"no text for {locales}: add them to the mapping"
