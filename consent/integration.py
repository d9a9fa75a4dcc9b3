"""Fitting into the host app: what can only be settled once the app is complete.

A site may set up its CSRF protection before or after ``Consent(app)``, and it
usually adds its routes after it. So these run on the app's first request,
before anything else does, when everything is there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

logger = logging.getLogger("consent")


def on_first_request(app: Flask, action: Callable[[Flask], None]) -> None:
    """Run ``action(app)`` before anything else on the app's first request, then never again.

    The hook takes itself out of the app's list after one run, so later pages
    pay nothing for it. (Flask iterates the list it started with, so replacing
    it while a request runs is safe.)
    """

    def first_request() -> None:
        funcs = app.before_request_funcs.get(None, [])
        app.before_request_funcs[None] = [f for f in funcs if f is not first_request]
        action(app)

    # First in line: it must run before a CSRF extension's own check.
    app.before_request_funcs.setdefault(None, []).insert(0, first_request)


def exempt_from_csrf(app: Flask, blueprint: Blueprint, views: Iterable[Callable[..., Any]]) -> None:
    """Exempt the consent endpoints from the app's CSRF extensions.

    They carry no token: the banner is the same for every visitor (so it can
    be kept and cached), and a choice needs no session. What protects them is
    the blueprint's own check of ``Origin`` and ``Sec-Fetch-Site``, which
    refuses a post from another site before anything is recorded.
    """
    csrf = app.extensions.get("csrf")  # Flask-WTF's CSRFProtect
    if csrf is not None and callable(getattr(csrf, "exempt", None)):
        csrf.exempt(blueprint)
    for seasurf in _seasurf_instances(app):
        for view in views:
            seasurf.exempt(view)


def _seasurf_instances(app: Flask) -> Iterator[Any]:
    """Flask-SeaSurf's instances on ``app``.

    SeaSurf keeps no entry in ``app.extensions``; it is found through the
    ``before_request`` method it registers.
    """
    try:
        from flask_seasurf import SeaSurf  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return
    seen: set[int] = set()
    for func in app.before_request_funcs.get(None, []):
        owner = getattr(func, "__self__", None)
        if isinstance(owner, SeaSurf) and id(owner) not in seen:
            seen.add(id(owner))
            yield owner


def warn_if_unrouted(app: Flask, url: str | None, setting: str, fallback: str) -> bool:
    """Log one warning when ``url`` is a path on this site that no route serves.

    Returns whether it warned. URLs of other sites, relative ones, and apps
    that match routes by host are not checked.
    """
    if not url or app.url_map.host_matching:
        return False
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return False
    path = parts.path
    root = (app.config.get("APPLICATION_ROOT") or "/").rstrip("/")
    if root and path.startswith(root + "/"):
        path = path[len(root) :]  # the app is mounted below the host's root
    adapter = app.url_map.bind(app.config.get("SERVER_NAME") or "localhost")
    try:
        adapter.match(path, method="GET")
    except RequestRedirect:
        return False  # e.g. the route wants a trailing slash: the browser follows
    except (NotFound, MethodNotAllowed):
        logger.warning(
            "%s is %r, but no route of this app serves GET %s: the banner's link leads"
            " to a 404. Add that page, set %s to the page you have, or leave %s unset"
            " to link to the cookie policy at %s.",
            setting,
            url,
            parts.path,
            setting,
            setting,
            fallback,
        )
        return True
    return False
