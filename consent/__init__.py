"""Cookie consent for Flask: a server-rendered, localized banner, a signed
choice cookie, and scripts that run only with the visitor's consent."""

from __future__ import annotations

from .errors import (
    ConfigurationError,
    ConsentBadRequest,
    ConsentError,
    CrossSiteRequest,
    UnknownCategoryError,
)
from .extension import Consent
from .helpers import consent_banner, consent_script, consent_settings_link, get_locale
from .policy import Category, Policy
from .signals import consent_changed
from .state import ConsentState, current_consent

__all__ = [
    "Category",
    "ConfigurationError",
    "Consent",
    "ConsentBadRequest",
    "ConsentError",
    "ConsentState",
    "CrossSiteRequest",
    "Policy",
    "UnknownCategoryError",
    "consent_banner",
    "consent_changed",
    "consent_script",
    "consent_settings_link",
    "current_consent",
    "get_locale",
]
