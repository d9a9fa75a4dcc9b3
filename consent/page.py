"""One request's view of consent, gathered once and shared by every helper.

A page calls several helpers: the Consent Mode head, gated scripts, the
settings link and the banner. They all need the same state, locale and
script root, and their markup depends on nothing else (the current path is
filled in afterwards). So the markup is rendered once per process for each
combination and every later page is a few dictionary lookups: the extension
must not make a site's pages measurably slower.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import lru_cache
from typing import cast
from urllib.parse import urlencode

from flask import Request
from markupsafe import escape

from .config import ConsentConfig, get_config, real_app, real_g, real_request
from .i18n import LocaleInfo
from .state import PAGE_G_KEY, ConsentState, kept_state

#: Distinct (locale, state, root) combinations kept; beyond it the cache starts over.
MAX_COMBINATIONS = 1024
#: Fragments kept per combination (gated scripts are keyed by their arguments).
MAX_FRAGMENTS = 64


def current_path(req: Request | None = None) -> str:
    """The path and query of this request, to come back to after a choice."""
    req = req or real_request()
    path = req.script_root + req.path
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
    fragments: dict[Hashable, str] | None
    request: Request
    _path: str | None = None

    @property
    def path(self) -> str:
        """The path and query of this request (see :func:`current_path`)."""
        if self._path is None:
            self._path = current_path(self.request)
        return self._path

    @property
    def next_html(self) -> str:
        """The current path, escaped for an attribute value."""
        return _escaped(self.path)

    @property
    def next_query_html(self) -> str:
        """``next=<current path>`` as a query string, escaped for an attribute value."""
        return _escaped_next_query(self.path)

    def remember(self, key: Hashable, markup: str) -> None:
        """Keep ``markup`` for the next request with the same locale, state and root."""
        if self.fragments is not None and len(self.fragments) < MAX_FRAGMENTS:
            self.fragments[key] = markup


@lru_cache(maxsize=1024)
def _escaped(path: str) -> str:
    return str(escape(path))


@lru_cache(maxsize=1024)
def _escaped_next_query(path: str) -> str:
    # The same encoding url_for uses for a query argument.
    return str(escape(urlencode({"next": path}, safe="!$'()*,/:;?@")))


def current_page() -> Page:
    """This request's :class:`Page`, built on first use and kept on ``g``."""
    store = real_g()
    page = store.get(PAGE_G_KEY)
    if page is not None:
        return cast(Page, page)
    app = real_app()
    req = real_request()
    config = get_config(app)
    state = kept_state(store, config, req, app)
    locale = config.kept_locale(store, req, app)
    root = req.script_root
    nonce = config.nonce()
    fragments = None
    if nonce is None and not app.debug:
        key = (locale.id, state.cache_key, root)
        fragments = config.fragment_cache.get(key)
        if fragments is None:
            if len(config.fragment_cache) >= MAX_COMBINATIONS:
                config.fragment_cache.clear()
            fragments = config.fragment_cache[key] = {}
    page = Page(config, state, locale, root, nonce, fragments, req)
    setattr(store, PAGE_G_KEY, page)
    return page
