"""Configuration defaults.

Every key starts with ``CONSENT_`` and is applied with ``app.config.setdefault``
so a host application's own values always win and its other keys are never
touched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, timedelta
from gettext import NullTranslations
from typing import Any, cast

from flask import Flask, Request, current_app, g, request
from flask.sansio.app import App

from . import texts
from .cookie import HOST_PREFIX, ChoiceCodec
from .errors import ConfigurationError
from .google import GoogleConsentMode
from .i18n import Catalogs, LocaleInfo, LocaleSelector, locale_info
from .policy import Policy

#: Where each app keeps its resolved settings, in ``app.extensions``.
EXTENSION_KEY = "consent"

DEFAULTS: dict[str, Any] = {
    #: Optional categories the visitor is asked about. A mapping of id to
    #: options (``label``, ``description``, ``cookies``) or a list of ids.
    #: ``necessary`` is always on and must not be listed.
    "CONSENT_CATEGORIES": {
        "analytics": {"cookies": ["_ga", "_ga_*", "_gid", "_gat*", "_pk_*"]},
    },
    #: Policy revision. Bump it to ask every visitor again.
    "CONSENT_REVISION": "1",
    #: How long a choice (accept *or* decline) is kept before asking again.
    #: Seconds or a ``timedelta``; about six months, as CNIL recommends.
    "CONSENT_MAX_AGE": timedelta(days=180),
    #: Name of the cookie that stores the signed choice.
    "CONSENT_COOKIE_NAME": "consent",
    #: ``Domain`` of the choice cookie; ``None`` keeps it host-only.
    "CONSENT_COOKIE_DOMAIN": None,
    #: ``Secure`` flag: ``None`` sets it whenever the request is https.
    "CONSENT_COOKIE_SECURE": None,
    #: ``SameSite`` attribute of the choice cookie.
    "CONSENT_COOKIE_SAMESITE": "Lax",
    #: Where the banner's "privacy policy" link points; ``None`` links to the
    #: cookie policy the blueprint serves (``{CONSENT_URL_PREFIX}/policy``).
    "CONSENT_PRIVACY_URL": None,
    #: Mount point of the consent blueprint.
    "CONSENT_URL_PREFIX": "/consent",
    #: Locale used when nothing the visitor accepts is offered.
    "CONSENT_DEFAULT_LOCALE": "en",
    #: Restrict the offered locales (e.g. ``["de", "en"]``); ``None`` offers
    #: every shipped catalog.
    "CONSENT_LOCALES": None,
    #: Extra directories holding ``<locale>/LC_MESSAGES/consent.po`` files
    #: whose entries override the shipped ones.
    "CONSENT_TRANSLATION_DIRS": [],
    #: Show the small floating "Cookie settings" button after a choice.
    #: Turn it off when the site uses ``consent_settings_link()`` instead.
    "CONSENT_SETTINGS_BUTTON": True,
    #: Origins besides the request's own that may post a choice, e.g. when a
    #: proxy rewrites the Host header (``["https://www.example.com"]``).
    "CONSENT_TRUSTED_ORIGINS": [],
    #: Cookies the site sets without asking (declared for the cookie table),
    #: as in ``CONSENT_CATEGORIES`` ``cookies``; the choice cookie is added.
    "CONSENT_NECESSARY_COOKIES": [],
    #: Honour Global Privacy Control (``Sec-GPC: 1``) as an opt-out of sale and
    #: sharing, and serve ``/.well-known/gpc.json``.
    "CONSENT_GPC": True,
    #: ``lastUpdate`` of ``/.well-known/gpc.json`` (a ``date`` or ISO string);
    #: ``None`` uses the day the app started.
    "CONSENT_GPC_LAST_UPDATE": None,
    #: Emit Google Consent Mode v2 ``default`` and ``update`` commands.
    "CONSENT_GOOGLE_CONSENT_MODE": False,
    #: Regional defaults: a list of mappings such as
    #: ``{"region": ["ES", "US-CA"], "ad_storage": "granted"}``.
    "CONSENT_GOOGLE_REGIONS": [],
    #: ``gtag('set', 'url_passthrough', true)`` before any tag.
    "CONSENT_GOOGLE_URL_PASSTHROUGH": False,
    #: ``gtag('set', 'ads_data_redaction', true)`` before any tag.
    "CONSENT_GOOGLE_ADS_DATA_REDACTION": False,
    #: Milliseconds Google tags wait for an ``update`` after the ``default``.
    "CONSENT_GOOGLE_WAIT_FOR_UPDATE": 500,
    #: Where receipts (proof of consent) go: ``None`` (off),
    #: ``"sqlite:///consent-receipts.db"`` (relative paths live in the instance
    #: folder) or ``"postgresql://user:pass@host/db"``. Needs the
    #: ``[receipts]`` extra.
    "CONSENT_RECEIPTS_URL": None,
    #: How long receipts are kept (``timedelta`` or ``"3y"``); ``prune`` uses it.
    "CONSENT_RECEIPTS_RETENTION": None,
    #: Spool file for receipts the store could not take; ``None`` puts
    #: ``consent-receipts.spool`` in the instance folder.
    "CONSENT_RECEIPTS_SPOOL": None,
    #: Most receipts the spool holds before new ones are logged as lost.
    "CONSENT_RECEIPTS_SPOOL_MAX": 10_000,
    #: A callable returning this request's Content-Security-Policy nonce (e.g.
    #: ``lambda: request.csp_nonce`` with Flask-Talisman), put on every script
    #: we emit so gated inline scripts run under a strict policy; or ``None``.
    "CONSENT_CSP_NONCE": None,
    #: Colours of the banner and the settings: ``"auto"`` follows the colour
    #: scheme the page declares (``color-scheme`` or ``<meta name="color-scheme">``:
    #: dark only where the page supports dark and the visitor prefers it),
    #: ``"light"`` or ``"dark"`` always.
    "CONSENT_THEME": "auto",
    #: Render the banner once per locale and state and reuse it (the current
    #: path is filled in per request). Turn off if an overriding template
    #: shows anything else that changes per request.
    "CONSENT_CACHE_BANNER": True,
}


#: Where the request's locale is kept on ``g``.
LOCALE_G_KEY = "_consent_locale"
#: In the WSGI environ of a request whose locale came from ``Accept-Language``:
#: its response varies on that header.
LANGUAGE_ENVIRON_KEY = "consent.language"


def seconds(value: Any) -> int:
    """``CONSENT_MAX_AGE`` as whole seconds."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(
            "CONSENT_MAX_AGE must be a positive number of seconds or a timedelta"
        )
    return int(value)


