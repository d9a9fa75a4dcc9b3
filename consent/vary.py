"""``Vary`` on every response whose consent markup depends on the request:
``Cookie`` when it read the visitor's choice, ``Accept-Language`` when that
header chose the banner's language."""

from __future__ import annotations

from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from .config import LANGUAGE_ENVIRON_KEY
from .state import READ_ENVIRON_KEY


def vary_on_consent(wsgi_app: WSGIApplication) -> WSGIApplication:
    """WSGI middleware for ``app.wsgi_app`` that adds the header on the way out.

    A middleware rather than an ``after_request`` function: it runs after every
    such function (one that replaces ``Vary`` cannot drop ours), and it costs a
    page far less than Flask's bookkeeping for each of those functions. A plain
    function, not an object with ``__call__``, which Python calls more slowly.
    """

    def vary_on_consent_app(
        environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            if READ_ENVIRON_KEY in environ:
                add_vary(headers, "Cookie")
            if LANGUAGE_ENVIRON_KEY in environ:
                add_vary(headers, "Accept-Language")
            return start_response(status, headers, exc_info)  # type: ignore[arg-type]

        return wsgi_app(environ, start)  # type: ignore[arg-type]

    return vary_on_consent_app


def add_vary(headers: list[tuple[str, str]], field: str) -> None:
    """Add ``field`` to the ``Vary`` of a WSGI header list, joined with one already there."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            fields = {f.strip().lower() for f in value.split(",")}
            if field.lower() not in fields and "*" not in fields:
                headers[index] = (name, f"{value}, {field}")
            return
    headers.append(("Vary", field))
