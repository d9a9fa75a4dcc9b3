"""The consent policy: which categories exist, which cookies each owns, and
how each maps onto outside signals (Global Privacy Control, Google Consent Mode)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

from .errors import ConfigurationError

NECESSARY = "necessary"

#: Categories whose label and description ship translated.
BUILTIN_CATEGORIES = frozenset({NECESSARY, "analytics", "marketing", "preferences"})

_ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

#: A label or description: one string, or a mapping of locale to string.
Text = str | Mapping[str, str]

#: Google Consent Mode v2 consent types.
GOOGLE_CONSENT_TYPES = frozenset(
    {
        "ad_storage",
        "ad_user_data",
        "ad_personalization",
        "analytics_storage",
        "functionality_storage",
        "personalization_storage",
        "security_storage",
    }
)

#: What each built-in category grants in Google Consent Mode.
DEFAULT_GOOGLE_CONSENT: Mapping[str, tuple[str, ...]] = {
    "analytics": ("analytics_storage",),
    "marketing": ("ad_storage", "ad_user_data", "ad_personalization"),
    "preferences": ("functionality_storage", "personalization_storage"),
}

#: Categories a Global Privacy Control signal opts out of (sale and sharing).
DEFAULT_GPC_CATEGORIES = frozenset({"marketing"})

_OPTIONS = frozenset({"label", "description", "cookies", "gpc", "google_consent"})
_COOKIE_FIELDS = frozenset({"name", "provider", "purpose", "lifetime"})


@dataclass(frozen=True)
class CookieDeclaration:
    """One cookie (or glob pattern of cookies) as the privacy page lists it.

    ``lifetime`` is seconds (``0`` for a session cookie), a free text, or
    ``None`` when not stated; ``provider`` ``None`` means the site itself.
    """

    name: str
    provider: Text | None = None
    purpose: Text | None = None
    lifetime: int | Text | None = None


@dataclass(frozen=True)
class Category:
    """One purpose a visitor can allow or refuse."""

    id: str
    label: Text | None = None
    description: Text | None = None
    cookies: tuple[CookieDeclaration, ...] = ()
    #: Refused whenever the visitor's browser sends a Global Privacy Control signal.
    gpc: bool = False
    #: Google Consent Mode types this category grants.
    google_consent: tuple[str, ...] = ()

    @property
    def optional(self) -> bool:
        return self.id != NECESSARY

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cookies)

    def owns_cookie(self, name: str) -> bool:
        """Whether a cookie name matches one of this category's glob patterns."""
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.patterns)


@dataclass(frozen=True)
class Policy:
    """The categories and revision a visitor's choice is made against."""

    revision: str
    categories: tuple[Category, ...]

    @cached_property
    def optional(self) -> tuple[Category, ...]:
        return tuple(c for c in self.categories if c.optional)

    @cached_property
    def optional_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.optional)

    @cached_property
    def gpc_ids(self) -> frozenset[str]:
        """Categories a Global Privacy Control signal refuses."""
        return frozenset(c.id for c in self.optional if c.gpc)

    def get(self, category_id: str) -> Category | None:
        for category in self.categories:
            if category.id == category_id:
                return category
        return None

    def cookie_patterns(self, category_ids: Iterable[str]) -> list[str]:
        """The cookie patterns owned by the given categories, in order, once each."""
        wanted = set(category_ids)
        patterns: list[str] = []
        for category in self.optional:
            if category.id in wanted:
                patterns.extend(p for p in category.patterns if p not in patterns)
        return patterns


def _text(value: Any, what: str) -> Text | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return dict(value)
    raise ConfigurationError(f"{what} must be a string or a mapping of locale to string")


def _lifetime(value: Any, what: str) -> int | Text | None:
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, bool):
        raise ConfigurationError(f"{what} must be seconds, a timedelta or a text")
    if isinstance(value, int | float):
        if value < 0:
            raise ConfigurationError(f"{what} must not be negative")
        return int(value)
    return _text(value, what)


