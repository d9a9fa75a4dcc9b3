"""The headers a shared cache reads, on every response of the app.

``Vary`` names what a page's consent markup depends on: ``Cookie`` when it
read the visitor's choice, ``Accept-Language`` when that header chose the
banner's language. Every answer under the consent prefix (errors too, which
the blueprint's own hooks never see) is ``Cache-Control: no-store``, but for
the content-addressed static files.
"""

from __future__ import annotations

from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from .config import LANGUAGE_ENVIRON_KEY
from .state import READ_ENVIRON_KEY


def vary_on_consent(wsgi_app: WSGIApplication, prefix: str = "/consent") -> WSGIApplication:
    """WSGI middleware for ``app.wsgi_app`` that adds the headers on the way out.

    A middleware rather than an ``after_request`` function: it runs after every
    such function (one that replaces ``Vary`` cannot drop ours), and it costs a
    page far less than Flask's bookkeeping for each of those functions. A plain
    function, not an object with ``__call__``, which Python calls more slowly.

    It also keeps the script root a local path: a ``SCRIPT_NAME`` that starts
    with ``//`` (a proxy header may set it) would make every URL the app builds,
    our forms' too, lead to another host.
    """
    prefix = prefix.rstrip("/")
    static = prefix + "/static/"

    def under_prefix(path: str) -> bool:
        # With no prefix the blueprint shares the site's paths: its own
        # after_request hook marks its answers, and nothing else is ours.
        if not prefix or path.startswith(static):
            return False
        return path == prefix or path.startswith(prefix + "/")

    def vary_on_consent_app(
        environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        script = environ.get("SCRIPT_NAME", "")
        if script.startswith(("//", "/\\")):
            environ["SCRIPT_NAME"] = "/" + script.lstrip("/\\")
        ours = under_prefix(environ.get("PATH_INFO", ""))

        def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            if READ_ENVIRON_KEY in environ:
                add_vary(headers, "Cookie")
            if LANGUAGE_ENVIRON_KEY in environ:
                add_vary(headers, "Accept-Language")
            if ours:
                headers[:] = [h for h in headers if h[0].lower() != "cache-control"]
                headers.append(("Cache-Control", "no-store"))
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
