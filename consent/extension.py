"""The :class:`Consent` extension object."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask

from . import gpc, helpers
from .cli import consent_cli
from .config import DEFAULTS, EXTENSION_KEY, ConsentConfig, get_config, seconds
from .errors import ConfigurationError
from .google import GoogleConsentMode
from .i18n import N_, Catalogs, LocaleSelector
from .integration import exempt_from_csrf, on_first_request, warn_if_unrouted
from .policy import CookieDeclaration, build_cookies, build_policy
from .state import current_consent
from .vary import vary_on_consent
from .views import CHOICE_VIEWS, blueprint, record_gpc_override

CHOICE_COOKIE_PURPOSE = N_("Stores your cookie choice.")
#: What ``CONSENT_THEME`` may be.
THEMES = ("auto", "light", "dark")


class Consent:
    """Cookie consent for a Flask app.

    ``Consent(app)`` or, with an app factory, ``consent = Consent()`` and
    later ``consent.init_app(app)``. Nothing app-specific is kept on this
    object, so one instance can serve several apps.
    """

    def __init__(
        self, app: Flask | None = None, *, locale_selector: LocaleSelector | None = None
    ) -> None:
        self.locale_selector = locale_selector
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, *, locale_selector: LocaleSelector | None = None) -> None:
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        cfg = app.config
        max_age = seconds(cfg["CONSENT_MAX_AGE"])
        cookie_name = str(cfg["CONSENT_COOKIE_NAME"])
        own_cookie = CookieDeclaration(cookie_name, purpose=CHOICE_COOKIE_PURPOSE, lifetime=max_age)
        necessary = build_cookies(cfg["CONSENT_NECESSARY_COOKIES"], "CONSENT_NECESSARY_COOKIES")
        policy = build_policy(
            cfg["CONSENT_CATEGORIES"], cfg["CONSENT_REVISION"], (own_cookie, *necessary)
        )
        try:
            catalogs = Catalogs(
                cfg["CONSENT_LOCALES"],
                cfg["CONSENT_DEFAULT_LOCALE"],
                _sequence(cfg["CONSENT_TRANSLATION_DIRS"], "CONSENT_TRANSLATION_DIRS"),
            )
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        app.extensions[EXTENSION_KEY] = ConsentConfig(
            policy=policy,
            catalogs=catalogs,
            max_age=max_age,
            cookie_name=cookie_name,
            cookie_domain=cfg["CONSENT_COOKIE_DOMAIN"],
            cookie_secure=cfg["CONSENT_COOKIE_SECURE"],
            cookie_samesite=cfg["CONSENT_COOKIE_SAMESITE"],
            privacy_url=_url_or_none(cfg["CONSENT_PRIVACY_URL"], "CONSENT_PRIVACY_URL"),
            settings_button=bool(cfg["CONSENT_SETTINGS_BUTTON"]),
            trusted_origins=frozenset(
                o.rstrip("/").lower()
                for o in _sequence(cfg["CONSENT_TRUSTED_ORIGINS"], "CONSENT_TRUSTED_ORIGINS")
            ),
            locale_selector=locale_selector or self.locale_selector,
            gpc=bool(cfg["CONSENT_GPC"]),
            gpc_last_update=_date(cfg["CONSENT_GPC_LAST_UPDATE"]),
            google=GoogleConsentMode.from_config(cfg),
            receipts=_receipt_store(app),
            receipts_retention=_retention(cfg["CONSENT_RECEIPTS_RETENTION"]),
            csp_nonce=_callable_or_none(cfg["CONSENT_CSP_NONCE"], "CONSENT_CSP_NONCE"),
            cache_banner=bool(cfg["CONSENT_CACHE_BANNER"]),
            theme=_choice(cfg["CONSENT_THEME"], "CONSENT_THEME", THEMES),
            on_gpc_override=record_gpc_override if cfg["CONSENT_GPC"] else None,
        )
        app.register_blueprint(blueprint, url_prefix=cfg["CONSENT_URL_PREFIX"])
        on_first_request(app, _complete)
        if cfg["CONSENT_GPC"] and gpc.WELL_KNOWN_PATH not in {
            r.rule for r in app.url_map.iter_rules()
        }:
            app.add_url_rule(gpc.WELL_KNOWN_PATH, "consent_gpc", gpc.well_known)
        app.jinja_env.globals.update(
            consent_banner=helpers.consent_banner,
            consent_script=helpers.consent_script,
            consent_settings_link=helpers.consent_settings_link,
            consent_head=helpers.consent_head,
            consent_iframe=helpers.consent_iframe,
            consent_cookie_table=helpers.consent_cookie_table,
            current_consent=current_consent,
            consent_locale=helpers.get_locale,
        )
        wrapped = vary_on_consent(app.wsgi_app, cfg["CONSENT_URL_PREFIX"])
        app.wsgi_app = wrapped  # type: ignore[method-assign,assignment]
        if "consent" not in app.cli.commands:
            app.cli.add_command(consent_cli)


def _complete(app: Flask) -> None:
    """What depends on the finished app: its CSRF extensions (set up before or
    after us) and its routes."""
    exempt_from_csrf(app, blueprint, CHOICE_VIEWS)
    warn_if_unrouted(
        app,
        get_config(app).privacy_url,
        "CONSENT_PRIVACY_URL",
        app.config["CONSENT_URL_PREFIX"].rstrip("/") + "/policy",
    )


def _choice(value: Any, name: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(map(repr, allowed))}")
    return str(value)


def _url_or_none(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a URL (a string) or None")
    return value


def _callable_or_none(value: Any, name: str) -> Any:
    if value is not None and not callable(value):
        raise ConfigurationError(
            f"{name} must be a callable returning the request's nonce, or None"
        )
    return value


def _receipt_store(app: Flask) -> Any:
    url = app.config["CONSENT_RECEIPTS_URL"]
    if not url:
        return None
    try:
        from .receipts import ReceiptStore, require_driver, resolve_url

        resolved = resolve_url(str(url), app.instance_path)
        require_driver(resolved)
    except ImportError as exc:
        raise ConfigurationError(str(exc)) from None
    spool = app.config["CONSENT_RECEIPTS_SPOOL"] or os.path.join(
        app.instance_path, "consent-receipts.spool"
    )
    return ReceiptStore(
        resolved,
        spool,
        int(app.config["CONSENT_RECEIPTS_SPOOL_MAX"]),
    )


def _retention(value: Any) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value
    try:
        from .receipts import parse_age
    except ImportError as exc:
        raise ConfigurationError(str(exc)) from None
    try:
        return parse_age(value)
    except ValueError as exc:
        raise ConfigurationError(f"CONSENT_RECEIPTS_RETENTION: {exc}") from None


def _date(value: Any) -> date:
    if value is None:
        return datetime.now(UTC).date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigurationError("CONSENT_GPC_LAST_UPDATE must be a date or 'YYYY-MM-DD'") from None


def _sequence(value: Any, name: str) -> Sequence[Any]:
    if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset):
        raise ConfigurationError(f"{name} must be a list")
    return list(value)