@dataclass
class ConsentConfig:
    """Everything the extension resolved for one app at ``init_app`` time."""

    policy: Policy
    catalogs: Catalogs
    max_age: int
    cookie_name: str
    cookie_domain: str | None
    cookie_secure: bool | None
    cookie_samesite: str | None
    #: The site's own privacy page, or ``None`` for the blueprint's cookie policy.
    privacy_url: str | None
    settings_button: bool
    trusted_origins: frozenset[str]
    locale_selector: LocaleSelector | None
    gpc: bool
    gpc_last_update: date
    google: GoogleConsentMode | None
    #: A :class:`consent.receipts.ReceiptStore`, or ``None`` when receipts are off.
    receipts: Any = None
    receipts_retention: timedelta | None = None
    _fingerprints: dict[str, str] = field(default_factory=dict, repr=False)
    csp_nonce: Callable[[], str | None] | None = None
    cache_banner: bool = True
    theme: str = "auto"
    #: Rewrites the response's choice when a GPC signal overrides a stored grant
    #: (set by the extension: the blueprint's views do the recording).
    on_gpc_override: Callable[[Any], Any] | None = field(default=None, repr=False)
    #: Markup per (locale, state, script root), per process: see consent.page.
    fragment_cache: dict[tuple[Any, ...], dict[Hashable, Any]] = field(
        default_factory=dict, repr=False
    )
    url_cache: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    #: The state of a visitor without a choice, per GPC signal.
    blank_states: dict[bool, Any] = field(default_factory=dict, repr=False)
    #: Choice states and their expiry per (Cookie header, GPC signal, codec, name); bounded.
    state_cache: dict[tuple[str, bool, ChoiceCodec, str], Any] = field(
        default_factory=dict, repr=False
    )
    _codec: tuple[tuple[Any, ...], ChoiceCodec] | None = field(default=None, repr=False)

    @property
    def host_prefixed(self) -> bool:
        """Whether the choice cookie is ``__Host-`` on https: by default, unless a
        ``Domain`` (which the prefix forbids) or ``Secure=False`` is configured."""
        return (
            self.cookie_domain is None
            and self.cookie_secure is not False
            and not self.cookie_name.startswith("__")
        )

    def cookie_name_for(self, req: Request) -> str:
        """The choice cookie's name on this request: ``__Host-consent`` over https
        (which only this host can set), ``consent`` over http (no ``Secure``)."""
        if self.host_prefixed and req.environ.get("wsgi.url_scheme") == "https":
            return HOST_PREFIX + self.cookie_name
        return self.cookie_name

    def nonce(self) -> str | None:
        """This request's CSP nonce, if the host uses one."""
        return self.csp_nonce() if self.csp_nonce is not None else None

    def codec(self, app: App | None = None) -> ChoiceCodec:
        """The signer for the app's current keys (read lazily: factories set them late)."""
        config = (app or current_app).config
        secret = config.get("SECRET_KEY")
        if not secret:
            raise ConfigurationError(
                "the consent cookie is signed with the app's secret key:"
                " set app.config['SECRET_KEY'] to a long random value"
            )
        keys = (*(config.get("SECRET_KEY_FALLBACKS") or ()), secret)
        if self._codec is None or self._codec[0] != keys:
            self._codec = (keys, ChoiceCodec(keys, self.max_age))
        return self._codec[1]

    def locale(self, app: App | None = None) -> LocaleInfo:
        """The locale of this request, chosen once and kept on ``g``."""
        return self.kept_locale(g_values(), real_request(), app or real_app())

    def kept_locale(self, kept: dict[str, Any], req: Request, app: App) -> LocaleInfo:
        """The locale from ``g`` (its :func:`g_values`), chosen and kept there on first use."""
        info: LocaleInfo | None = kept.get(LOCALE_G_KEY)
        if info is None:
            info = kept[LOCALE_G_KEY] = self.choose_locale(req, app)
        return info

    def choose_locale(self, req: Request, app: App) -> LocaleInfo:
        """The selector's locale if it names one we have, else ``Accept-Language``'s."""
        chosen = None
        selector = self.locale_selector or _flask_babel_selector(app)
        if selector is not None:
            chosen = self.catalogs.match(selector())
        if chosen is None:
            # From the WSGI environ: a missing header in ``req.headers`` costs an exception.
            chosen = self.catalogs.negotiate_header(req.environ.get("HTTP_ACCEPT_LANGUAGE", ""))
            if len(self.catalogs.locales) > 1:
                req.environ[LANGUAGE_ENVIRON_KEY] = True
        return locale_info(chosen)

    def banner_fingerprint(self) -> str:
        """A short hash of the banner and category texts this request's locale shows,
        so a receipt says which wording the visitor saw."""
        locale = self.locale()
        cached = self._fingerprints.get(locale.id)
        if cached is None:
            gettext = self.translations().gettext
            shown = [
                gettext(t)
                for t in (
                    texts.TITLE,
                    texts.intro_message(self.policy),
                    texts.OTHER_PURPOSES,
                    texts.WITHDRAWAL_NOTE,
                    texts.PRIVACY_POLICY,
                    *texts.BUTTONS,
                )
            ]
            shown.append(texts.purposes(self.policy, locale, gettext))
            for category in self.policy.categories:
                shown.append(
                    "=".join((category.id, *texts.category_texts(category, locale, gettext)))
                )
            digest = hashlib.sha256("\x1f".join(shown).encode()).hexdigest()[:16]
            cached = self._fingerprints[locale.id] = digest
        return cached

    def translations(self) -> NullTranslations:
        """This request's catalog; in debug mode an edited ``.po`` shows at once."""
        return self.catalogs.translations(self.locale().id, reload=current_app.debug)


