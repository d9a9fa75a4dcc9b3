"""``Vary: Cookie`` on every response whose request read the visitor's choice."""

from __future__ import annotations

from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from .state import READ_ENVIRON_KEY


class VaryOnConsent:
    """WSGI middleware around ``app.wsgi_app`` that adds the header on the way out.

    A middleware rather than an ``after_request`` function: it runs after every
    such function (one that replaces ``Vary`` cannot drop ours), and it costs a
    page far less than Flask's bookkeeping for each of those functions.
    """

    __slots__ = ("wsgi_app",)

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            if READ_ENVIRON_KEY in environ:
                vary_on_cookie(headers)
            return start_response(status, headers, exc_info)  # type: ignore[arg-type]

        return self.wsgi_app(environ, start)  # type: ignore[arg-type]


def vary_on_cookie(headers: list[tuple[str, str]]) -> None:
    """Add ``Cookie`` to the ``Vary`` of a WSGI header list, joined with one already there."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            fields = {field.strip().lower() for field in value.split(",")}
            if "cookie" not in fields and "*" not in fields:
                headers[index] = (name, f"{value}, Cookie")
            return
    headers.append(("Vary", "Cookie"))
