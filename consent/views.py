"""The consent blueprint: record a choice, show the settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from .config import ConsentConfig, get_config
from .cookie import HOST_PREFIX, expiry_headers, new_consent_id
from .errors import ConsentBadRequest, CrossSiteRequest
from .helpers import render, settings_context
from .policy import NECESSARY, Policy
from .security import cross_site_reason, safe_next
from .signals import consent_changed
from .state import ConsentState, get_consent_state, replace_state

#: What a form's ``control`` field may name (the part of the interface used), as
#: receipts record it.
CONTROLS = frozenset({"banner", "settings", "embed", "api"})
#: The control of a choice a Global Privacy Control signal rewrote (no form names it).
SIGNAL = "signal"

#: A visitor cannot pick more categories than a site could sensibly offer.
MAX_CATEGORY_FIELDS = 64


class _Blueprint(Blueprint):
    def get_send_file_max_age(self, filename: str | None) -> int | None:
        # Asset URLs carry a content hash (see helpers.asset_url), so a long
        # cache is safe and saves returning visitors the download.
        return 365 * 24 * 3600 if request.args.get("v") else 3600


blueprint = _Blueprint(
    "consent",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


@blueprint.before_request
def _refuse_cross_site() -> None:
    if request.method != "POST":
        return
    reason = cross_site_reason(request, get_config(current_app).trusted_origins)
    if reason is not None:
        raise CrossSiteRequest(f"Consent can only be given on this site: {reason}.")


@blueprint.after_request
def _never_cache(response: Response) -> Response:
    if request.endpoint != "consent.static":
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
    return response


@blueprint.errorhandler(HTTPException)
def _error(exc: HTTPException) -> Any:
    if _wants_json() and exc.code is not None:
        return jsonify(error=exc.name, reason=exc.description), exc.code
    return exc


def _record(action: str, choices: dict[str, bool], control: str | None = None) -> BaseResponse:
    """Answer a choice the visitor posted: a redirect back, or the new state as JSON."""
    config = get_config(current_app)
    old = get_consent_state()
    # The header, or the browser's navigator.globalPrivacyControl as posted by
    # our script: either way the gpc categories are refused, never granted.
    gpc = config.gpc and (old.gpc or request.form.get("gpc") == "1")
    new, value = _decide(config, old, choices, gpc)
    response: BaseResponse
    if _wants_json():
        body = new.as_json()
        if config.google is not None:
            # What the banner's script passes to gtag('consent', 'update', ...).
            body["google"] = config.google.update(new)
        response = jsonify(body)
    else:
        response = redirect(safe_next(request.form.get("next"), request.script_root + "/"), 303)
    _commit(response, config, action, old, new, value, control or _control())
    return response


def record_gpc_override(response: BaseResponse) -> BaseResponse:
    """On a page whose ``Sec-GPC`` signal refuses what the stored choice granted,
    rewrite the choice with the gpc categories refused (and expire their cookies,
    write a receipt), so that the opt-out stays once the signal is gone."""
    config = get_config(current_app)
    old = get_consent_state()
    if old.gpc_overrides:
        new, value = _decide(config, old, dict(old.choices), gpc=True)
        _commit(response, config, "gpc", old, new, value, SIGNAL)
    return response


def _decide(
    config: ConsentConfig, old: ConsentState, choices: dict[str, bool], gpc: bool
) -> tuple[ConsentState, str]:
    """The new state and its signed cookie value (the request's state from now on)."""
    if gpc:
        choices = {
            cid: allowed and cid not in config.policy.gpc_ids for cid, allowed in choices.items()
        }
    consent_id = old.consent_id or new_consent_id()
    value, stored = config.codec().sign(config.policy.revision, consent_id, choices)
    new = ConsentState(config.policy, stored.choices, consent_id, stored.decided_at, gpc)
    replace_state(new)
    return new, value


def _commit(
    response: BaseResponse,
    config: ConsentConfig,
    action: str,
    old: ConsentState,
    new: ConsentState,
    value: str,
    control: str,
) -> None:
    """Put a decision into effect: its cookie, the refused cookies expired, its
    receipt, and the signal to the site."""
    _write_cookie(response, config, value)
    _expire_refused(response, config, new)
    if config.receipts is not None:
        _write_receipt(config, action, old, new, control)
    consent_changed.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        old=old,
        new=new,
        action=action,
        consent_id=new.consent_id,
        gpc=new.gpc,
    )


def _write_receipt(
    config: ConsentConfig, action: str, old: ConsentState, new: ConsentState, control: str
) -> None:
    """The site's copy of the decision. Never raises: a down store spools it, and
    a receipt that cannot even be made is logged with what is known."""
    from .receipts import Receipt

    optional = config.policy.optional_ids
    granted = tuple(c for c in optional if new.allows(c))
    assert new.consent_id is not None
    try:
        receipt = Receipt(
            consent_id=new.consent_id,
            revision=config.policy.revision,
            banner_fingerprint=config.banner_fingerprint(),
            locale=config.locale().id,
            granted=granted,
            refused=new.declined,
            unanswered=new.unanswered,
            action=action,
            control=control,
            gpc=new.gpc,
            # Granted in the stored choice, refused now (by the visitor or a signal).
            withdrawal=any(old.choices.get(c, False) and not new.allows(c) for c in optional),
            reconsent=old.consent_id is not None and not old.decided,
        )
    except Exception:
        current_app.logger.exception(
            "consent receipt LOST: could not be made for consent id %s, action %s, granted %s",
            new.consent_id,
            action,
            granted,
        )
        return
    config.receipts.record(receipt)