def _flask_babel_selector(app: App) -> LocaleSelector | None:
    """Flask-Babel's current locale, when the host app uses it."""
    if "babel" not in app.extensions:
        return None
    try:
        from flask_babel import get_locale  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    return cast(LocaleSelector, get_locale)


# Flask's ``current_app``, ``request`` and ``g`` are proxies that look the
# object up on every use (about a microsecond each). Code that runs on every
# page takes the real objects once through these.


def real_app() -> Flask:
    """The app behind ``current_app``."""
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def real_request() -> Request:
    """The request behind ``request``."""
    return request._get_current_object()  # type: ignore[attr-defined,no-any-return]


def g_values() -> dict[str, Any]:
    """The names kept on ``g`` in this app context, as its own dictionary.

    ``g`` is a plain namespace, so its ``__dict__`` is what ``g.get`` and
    ``setattr(g, ...)`` use; reading it directly saves a Python call on every
    lookup, and a missing name costs no exception (as ``getattr`` would).
    """
    return g._get_current_object().__dict__  # type: ignore[no-any-return]


def get_config(app: App) -> ConsentConfig:
    """The consent settings of ``app``; a clear error when it was never set up."""
    try:
        return app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
    except KeyError:
        raise ConfigurationError(
            "the consent extension is not set up on this app: call Consent(app) or"
            " consent.init_app(app)"
        ) from None
