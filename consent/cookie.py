"""The signed choice cookie: encode, verify, write and expire.

The cookie is the visitor's copy of their choice and the only state a request
reads, so any number of workers can serve the same visitor. It is signed with
the app's ``SECRET_KEY`` (and ``SECRET_KEY_FALLBACKS`` for rotation) under a
salt of its own, so no other signed value of the app can pass for a choice.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode
from publicsuffixlist import PublicSuffixList

logger = logging.getLogger("consent")

#: Salt that separates consent signatures from every other signed value.
SALT = "consent.choice"
#: Payload format version, written as ``v``.
FORMAT = 1
#: Browsers drop cookies over 4096 bytes; anything longer is not ours.
MAX_COOKIE_LENGTH = 4096

#: How many verified cookie values a process remembers.
VERIFIED_CACHE_SIZE = 4096

_CONSENT_ID_RE = re.compile(r"[A-Za-z0-9_-]{16}")

#: Prefix of a cookie that only the host itself can set (no ``Domain``, ``Secure``,
#: ``Path=/``): a sibling subdomain cannot plant one.
HOST_PREFIX = "__Host-"

#: Most bytes of ``Set-Cookie`` headers one response spends on expiring cookies
#: (proxies refuse larger headers: nginx's default buffer is 4 or 8 KB).
MAX_EXPIRY_BYTES = 4096

#: A cookie name as RFC 6265 allows it (a token), and a host name we may put in ``Domain``.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")


def new_consent_id() -> str:
    """A random, pseudonymous id the visitor can quote (16 URL-safe characters).

    Never one that starts with ``-``, which a command line would take for an
    option (``flask consent receipts show -yC5f…``).
    """
    while True:
        consent_id = secrets.token_urlsafe(12)
        if not consent_id.startswith("-"):
            return consent_id


@dataclass(frozen=True)
class StoredChoice:
    """What a verified cookie says."""

    revision: str
    consent_id: str
    choices: Mapping[str, bool]
    decided_at: datetime


class ChoiceCodec:
    """Signs and verifies choice cookies for one set of secret keys."""

    def __init__(self, secret_keys: Iterable[str | bytes], max_age: int) -> None:
        # itsdangerous signs with the last key and accepts all of them.
        keys: Any = list(secret_keys)
        self._serializer = URLSafeTimedSerializer(
            keys,
            salt=SALT,
            signer_kwargs={"digest_method": hashlib.sha256},
        )
        self.max_age = max_age
        # Verified values, so a returning visitor's cookie is checked once per
        # process rather than on every page: value -> (choice, valid until).
        self._verified: dict[str, tuple[StoredChoice, float]] = {}

    def sign(
        self, revision: str, consent_id: str, choices: Mapping[str, bool]
    ) -> tuple[str, StoredChoice]:
        """The cookie value for a new choice, and that choice as it will read back."""
        payload = {
            "v": FORMAT,
            "r": revision,
            "id": consent_id,
            "c": {cid: int(bool(allowed)) for cid, allowed in choices.items()},
        }
        value = self._serializer.dumps(payload)
        # Reading it back gives the exact timestamp the signer embedded.
        stored = self.loads(value)
        if stored is None:  # pragma: no cover - would mean a broken signer
            raise RuntimeError("a freshly signed consent cookie did not verify")
        return value, stored

    def loads(self, value: str | None) -> StoredChoice | None:
        """Verify a cookie value; anything not exactly ours is ``None``.

        A bad cookie is an everyday event (a rotated key, a truncated header, a
        curious visitor), not an error, so it is logged at DEBUG only.
        """
        if not value:
            return None
        if len(value) > MAX_COOKIE_LENGTH:
            logger.debug("consent cookie ignored: %d characters", len(value))
            return None
        hit = self._verified.get(value)
        if hit is not None and time.time() <= hit[1]:
            return hit[0]
        if not _canonical(value):
            logger.debug("consent cookie ignored: non-canonical encoding")
            return None
        try:
            payload, signed_at = self._serializer.loads(
                value, max_age=self.max_age, return_timestamp=True
            )
        except (BadData, ValueError, TypeError, OverflowError) as exc:
            logger.debug("consent cookie ignored: %s", type(exc).__name__)
            return None
        choice = _parse_payload(payload, signed_at)
        if choice is None:
            logger.debug("consent cookie ignored: unexpected payload")
            return None
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[value] = (choice, choice.decided_at.timestamp() + self.max_age)
        return choice


def _canonical(value: str) -> bool:
    """Whether every base64 part is written the one way we write it.

    The last character of a base64 string can carry unused bits; a value with
    them flipped decodes to the same bytes. Accepting only the canonical form
    keeps one cookie value per signed choice.
    """
    try:
        return all(base64_encode(base64_decode(part)).decode() == part for part in value.split("."))
    except (BadData, ValueError):
        return False


def _parse_payload(payload: Any, signed_at: datetime) -> StoredChoice | None:
    if not isinstance(payload, dict) or payload.get("v") != FORMAT:
        return None
    revision, consent_id, raw = payload.get("r"), payload.get("id"), payload.get("c")
    if not isinstance(revision, str) or not isinstance(consent_id, str):
        return None
    if not _CONSENT_ID_RE.fullmatch(consent_id) or not isinstance(raw, dict):
        return None
    choices: dict[str, bool] = {}
    for cid, allowed in raw.items():
        # Exactly the integers we write: JSON true or 1.0 is not ours.
        if not isinstance(cid, str) or type(allowed) is not int or allowed not in (0, 1):
            return None
        choices[cid] = allowed == 1
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    return StoredChoice(revision, consent_id, choices, signed_at)


def cookie_domains(host: str, configured: str | None = None) -> list[str | None]:
    """Where a cookie for ``host`` can live: the host itself (``None``: no
    ``Domain``), its registrable domain and ``CONSENT_COOKIE_DOMAIN``.

    A tag sets its cookie on the registrable domain (``.example.co.uk`` for
    ``www.shop.example.co.uk``), found with the Public Suffix List; the
    domains in between are where no tag puts one.
    """
    domains: list[str | None] = [None]
    name = host.lower().split(":", 1)[0] if not host.startswith("[") else ""
    is_domain = _DOMAIN.fullmatch(name) and not name.replace(".", "").isdigit()
    registrable = _registrable(name) if is_domain else None
    for domain in (registrable, (configured or "").lstrip(".").lower() or None):
        if domain and domain != name and domain not in domains and _DOMAIN.fullmatch(domain):
            domains.append(domain)
    return domains


def _registrable(name: str) -> str | None:
    found = _public_suffixes().privatesuffix(name)
    return str(found) if found else None


@cache
def _public_suffixes() -> PublicSuffixList:
    """The list shipped with the publicsuffixlist package, read once (on the first
    refusal, not at import)."""
    return PublicSuffixList()


def expiry_headers(names: Iterable[str], host: str, configured: str | None = None) -> list[str]:
    """``Set-Cookie`` values that expire each cookie on every domain it can live on,
    at most :data:`MAX_EXPIRY_BYTES` of them (the script expires any left over)."""
    headers: list[str] = []
    spent = 0
    domains = cookie_domains(host, configured)
    for name in names:
        if not _TOKEN.fullmatch(name):
            continue
        for domain in domains:
            value = f"{name}=; Max-Age=0; Path=/" + (f"; Domain={domain}" if domain else "")
            spent += len(value) + len("Set-Cookie: \r\n")
            if spent > MAX_EXPIRY_BYTES:
                logger.info("consent: cookie expiry stopped at %d bytes of headers", spent)
                return headers
            headers.append(value)
    return headers
