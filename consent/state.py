"""The visitor's consent for the current request, read once and cached on ``g``."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from types import MappingProxyType
from typing import Any, cast

from flask import Flask, Request, after_this_request
from werkzeug.local import LocalProxy

from .config import ConsentConfig, g_values, get_config, real_app, real_request
from .cookie import ChoiceCodec, StoredChoice
from .errors import UnknownCategoryError
from .gpc import signal_in as gpc_signal_in
from .policy import NECESSARY, Policy

STATE_G_KEY = "_consent_state"
#: In the WSGI environ of a request that read the choice: its response varies on Cookie.
READ_ENVIRON_KEY = "consent.read"
#: Where :mod:`consent.page` keeps the request's page; dropped when the state changes.
PAGE_G_KEY = "_consent_page"


@dataclass(frozen=True)
class ConsentState:
    """A visitor's choice measured against the current policy.

    Categories the visitor has not been asked about (none at all before a
    choice, or one added to the policy since) are refused until they answer.
    """

    policy: Policy
    choices: Mapping[str, bool] = field(default_factory=dict)
    consent_id: str | None = None
    decided_at: datetime | None = None
    #: A Global Privacy Control signal applies: ``gpc`` categories are refused.
    gpc: bool = False

    @property
    def decided(self) -> bool:
        """Whether the visitor answered for every category that needs an answer.

        Under Global Privacy Control the ``gpc`` categories are already
        answered ("no") and are not asked about.
        """
        if self.decided_at is None:
            return False
        answered_by_gpc = self.policy.gpc_ids if self.gpc else frozenset()
        return all(
            cid in self.choices or cid in answered_by_gpc for cid in self.policy.optional_ids
        )

    def allows(self, category: str) -> bool:
        """Whether scripts and cookies of ``category`` may run.

        An id the policy does not define is a programming error, not a "no":
        a typo must not silently switch a script off forever.
        """
        if category == NECESSARY:
            return True
        if self.policy.get(category) is None:
            known = ", ".join(self.policy.optional_ids) or "none"
            raise UnknownCategoryError(
                f"unknown consent category {category!r}; configured optional categories: {known}"
            )
        if self.gpc and category in self.policy.gpc_ids:
            return False
        return self.choices.get(category, False)

    @cached_property
    def categories(self) -> Mapping[str, bool]:
        """Every category id mapped to whether it is allowed, ``necessary`` first."""
        return MappingProxyType({c.id: self.allows(c.id) for c in self.policy.categories})

    @cached_property
    def cache_key(self) -> tuple[Any, ...]:
        """What markup can depend on: states with equal keys render alike."""
        return (self.decided, self.gpc, tuple(self.categories.items()))

    @property
    def refused(self) -> tuple[str, ...]:
        """The optional categories that may not run: declined, or not answered yet."""
        return tuple(cid for cid in self.policy.optional_ids if not self.allows(cid))

    @property
    def declined(self) -> tuple[str, ...]:
        """The optional categories the visitor (or their GPC signal) said no to."""
        return tuple(
            cid
            for cid in self.policy.optional_ids
            if not self.allows(cid) and (cid in self.choices or self._refused_by_gpc(cid))
        )

    @property
    def unanswered(self) -> tuple[str, ...]:
        """The optional categories nobody has answered for: refused until someone does."""
        return tuple(
            cid
            for cid in self.policy.optional_ids
            if cid not in self.choices and not self._refused_by_gpc(cid)
        )

    @property
    def _stores_gpc_grant(self) -> bool:
        """Whether the stored choice grants a category a GPC signal refuses."""
        return any(self.choices.get(cid) for cid in self.policy.gpc_ids)

    @property
    def gpc_overrides(self) -> bool:
        """Whether a GPC signal now refuses what the stored choice granted: the
        choice should be rewritten, so that it stays refused without the signal."""
        return self.gpc and self._stores_gpc_grant

    @property
    def grants_gpc_categories(self) -> bool:
        """Whether the stored choice grants what a GPC signal would refuse, with no
        ``Sec-GPC`` header here: the page lets our script apply a signal only the
        browser's JavaScript shows (``navigator.globalPrivacyControl``)."""
        return not self.gpc and self._stores_gpc_grant

    def _refused_by_gpc(self, cid: str) -> bool:
        return self.gpc and cid in self.policy.gpc_ids

    def as_json(self) -> dict[str, Any]:
        """The state as the browser script and JSON clients receive it."""
        return {
            "decided": self.decided,
            "revision": self.policy.revision,
            "consent_id": self.consent_id,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "categories": dict(self.categories),
            "forget": self.policy.cookie_patterns(self.refused),
            "gpc": self.gpc,
        }


