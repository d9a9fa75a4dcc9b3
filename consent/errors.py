"""Exceptions raised by the extension."""

from __future__ import annotations

from werkzeug.exceptions import BadRequest, Forbidden


class ConsentError(Exception):
    """Base class for programming and configuration errors."""


class ConfigurationError(ConsentError):
    """The extension is configured in a way that cannot work."""


class UnknownCategoryError(ConsentError, LookupError):
    """Code asked about a category the policy does not define."""


class ConsentBadRequest(BadRequest):
    """A consent form post that cannot be understood (answered with 400)."""


class CrossSiteRequest(Forbidden):
    """A consent post from another site (answered with 403).

    Another origin must never be able to grant consent on a visitor's behalf.
    """
