"""The consent policy: which categories exist and which cookies each owns."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError

NECESSARY = "necessary"

#: Categories whose label and description ship translated.
BUILTIN_CATEGORIES = frozenset({NECESSARY, "analytics", "marketing", "preferences"})

_ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

#: A label or description: one string, or a mapping of locale to string.
Text = str | Mapping[str, str]


@dataclass(frozen=True)
class Category:
    """One purpose a visitor can allow or refuse."""

    id: str
    label: Text | None = None
    description: Text | None = None
    cookies: tuple[str, ...] = ()

    @property
    def optional(self) -> bool:
        return self.id != NECESSARY

    def owns_cookie(self, name: str) -> bool:
        """Whether a cookie name matches one of this category's glob patterns."""
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.cookies)


@dataclass(frozen=True)
class Policy:
    """The categories and revision a visitor's choice is made against."""

    revision: str
    categories: tuple[Category, ...]

    @property
    def optional(self) -> tuple[Category, ...]:
        return tuple(c for c in self.categories if c.optional)

    @property
    def optional_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.optional)

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
                patterns.extend(p for p in category.cookies if p not in patterns)
        return patterns


def _text(value: Any, what: str) -> Text | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return dict(value)
    raise ConfigurationError(f"{what} must be a string or a mapping of locale to string")


def build_policy(categories: Any, revision: Any) -> Policy:
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

    built = [Category(NECESSARY)]
    for cid, options in items:
        if not isinstance(cid, str) or not _ID_RE.match(cid):
            raise ConfigurationError(
                f"category id {cid!r} must be lowercase letters, digits, '-' or '_'"
                " (at most 32 characters, starting with a letter)"
            )
        if cid == NECESSARY:
            raise ConfigurationError(
                "'necessary' is always on; do not list it in CONSENT_CATEGORIES"
            )
        if any(c.id == cid for c in built):
            raise ConfigurationError(f"category {cid!r} is listed twice")
        if options is None:
            options = {}
        if not isinstance(options, Mapping):
            raise ConfigurationError(f"options of category {cid!r} must be a mapping")
        unknown = set(options) - {"label", "description", "cookies"}
        if unknown:
            raise ConfigurationError(
                f"category {cid!r} has unknown option(s) {sorted(unknown)};"
                " use 'label', 'description' and 'cookies'"
            )
        label = _text(options.get("label"), f"label of category {cid!r}")
        description = _text(options.get("description"), f"description of category {cid!r}")
        if cid not in BUILTIN_CATEGORIES and label is None:
            raise ConfigurationError(
                f"custom category {cid!r} needs a 'label' (a string or a mapping of"
                " locale to string); only necessary, analytics, marketing and"
                " preferences ship translated labels"
            )
        cookies = options.get("cookies", ())
        if isinstance(cookies, str) or not all(isinstance(p, str) for p in cookies):
            raise ConfigurationError(f"'cookies' of category {cid!r} must be a list of patterns")
        built.append(Category(cid, label, description, tuple(cookies)))

    if not isinstance(revision, str | int) or isinstance(revision, bool) or str(revision) == "":
        raise ConfigurationError("CONSENT_REVISION must be a non-empty string or an integer")
    return Policy(str(revision), tuple(built))
