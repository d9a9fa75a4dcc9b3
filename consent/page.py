"""One request's view of consent, gathered once and shared by every helper.

A page calls several helpers: the Consent Mode head, gated scripts, the
settings link and the banner. They all need the same state, locale and
script root, and their markup depends on nothing else (the current path is
filled in afterwards). So the markup is rendered once per process for each
combination and every later page is a few dictionary lookups: the extension
must not make a site's pages measurably slower.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any
from urllib.parse import urlencode

from flask import Request, g
from markupsafe import Markup, escape

from .config import ConsentConfig, get_config, real_app, real_request
from .i18n import LocaleInfo
from .state import PAGE_G_KEY, ConsentState, kept_state

#: Stands in for the current path in kept markup; nothing else can produce it.
NEXT_MARK = "\x1bconsent-next\x1b"
#: Distinct (locale, state, root) combinations kept; beyond it the cache starts over.
MAX_COMBINATIONS = 1024
#: Fragments kept per combination (gated scripts are keyed by their arguments).
MAX_FRAGMENTS = 64


def current_path(req: Request | None = None, script_root: str | None = None) -> str:
    """The path and query of this request, to come back to after a choice."""
    req = req or real_request()
    path = (req.script_root if script_root is None else script_root) + req.path
    query = req.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path


@dataclass(slots=True)
class Page:
    """What the helpers of one request share."""

    config: ConsentConfig
    state: ConsentState
    locale: LocaleInfo
    script_root: str
    nonce: str | None
    #: Markup shared by every request with the same locale, state and script
    #: root; ``None`` when nothing may be shared (debug mode, where templates
    #: and catalogs are reloaded, or a CSP nonce, which differs per request).
    #: Values are ``Markup``, or for markup around the current path the pieces
    #: either side of it (see :meth:`remember_around_path`).
    fragments: dict[Hashable, Any] | None
    #: The path and query of this request (see :func:`current_path`).
    path: str

    def remember(self, key: Hashable, markup: Markup | tuple[str, ...]) -> None:
        """Keep ``markup`` for the next request with the same locale, state and root."""
        if self.fragments is not None and len(self.fragments) < MAX_FRAGMENTS:
            self.fragments[key] = markup

    def remember_around_path(self, key: Hashable, markup: str) -> tuple[str, ...]:
        """Keep ``markup``, which has :data:`NEXT_MARK` where the current path goes.

        It is kept as the pieces either side, so that filling in a path is a
        join rather than a search.
        """
        pieces = tuple(markup.split(NEXT_MARK))
        self.remember(key, pieces)
        return pieces


class KeptMarkup(Markup):
    """``Markup`` that a template prints with two Python calls fewer.

    Jinja passes every printed value through ``escape()``, which for ``Markup``
    calls ``__html__`` and then ``Markup()``, which calls ``__html__`` again:
    two Python calls that return the object itself. Here ``__html__`` is
    ``str.__str__``, done in C, giving the same text as a plain ``str`` that
    ``Markup()`` takes without asking again. Helpers run on every page, and
    their markup is printed on every page.
    """

    __slots__ = ()
    __html__ = str.__str__  # type: ignore[assignment]


#: ``KeptMarkup(html)`` for HTML this package built and escaped itself, without
#: ``Markup()`` first asking the string for ``__html__``, and, being a
#: ``partial``, without a Python call either.
trusted_html: Callable[[str], Markup] = partial(str.__new__, KeptMarkup)


@lru_cache(maxsize=1024)
def escaped_path(path: str) -> str:
    """A path escaped for an attribute value (called through the C cache: no Python call)."""
    return str(escape(path))


@lru_cache(maxsize=1024)
def escaped_next_query(path: str) -> str:
    """``next=<path>`` as a query string, escaped for an attribute value."""
    # The same encoding url_for uses for a query argument.
    return str(escape(urlencode({"next": path}, safe="!$'()*,/:;?@")))


def current_page() -> Page:
    """This request's :class:`Page`, built on first use and kept on ``g``."""
    kept = g._get_current_object().__dict__  # g_values(), without a call: it runs per helper
    page: Page | None = kept.get(PAGE_G_KEY)
    if page is None:
        page = kept[PAGE_G_KEY] = _new_page(kept)
    return page


def _new_page(kept: dict[str, Any]) -> Page:
    app = real_app()
    req = real_request()
    config = get_config(app)
    state = kept_state(kept, config, req, app)
    locale = config.kept_locale(kept, req, app)
    root = req.root_path  # what ``req.script_root`` returns, without a property call
    nonce = config.nonce()
    fragments = None
    if nonce is None and not app.config["DEBUG"]:  # app.debug, without a property call
        key = (locale.id, state.cache_key, root)
        fragments = config.fragment_cache.get(key)
        if fragments is None:
            if len(config.fragment_cache) >= MAX_COMBINATIONS:
                config.fragment_cache.clear()
            fragments = config.fragment_cache[key] = {}
    return Page(config, state, locale, root, nonce, fragments, current_path(req, root))
