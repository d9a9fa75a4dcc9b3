"""Catalogs and locale negotiation.

Catalogs are read from the ``.po`` files translators edit and compiled in
memory, once per process and locale. There is no separate compiled ``.mo``
file that could go stale and shadow a newer ``.po``.
"""

from __future__ import annotations

import gettext
import io
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, cached_property
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

DOMAIN = "consent"

#: What a locale selector may return.
LocaleSelector = Callable[[], "str | Locale | None"]


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def shipped_catalog_dir() -> Path:
    """Where the shipped catalogs are: inside the installed package, else the checkout."""
    packaged = Path(__file__).parent / "translations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parent.parent / "translations"


def available_locales(directory: Path) -> list[str]:
    """Locales with a ``<locale>/LC_MESSAGES/consent.po`` catalog in ``directory``."""
    if not directory.is_dir():
        return []
    return sorted(
        p.name for p in directory.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()
    )


class _Parses:
    """Counts catalog parses, so tests and the benchmark can prove they happen once."""

    count = 0


_lock = threading.Lock()
_cache: dict[tuple[Path, str], tuple[float, gettext.GNUTranslations | None]] = {}


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


def load_catalog(
    directory: Path, locale: str, *, reload: bool = False
) -> gettext.GNUTranslations | None:
    """Parse one ``.po`` file into translations, once per process.

    With ``reload`` (debug mode) a file whose modification time changed is
    parsed again, so a translator sees an edit on the next request. Fuzzy and
    untranslated entries are left out: they fall back to the English source.
    """
    key = (directory, locale)
    path = directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    cached = _cache.get(key)
    if cached is not None and not (reload and cached[0] != _mtime(path)):
        return cached[1]
    with _lock:
        mtime = _mtime(path)
        cached = _cache.get(key)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        translations: gettext.GNUTranslations | None = None
        if mtime >= 0:
            with path.open("rb") as po:
                catalog = read_po(po, locale=locale, domain=DOMAIN)
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            buffer.seek(0)
            translations = gettext.GNUTranslations(buffer)
            _Parses.count += 1
        _cache[key] = (mtime, translations)
        return translations


def parse_count() -> int:
    """How many catalogs this process has parsed so far."""
    return _Parses.count


@cache
def locale_info(locale: str) -> LocaleInfo:
    """One :class:`LocaleInfo` per locale and process (babel's parse is not free)."""
    return LocaleInfo(locale)


@dataclass(frozen=True)
class LocaleInfo:
    """A negotiated locale and what HTML needs to know about it."""

    id: str

    @cached_property
    def babel(self) -> Locale:
        return Locale.parse(self.id)

    @property
    def lang(self) -> str:
        """The BCP 47 tag for ``lang=`` (``pt-BR``, ``zh-Hant``)."""
        return self.id.replace("_", "-")

    @property
    def direction(self) -> str:
        return "rtl" if self.babel.text_direction == "rtl" else "ltr"


class Catalogs:
    """The catalogs one app offers: the shipped ones, overridden by the host's."""

    def __init__(
        self,
        offered: Iterable[str] | None,
        default: str,
        override_dirs: Sequence[str | Path] = (),
        shipped_dir: Path | None = None,
    ) -> None:
        self.shipped_dir = shipped_dir or shipped_catalog_dir()
        self.override_dirs = tuple(Path(d) for d in override_dirs)
        found = set(available_locales(self.shipped_dir))
        for directory in self.override_dirs:
            found.update(available_locales(directory))
        found.add("en")  # the source language needs no catalog
        if offered is not None:
            found &= {str(o) for o in offered}
        self.locales = frozenset(found)
        self._by_key = {_key(loc): loc for loc in self.locales}
        matched = self.match(default)
        if matched is None:
            raise ValueError(
                f"CONSENT_DEFAULT_LOCALE {default!r} is not among the offered locales"
                f" {sorted(self.locales)}"
            )
        self.default = matched
        self._translations: dict[str, gettext.NullTranslations] = {}
        self._negotiated: dict[str, str] = {}

    def translations(self, locale: str, *, reload: bool = False) -> gettext.NullTranslations:
        """Host overrides first, then our catalog, then the English source text.

        ``reload`` re-reads changed ``.po`` files (the app's debug mode).
        """
        if not reload and locale in self._translations:
            return self._translations[locale]
        chain: gettext.NullTranslations = gettext.NullTranslations()
        for loaded in self._catalogs(locale, reload=reload):
            # Each gettext object can only have one fallback chain, and the
            # cached ones are shared between apps: wrap instead of chaining.
            chain = _Layer(loaded, chain)
        self._translations[locale] = chain
        return chain

    def _catalogs(self, locale: str, *, reload: bool = False) -> list[gettext.GNUTranslations]:
        """The catalogs for ``locale`` there are: ours first, then the host's."""
        found = []
        for directory in (self.shipped_dir, *self.override_dirs):
            loaded = load_catalog(directory, locale, reload=reload)
            if loaded is not None:
                found.append(loaded)
        return found

    def translates(self, locale: str, message: str) -> bool:
        """Whether one of the catalogs (ours or the host's) has ``message`` for
        ``locale``; English, the source language, needs none."""
        if locale == "en":
            return True
        return any(message in c._catalog for c in self._catalogs(locale))  # type: ignore[attr-defined]

    def match(self, tag: str | Locale | None) -> str | None:
        """The offered locale that best serves a language tag, or ``None``."""
        if tag is None:
            return None
        for candidate in _candidates(str(tag)):
            found = self._by_key.get(_key(candidate))
            if found is not None:
                return found
        return None

    def negotiate_header(self, header: str) -> str:
        """:meth:`negotiate` for a raw ``Accept-Language``, remembered per distinct header."""
        found = self._negotiated.get(header)
        if found is None:
            found = self.negotiate(parse_accept_header(header, LanguageAccept))
            if len(self._negotiated) >= 2048:
                self._negotiated.clear()
            self._negotiated[header] = found
        return found

    def negotiate(self, accepted: Iterable[tuple[str, float]]) -> str:
        """Pick a locale from ``Accept-Language`` pairs, best quality first."""
        for tag, quality in accepted:
            if quality <= 0 or tag == "*":
                continue
            found = self.match(tag)
            if found is not None:
                return found
        return self.default