#: Cookie headers kept with the state they carry, per process; beyond it the cache starts over.
MAX_KEPT_STATES = 4096
#: Longer ``Cookie`` headers are read every time rather than kept.
MAX_KEPT_HEADER = 2048


def load_state(config: ConsentConfig, req: Request, app: Flask) -> ConsentState:
    """Read the choice cookie of ``req`` into a :class:`ConsentState`.

    The same ``Cookie`` header (with the same GPC signal and keys) always reads
    the same, so a returning visitor's state is one dictionary lookup, without
    parsing cookies or checking a signature again.
    """
    gpc = config.gpc and gpc_signal_in(req)
    # Asked for even without a cookie: a missing SECRET_KEY must fail loudly
    # on the first page, not on the first choice. Part of the cache key too,
    # so a changed secret key reads every cookie afresh.
    codec = config.codec(app)
    header = req.environ.get("HTTP_COOKIE", "")
    name = config.cookie_name_for(req)
    key = (header, gpc, codec, name)
    kept: tuple[ConsentState, float] | None = config.state_cache.get(key)
    if kept is not None and kept[1] >= time.time():
        return kept[0]
    state, expires = _read_state(config, req, codec, gpc, name)
    if expires is not None and len(header) <= MAX_KEPT_HEADER:
        if len(config.state_cache) >= MAX_KEPT_STATES:
            config.state_cache.clear()
        config.state_cache[key] = (state, expires)
    return state


def _read_state(
    config: ConsentConfig, req: Request, codec: ChoiceCodec, gpc: bool, name: str
) -> tuple[ConsentState, float | None]:
    """The state the request's cookies carry, and until when it holds (``None``:
    it may change by itself, so it is not kept).

    Over https only the ``__Host-`` cookie counts: a plain one may have been
    planted by a sibling subdomain for the parent domain.
    """
    values = set(req.cookies.getlist(name))
    if len(values) > 1:
        # Two different choice cookies: one may have been tossed in from a
        # sibling subdomain. Neither can be trusted to be the visitor's.
        return _no_choice(config, gpc), math.inf
    value = next(iter(values), None)
    if not value:
        return _no_choice(config, gpc), math.inf
    stored = codec.loads(value)
    if stored is None:
        # Not kept: a choice signed by a host whose clock runs a second ahead
        # reads as "not yet valid" here, and becomes valid a moment later.
        return _no_choice(config, gpc), None
    state = _state_from(config.policy, stored, gpc)
    return state, stored.decided_at.timestamp() + config.max_age


def _no_choice(config: ConsentConfig, gpc: bool) -> ConsentState:
    """The state of every visitor without a (valid) choice: one object, built once."""
    state = config.blank_states.get(gpc)
    if state is None:
        state = config.blank_states[gpc] = ConsentState(config.policy, gpc=gpc)
    return cast(ConsentState, state)


def _state_from(policy: Policy, stored: StoredChoice, gpc: bool) -> ConsentState:
    if stored.revision != policy.revision:
        # The old choice no longer counts, but the visitor keeps their id so a
        # new answer continues the same history.
        return ConsentState(policy, consent_id=stored.consent_id, gpc=gpc)
    known = set(policy.optional_ids)
    choices = {cid: allowed for cid, allowed in stored.choices.items() if cid in known}
    return ConsentState(policy, choices, stored.consent_id, stored.decided_at, gpc)


def kept_state(
    kept: dict[str, Any], config: ConsentConfig, req: Request, app: Flask
) -> ConsentState:
    """The request's state from ``g`` (its :func:`g_values`), loaded and kept there on first use."""
    state: ConsentState | None = kept.get(STATE_G_KEY)
    if state is None:
        state = kept[STATE_G_KEY] = load_state(config, req, app)
        req.environ[READ_ENVIRON_KEY] = True
        # The consent endpoints record the signal with the choice themselves.
        override = config.on_gpc_override
        if state.gpc_overrides and override is not None and req.blueprint != "consent":
            after_this_request(override)
    return state


def get_consent_state() -> ConsentState:
    """The current request's state, computed on first use and kept on ``g``."""
    app = real_app()
    return kept_state(g_values(), get_config(app), real_request(), app)


def replace_state(state: ConsentState) -> None:
    """Make a just-recorded choice the current one for the rest of the request."""
    kept = g_values()
    kept[STATE_G_KEY] = state
    real_request().environ[READ_ENVIRON_KEY] = True
    kept.pop(PAGE_G_KEY, None)


#: The visitor's consent for the current request.
current_consent: ConsentState = cast(ConsentState, LocalProxy(get_consent_state))