def build_cookies(cookies: Any, owner: str) -> tuple[CookieDeclaration, ...]:
    """Declarations from patterns or mappings (name, provider, purpose, lifetime)."""
    if isinstance(cookies, str | Mapping) or not isinstance(cookies, Iterable):
        raise ConfigurationError(f"'cookies' of {owner} must be a list of patterns or mappings")
    built = []
    for entry in cookies:
        if isinstance(entry, str):
            built.append(CookieDeclaration(entry))
            continue
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise ConfigurationError(
                f"each cookie of {owner} must be a pattern or a mapping with a 'name'"
            )
        unknown = set(entry) - _COOKIE_FIELDS
        if unknown:
            raise ConfigurationError(
                f"cookie {entry['name']!r} of {owner} has unknown field(s) {sorted(unknown)};"
                f" use {sorted(_COOKIE_FIELDS)}"
            )
        where = f"cookie {entry['name']!r} of {owner}"
        built.append(
            CookieDeclaration(
                entry["name"],
                provider=_text(entry.get("provider"), f"'provider' of {where}"),
                purpose=_text(entry.get("purpose"), f"'purpose' of {where}"),
                lifetime=_lifetime(entry.get("lifetime"), f"'lifetime' of {where}"),
            )
        )
    return tuple(built)


def _google(value: Any, cid: str) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_GOOGLE_CONSENT.get(cid, ())
    if isinstance(value, str) or not all(v in GOOGLE_CONSENT_TYPES for v in value):
        raise ConfigurationError(
            f"'google_consent' of category {cid!r} must be a list of {sorted(GOOGLE_CONSENT_TYPES)}"
        )
    return tuple(value)


def build_policy(
    categories: Any, revision: Any, necessary_cookies: Iterable[CookieDeclaration] = ()
) -> Policy:
    """Validate ``CONSENT_CATEGORIES`` and ``CONSENT_REVISION`` into a :class:`Policy`.

    Mistakes raise :class:`ConfigurationError` at start-up, with a message that
    says how to fix them, rather than surfacing on a visitor's request.
    """
    if isinstance(categories, str):
        raise ConfigurationError("CONSENT_CATEGORIES must be a mapping or a list, not a string")
    if isinstance(categories, Mapping):
        items = list(categories.items())
    elif isinstance(categories, Iterable):
        items = [(cid, {}) for cid in categories]
    else:
        raise ConfigurationError("CONSENT_CATEGORIES must be a mapping or a list of ids")

    built = [Category(NECESSARY, cookies=tuple(necessary_cookies))]
    for cid, options in items:
        if not isinstance(cid, str) or not _ID_RE.match(cid):
            raise ConfigurationError(
                f"category id {cid!r} must be lowercase letters, digits, '-' or '_'"
                " (at most 32 characters, starting with a letter)"
            )
        if cid == NECESSARY:
            raise ConfigurationError(
                "'necessary' is always on; do not list it in CONSENT_CATEGORIES"
                " (declare its cookies in CONSENT_NECESSARY_COOKIES)"
            )
        if any(c.id == cid for c in built):
            raise ConfigurationError(f"category {cid!r} is listed twice")
        if options is None:
            options = {}
        if not isinstance(options, Mapping):
            raise ConfigurationError(f"options of category {cid!r} must be a mapping")
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ConfigurationError(
                f"category {cid!r} has unknown option(s) {sorted(unknown)};"
                f" use {', '.join(repr(o) for o in sorted(_OPTIONS))}"
            )
        label = _text(options.get("label"), f"label of category {cid!r}")
        description = _text(options.get("description"), f"description of category {cid!r}")
        if cid not in BUILTIN_CATEGORIES and label is None:
            raise ConfigurationError(
                f"custom category {cid!r} needs a 'label' (a string or a mapping of"
                " locale to string); only necessary, analytics, marketing and"
                " preferences ship translated labels"
            )
        gpc = options.get("gpc", cid in DEFAULT_GPC_CATEGORIES)
        if not isinstance(gpc, bool):
            raise ConfigurationError(f"'gpc' of category {cid!r} must be True or False")
        built.append(
            Category(
                cid,
                label,
                description,
                build_cookies(options.get("cookies", ()), f"category {cid!r}"),
                gpc,
                _google(options.get("google_consent"), cid),
            )
        )

    if not isinstance(revision, str | int) or isinstance(revision, bool) or str(revision) == "":
        raise ConfigurationError("CONSENT_REVISION must be a non-empty string or an integer")
    return Policy(str(revision), tuple(built))