def _control() -> str:
    """Which part of the interface was used, from the form's ``control`` field."""
    control = request.form.get("control", "api")
    return control if control in CONTROLS else "api"


def _write_cookie(response: BaseResponse, config: ConsentConfig, value: str) -> None:
    name = config.cookie_name_for(request)
    secure = request.is_secure if config.cookie_secure is None else config.cookie_secure
    stale = [config.cookie_name] if name != config.cookie_name else []
    if len(request.cookies.getlist(name)) > 1:
        stale.append(name)  # copies tossed in for a parent domain go before ours
    for header in expiry_headers(
        [n for n in stale if n in request.cookies], request.host, config.cookie_domain
    ):
        response.headers.add("Set-Cookie", header)
    response.set_cookie(
        name,
        value,
        max_age=config.max_age,
        path="/",
        domain=config.cookie_domain,
        secure=secure or name.startswith(HOST_PREFIX),
        httponly=True,
        samesite=config.cookie_samesite,
    )


def _expire_refused(response: BaseResponse, config: ConsentConfig, state: ConsentState) -> None:
    """Expire, in this same response, the cookies the refused categories own, on
    each domain they can live on (bounded: the script expires what is left)."""
    refused = [c for c in config.policy.optional if c.id in state.refused]
    own = {config.cookie_name, HOST_PREFIX + config.cookie_name}
    names = [
        name
        for name in request.cookies
        if name not in own and any(c.owns_cookie(name) for c in refused)
    ]
    for header in expiry_headers(names, request.host, config.cookie_domain):
        response.headers.add("Set-Cookie", header)


@blueprint.post("/accept")
def accept() -> BaseResponse:
    """Allow every optional category."""
    policy = get_config(current_app).policy
    return _record("accept", dict.fromkeys(policy.optional_ids, True))


@blueprint.post("/decline")
def decline() -> BaseResponse:
    """Refuse every optional category; necessary stays on."""
    policy = get_config(current_app).policy
    return _record("decline", dict.fromkeys(policy.optional_ids, False))


@blueprint.post("/save")
def save() -> BaseResponse:
    """Allow exactly the categories named in the ``category`` form field."""
    policy = get_config(current_app).policy
    chosen = _categories_from_form(policy)
    return _record("save", {cid: cid in chosen for cid in policy.optional_ids})


def _categories_from_form(policy: Policy) -> set[str]:
    """The optional category ids in the ``category`` field; anything else is a 400."""
    chosen = request.form.getlist("category")
    if len(chosen) > MAX_CATEGORY_FIELDS:
        raise ConsentBadRequest(f"At most {MAX_CATEGORY_FIELDS} 'category' fields are accepted.")
    known = set(policy.optional_ids)
    for cid in chosen:
        if cid not in known and cid != NECESSARY:
            shown = cid if len(cid) <= 40 else cid[:40] + "…"
            raise ConsentBadRequest(f"Unknown category {shown!r}.")
    return set(chosen) & known


@blueprint.post("/allow")
def allow() -> BaseResponse:
    """Add the categories named in ``category`` to the visitor's choice.

    What embedded content's "always allow" uses: other answers stay as they
    were, and categories never answered stay unanswered.
    """
    policy = get_config(current_app).policy
    granted = _categories_from_form(policy)
    if not granted:
        raise ConsentBadRequest("Name at least one 'category' to allow.")
    old = get_consent_state()
    return _record("allow", {**old.choices, **dict.fromkeys(granted, True)})


@blueprint.post("/gpc", endpoint="gpc")
def gpc_signal() -> BaseResponse:
    """Apply the browser's Global Privacy Control signal to the stored choice:
    the gpc categories refused, every other answer kept. Our script posts it
    when only ``navigator.globalPrivacyControl`` carries the signal."""
    config = get_config(current_app)
    if not config.gpc:
        raise ConsentBadRequest("This site does not read Global Privacy Control signals.")
    old = get_consent_state()
    if not (old.gpc or request.form.get("gpc") == "1"):
        raise ConsentBadRequest("No Global Privacy Control signal: send Sec-GPC: 1 or gpc=1.")
    return _record("gpc", dict(old.choices), control=SIGNAL)


#: The endpoints that record a choice (each a POST).
CHOICE_VIEWS = (accept, decline, save, allow, gpc_signal)


@blueprint.get("/preferences")
def preferences() -> Response | dict[str, Any]:
    """The per-category settings: a full page, or the form alone for the dialog."""
    state = get_consent_state()
    if _wants_json():
        return state.as_json()
    partial = request.args.get("partial") == "1"
    template = "consent/settings.html" if partial else "consent/preferences.html"
    return _page(template, state, heading_level=2 if partial else 1, in_dialog=partial)


@blueprint.get("/policy")
def policy() -> Response:
    """The cookie policy: the banner's link when the site names no privacy page."""
    return _page("consent/policy.html", get_consent_state(), heading_level=2, in_dialog=False)


def _page(template: str, state: ConsentState, **context: Any) -> Response:
    next_path = safe_next(request.args.get("next"), request.script_root + "/")
    body = render(template, **settings_context(state, next_path), **context)
    return Response(body, mimetype="text/html")
