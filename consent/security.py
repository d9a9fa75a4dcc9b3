"""Guards for the consent endpoints: where a post may come from, where it may lead."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from flask import Request

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Longest ``next`` path we follow; longer ones fall back to the safe default.
MAX_NEXT_LENGTH = 2048


def _origin_key(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def cross_site_reason(request: Request, trusted_origins: Collection[str] = ()) -> str | None:
    """Why a post must be refused as coming from another site, or ``None``.

    Browsers send ``Origin`` on every POST and ``Sec-Fetch-Site`` on modern
    engines; a request with neither is not from a browser page and cannot
    carry a visitor's cookies across sites, so it passes.
    """
    if request.headers.get("Sec-Fetch-Site", "").strip().lower() == "cross-site":
        return "cross-site request (Sec-Fetch-Site)"
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    origin = origin.strip()
    if origin.lower() == "null":
        return "opaque origin 'null'"
    if origin.rstrip("/").lower() in trusted_origins:
        return None
    own = _origin_key(f"{request.scheme}://{request.host}")
    theirs = _origin_key(origin)
    if theirs is None or theirs != own:
        return "request from another origin"
    return None


def safe_next(value: str | None, fallback: str) -> str:
    """``value`` when it is a path on this site, else ``fallback``.

    Only absolute paths are followed. Anything a browser could read as
    another host (``//host``, ``/\\host``, a scheme) or that carries control
    characters falls back.
    """
    if not value or len(value) > MAX_NEXT_LENGTH:
        return fallback
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return fallback
    if "\\" in value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return fallback
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return fallback
    return value
