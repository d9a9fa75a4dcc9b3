"""Signals a host app can connect to (blinker, as Flask itself uses)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent after a visitor's choice is recorded, with the app as sender and the
#: keyword arguments ``old`` and ``new`` (:class:`~consent.state.ConsentState`),
#: ``action`` (``"accept"``, ``"decline"`` or ``"save"``), ``consent_id`` and
#: ``gpc`` (whether a Global Privacy Control signal applied). Use it to log,
#: sync a CRM, or purge server-side data when consent is withdrawn.
consent_changed = _signals.signal("consent-changed")