class _Layer(gettext.NullTranslations):
    """One catalog over another: a message missing above is looked up below."""

    def __init__(self, top: gettext.GNUTranslations, below: gettext.NullTranslations) -> None:
        super().__init__()
        self._top = top
        self._below = below

    def gettext(self, message: str) -> str:
        if message in self._top._catalog:  # type: ignore[attr-defined]
            return self._top.gettext(message)
        return self._below.gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        if (msgid1, 0) in self._top._catalog:  # type: ignore[attr-defined]
            return self._top.ngettext(msgid1, msgid2, n)
        return self._below.ngettext(msgid1, msgid2, n)

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        if (f"{context}\x04{msgid1}", 0) in self._top._catalog:  # type: ignore[attr-defined]
            return self._top.npgettext(context, msgid1, msgid2, n)
        return self._below.npgettext(context, msgid1, msgid2, n)


#: Units for durations, longest first, in seconds (as babel counts them).
_UNITS = (
    ("year", 31536000),
    ("month", 2592000),
    ("week", 604800),
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
)


@cache
def needs_duration_fallback(locale: str) -> bool:
    """Whether CLDR lacks duration words for ``locale`` (babel then prints "6 m").

    Such locales (Maltese, so far) take the words from our own catalog.
    """
    sample = timedelta(days=180)
    return format_timedelta(sample, locale=locale) == format_timedelta(sample, locale="root")


def format_duration(seconds: int, locale: str, translations: gettext.NullTranslations) -> str:
    """A duration such as "6 Monate", in the visitor's language."""
    if not needs_duration_fallback(locale):
        return format_timedelta(timedelta(seconds=seconds), locale=locale)
    unit, size = next(((u, s) for u, s in _UNITS if seconds / s >= 0.85), _UNITS[-1])
    count = max(1, round(seconds / size))
    num = format_decimal(count, locale=locale)
    if unit == "year":
        text = translations.npgettext("duration", "%(num)s year", "%(num)s years", count)
    elif unit == "month":
        text = translations.npgettext("duration", "%(num)s month", "%(num)s months", count)
    elif unit == "week":
        text = translations.npgettext("duration", "%(num)s week", "%(num)s weeks", count)
    elif unit == "day":
        text = translations.npgettext("duration", "%(num)s day", "%(num)s days", count)
    elif unit == "hour":
        text = translations.npgettext("duration", "%(num)s hour", "%(num)s hours", count)
    else:
        text = translations.npgettext("duration", "%(num)s minute", "%(num)s minutes", count)
    return text % {"num": num}


def _key(tag: str) -> str:
    return tag.replace("-", "_").lower()


def _candidates(tag: str) -> list[str]:
    """Locale ids to try for a tag, most specific first.

    ``de-AT`` → ``de_AT``, ``de``; ``zh-TW`` → ``zh_Hant_TW``, ``zh_Hant``, …;
    ``zh`` → ``zh_Hans`` by its likely script; ``pt-PT`` → ``pt_PT``, ``pt``.
    """
    tag = tag.strip().replace("_", "-")
    if not tag or len(tag) > 35:
        return []
    try:
        locale = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        language = tag.split("-", 1)[0].lower()
        return [language] if language.isalpha() and len(language) <= 8 else []
    language, script, territory = locale.language, locale.script, locale.territory
    if script is None:
        likely = get_global("likely_subtags").get(language)
        if likely:
            parts = str(likely).split("_")
            if len(parts) > 1 and len(parts[1]) == 4:
                script = parts[1]
    candidates = []
    if script and territory:
        candidates.append(f"{language}_{script}_{territory}")
    if territory:
        candidates.append(f"{language}_{territory}")
    if script:
        candidates.append(f"{language}_{script}")
    candidates.append(language)
    return candidates
