"""Global Privacy Control: a browser's standing opt-out of sale and sharing.

``Sec-GPC: 1`` (exactly ``"1"``) refuses the categories marked ``gpc`` without
asking, and wins over an earlier "accept" for them. It is never read as
consent for anything.
"""

from __future__ import annotations

from datetime import date

from flask import Request, Response, current_app, jsonify

HEADER = "Sec-GPC"
_ENVIRON_KEY = "HTTP_SEC_GPC"
WELL_KNOWN_PATH = "/.well-known/gpc.json"


def signal_in(request: Request) -> bool:
    """Whether the request carries a valid GPC signal (any other value is ignored)."""
    # Read from the WSGI environ: most requests lack the header, and a missing
    # one in ``request.headers`` costs an exception on every page.
    return request.environ.get(_ENVIRON_KEY) == "1"


def well_known() -> Response:
    """``/.well-known/gpc.json``: tells agents that this site honours GPC."""
    from .config import get_config

    last_update: date = get_config(current_app).gpc_last_update
    response = jsonify(gpc=True, lastUpdate=last_update.isoformat())
    response.cache_control.max_age = 86400
    response.cache_control.public = True
    return response
