"""``Vary: Cookie`` on every response whose request read the visitor's choice."""

from __future__ import annotations

from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

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
                vary_on_cookie(headers)
            return start_response(status, headers, exc_info)  # type: ignore[arg-type]

        return wsgi_app(environ, start)  # type: ignore[arg-type]

    return vary_on_consent_app


def vary_on_cookie(headers: list[tuple[str, str]]) -> None:
    """Add ``Cookie`` to the ``Vary`` of a WSGI header list, joined with one already there."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            fields = {field.strip().lower() for field in value.split(",")}
            if "cookie" not in fields and "*" not in fields:
                headers[index] = (name, f"{value}, Cookie")
            return
    headers.append(("Vary", "Cookie"))
