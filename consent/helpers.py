"""Jinja globals (also callable from Python) that put consent into pages.

Every value that reaches HTML is escaped; each helper returns ``Markup``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from gettext import NullTranslations
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date
from flask import current_app, request, url_for
from markupsafe import Markup, escape

from . import texts
from .config import ConsentConfig, g_values, get_config, real_app
from .i18n import LocaleInfo, format_duration
from .page import (
    NEXT_MARK,
    current_page,
    current_path,
    escaped_next_query,
    escaped_path,
    trusted_html,
)
from .policy import Category
from .state import ConsentState, get_consent_state

_STATIC_DIR = Path(__file__).parent / "static"


def get_locale() -> str:
    """The locale the banner speaks on this request (``de``, ``pt_BR``, ``zh_Hant``)."""
    app = real_app()
    return get_config(app).locale(app).id


@cache
def _asset_version(filename: str) -> str:
    """A short content hash, so a changed file gets a new URL and old ones can be cached."""
    return hashlib.sha256((_STATIC_DIR / filename).read_bytes()).hexdigest()[:10]


def asset_url(filename: str) -> str:
    """The URL of one of our static files, with its content hash (built once per root)."""
    urls = consent_urls()
    url = urls.get(filename)
    if url is None:
        url = urls[filename] = url_for(
            "consent.static", filename=filename, v=_asset_version(filename)
        )
    return url


def first_layer(
    config: ConsentConfig, locale: LocaleInfo, gettext: Callable[[str], str]
) -> tuple[Markup, Markup]:
    """The banner's sentence with its privacy-policy link, and its second line: the
    purposes the sentence did not name, then how to change the choice."""
    href = config.privacy_url or consent_urls()["policy"]
    link = Markup('<a href="%s">%s</a>') % (href, gettext(texts.PRIVACY_POLICY))
    listed = texts.purposes(config.policy, locale, gettext)
    message = texts.intro_message(config.policy)
    sentence = _fill(gettext, message, privacy_policy=link, purposes=listed)
    note = escape(gettext(texts.WITHDRAWAL_NOTE))
    if listed and message == texts.ANALYTICS_INTRO:
        note = _fill(gettext, texts.OTHER_PURPOSES, purposes=listed) + " " + note
    return sentence, note


def _fill(gettext: Callable[[str], str], message: str, **values: Any) -> Markup:
    """A translated message with its placeholders filled in, each value escaped
    (``Markup`` values are kept as they are)."""
    try:
        return escape(gettext(message)) % values
    except (KeyError, ValueError, TypeError):
        # A catalog with a broken placeholder must not take the page down.
        current_app.logger.warning("broken placeholder in the translation of %r", message)
        return escape(message) % values


def make_gettext(translations: NullTranslations) -> Callable[..., str]:
    """A ``_(message, **variables)`` for templates that never fails on a bad catalog."""

    def gettext(message: str, **variables: Any) -> str:
        if not variables:
            return translations.gettext(message)
        return _fill(translations.gettext, message, **variables)

    return gettext


def render_context(
    state: ConsentState | None = None, next_path: str | None = None
) -> dict[str, Any]:
    """What every consent template receives (cheap: the banner is on every page)."""
    config = get_config(current_app)
    locale = config.locale()
    state = state or get_consent_state()
    gettext = make_gettext(config.translations())
    return {
        "_": gettext,
        "locale": locale,
        "state": state,
        "config": config,
        "nonce": config.nonce(),
        "next_path": next_path or current_path(),
        "asset_url": asset_url,
        "urls": consent_urls(),
        # ``data-consent-theme`` of every consent box; none follows the page.
        "theme": None if config.theme == "auto" else config.theme,
    }


def banner_context(state: ConsentState, next_path: str | None = None) -> dict[str, Any]:
    """The context of every template plus the banner's first layer."""
    context = render_context(state, next_path)
    intro, note = first_layer(context["config"], context["locale"], context["_"])
    return {**context, "intro": intro, "note": note}


def settings_context(
    state: ConsentState | None = None, next_path: str | None = None
) -> dict[str, Any]:
    """The banner's context plus what the settings and the cookie table show."""
    context = render_context(state, next_path)
    config, locale, state = context["config"], context["locale"], context["state"]
    gettext, translations = context["_"], config.translations()
    return {
        **context,
        "categories": [
            (category, *texts.category_texts(category, locale, gettext))
            for category in state.policy.categories
        ],
        "cookie_rows": {
            category.id: cookie_rows(
                category,
                locale,
                translations,
                # The choice cookie as this request sees it (``__Host-consent`` on https).
                {config.cookie_name: config.cookie_name_for(request)},
            )
            for category in state.policy.categories
        },
        "decided_on": format_date(state.decided_at, format="long", locale=locale.id)
        if state.decided_at
        else None,
        "kept_for": format_duration(config.max_age, locale.id, translations),
    }


def render(template: str, **context: Any) -> Markup:
    """Render one of our templates (compiled once by Jinja's cache)."""
    html = current_app.jinja_env.get_template(template).render(context)
    return Markup(html)  # noqa: S704 - autoescaped template output


#: What a helper with nothing to add returns (``Markup`` is immutable).
_EMPTY = Markup()


#: Script roots whose URLs are kept; beyond it the cache starts over.
MAX_SCRIPT_ROOTS = 64


def consent_urls() -> dict[str, str]:
    """The blueprint's URLs under this request's script root, built once each."""
    config = get_config(current_app)
    root = request.script_root
    urls = config.url_cache.get(root)
    if urls is None:
        if len(config.url_cache) >= MAX_SCRIPT_ROOTS:
            config.url_cache.clear()
        urls = {
            name: url_for(f"consent.{name}")
            for name in ("accept", "decline", "save", "allow", "gpc", "preferences", "policy")
        }
        config.url_cache[root] = urls
    return urls


def consent_banner() -> Markup:
    """The banner (before a choice) or the way back into the settings (after).

    The HTML depends only on the locale and the state, so it is rendered once
    per combination and the current path filled in; not in debug mode, with a
    CSP nonce (it changes per request) or with ``CONSENT_CACHE_BANNER`` off.
    """
    page = current_page()
    if page.fragments is None or not page.config.cache_banner:
        return render("consent/banner.html", **banner_context(page.state))
    pieces = page.fragments.get("banner")
    if pieces is None:
        html = render("consent/banner.html", **banner_context(page.state, NEXT_MARK))
        pieces = page.remember_around_path("banner", html)
    # Rendered by our autoescaped template; the path is escaped.
    return trusted_html(escaped_path(page.path).join(pieces))


def consent_settings_link(label: str | None = None, **attrs: Any) -> Markup:
    """A link that reopens the settings, for a footer; works without JavaScript."""
    page = current_page()
    plain = label is None and not attrs
    if plain and page.fragments is not None:
        pieces = page.fragments.get("link")
        if pieces is not None:
            return trusted_html(escaped_next_query(page.path).join(pieces))
    attrs.setdefault("class", "consent-settings-link")
    link = Markup("<a%s>%s</a>") % (
        html_attrs(
            {
                "href": f"{consent_urls()['preferences']}?{NEXT_MARK}",
                "data-consent-open": True,
                # Its text is in the banner's language, which may not be the page's.
                "lang": page.locale.lang,
                "dir": page.locale.direction,
                **attrs,
            }
        ),
        label if label is not None else page.config.translations().gettext("Cookie settings"),
    )
    if not plain:  # a one-off link: nothing is kept
        return trusted_html(str.replace(link, NEXT_MARK, escaped_next_query(page.path)))
    pieces = page.remember_around_path("link", link)
    return trusted_html(escaped_next_query(page.path).join(pieces))


def html_attrs(attrs: Mapping[str, Any]) -> Markup:
    """`` name="value"`` pairs; ``True`` is a bare attribute, ``False``/``None`` is left out.

    Python names map to HTML ones: a trailing ``_`` is dropped (``async_``) and
    other ``_`` become ``-`` (``data_domain`` → ``data-domain``).
    """
    parts = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = _attribute_name(key)
        parts.append(f" {name}" if value is True else f' {name}="{escape(value)}"')
    return Markup("".join(parts))  # noqa: S704 - names checked, values escaped


_ATTRIBUTE_NAME = re.compile(r"^[^\s\"'>/=]+$")


@cache
def _attribute_name(key: str) -> str:
    name = key.rstrip("_").replace("_", "-")
    if not _ATTRIBUTE_NAME.match(name):
        raise ValueError(f"invalid HTML attribute name {name!r}")
    return name


def consent_script(
    category: str,
    src: str | None = None,
    *,
    caller: Callable[[], str] | None = None,
    **attrs: Any,
) -> Markup:
    """A ``<script>`` that runs only with consent for ``category``.

    Allowed: an ordinary script. Not (yet) allowed: an inert ``text/plain``
    script that the banner's JavaScript turns into a live one as soon as the
    visitor allows the category, without a reload.
    """
    page = current_page()
    # The body is the page author's own template block, not visitor input.
    body = caller() if caller is not None else ""
    key: tuple[Any, ...] | None = None
    if page.fragments is not None:
        key = ("script", category, src, body)
        if attrs:
            # With each value's type: True and 1 are equal keys but different markup.
            key += tuple((name, type(value), value) for name, value in attrs.items())
        try:
            kept: Markup | None = page.fragments.get(key)
        except TypeError:  # an unhashable attribute value: build it every time
            key = kept = None
        if kept is not None:
            return kept
    allowed = page.state.allows(category)
    attrs = {"data-consent": category, **attrs}
    if "nonce" not in attrs:
        # Carried over by the banner's script when it activates an inert one.
        attrs["nonce"] = page.nonce
    script_type = attrs.pop("type", None)
    if allowed:
        final = {"type": script_type, "src": src, **attrs}
    else:
        final = {"type": "text/plain", "data-type": script_type, "data-src": src, **attrs}
    markup = Markup("<script%s>%s</script>") % (html_attrs(final), Markup(body))  # noqa: S704
    if key is not None:
        markup = trusted_html(markup)
        page.remember(key, markup)
    return markup


@dataclass(frozen=True)
class CookieRow:
    """One line of the cookie table, localized."""

    name: str
    provider: str
    purpose: str
    duration: str


def cookie_rows(
    category: Category,
    locale: LocaleInfo,
    translations: NullTranslations,
    names: Mapping[str, str] | None = None,
) -> list[CookieRow]:
    """The category's declared cookies in the visitor's language; ``names`` maps a
    declared name to the one the browser holds."""
    gettext = translations.gettext
    names = names or {}
    rows = []
    for cookie in category.cookies:
        lifetime = cookie.lifetime
        if lifetime is None:
            duration = ""
        elif isinstance(lifetime, int):
            duration = (
                gettext("Session")
                if lifetime == 0
                else format_duration(lifetime, locale.id, translations)
            )
        else:
            duration = texts.pick(lifetime, locale, gettext)
        rows.append(
            CookieRow(
                names.get(cookie.name, cookie.name),
                texts.pick(cookie.provider, locale, gettext)
                if cookie.provider
                else gettext("This website"),
                texts.pick(cookie.purpose, locale, gettext) if cookie.purpose else "",
                duration,
            )
        )
    return rows


def consent_cookie_table() -> Markup:
    """Every declared cookie, grouped by category, for the site's privacy page."""
    return render("consent/cookie_table.html", **settings_context())


def consent_head() -> Markup:
    """For ``<head>``, before any Google tag: the Consent Mode ``default``.

    Empty unless ``CONSENT_GOOGLE_CONSENT_MODE`` is on. A returning visitor's
    default already reflects their choice, so tags never flash from denied to
    granted.
    """
    page = current_page()
    google = page.config.google
    if google is None:
        return _EMPTY
    kept = page.fragments.get("head") if page.fragments is not None else None
    if kept is None:
        settings = _single_quoted_json(google.page_settings(page.state))
        kept = Markup("<script%s data-consent-gcm='%s'></script>") % (
            html_attrs({"src": asset_url("consent/gcm.min.js"), "nonce": page.nonce}),
            Markup(settings),  # noqa: S704 - escaped for a single-quoted value below
        )
        kept = trusted_html(kept)
        page.remember("head", kept)
    return kept


def _single_quoted_json(value: Any) -> str:
    """JSON for an attribute value in single quotes, where its many double quotes
    need no escaping (``&#34;`` would make the page's head tag twice as long)."""
    text = json.dumps(value, separators=(",", ":"))
    return (
        text.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;")
    )


def consent_iframe(
    category: str, src: str, title: str, *, provider: str | None = None, **attrs: Any
) -> Markup:
    """An ``<iframe>`` that loads only with consent for ``category``.

    Until then a localized placeholder says what it is and who provides it,
    with "Load content" (this once) and "Always allow" (records consent); under
    a Global Privacy Control signal that refuses the category, it says so
    instead of offering "Always allow". Once allowed, the iframe comes with its
    placeholder kept aside, which the script puts back if consent is withdrawn.
    """
    state = get_consent_state()
    frame = None
    if state.allows(category):
        final = {"src": src, "title": title, "loading": "lazy", "data-consent-frame": category}
        frame = Markup("<iframe%s></iframe>") % html_attrs({**final, **attrs})
    context = render_context(state)
    category_obj = state.policy.get(category)
    assert category_obj is not None  # allows() raised otherwise
    label = texts.category_texts(category_obj, context["locale"], context["_"])[0]
    extra = {_attribute_name(name): value for name, value in attrs.items()}
    return render(
        "consent/embed.html",
        **context,
        embed_category=category,
        embed_label=label,
        embed_src=src,
        embed_title=title,
        embed_provider=provider or urlsplit(src).hostname or src,
        embed_attrs=json.dumps(extra, separators=(",", ":")),
        embed_gpc=context["config"].gpc and category in state.policy.gpc_ids,
        embed_frame=frame,
        embed_assets=_first_embed_of_page(),
    )


#: On ``g`` once a page has the embed placeholders' stylesheet and script.
EMBED_ASSETS_G_KEY = "_consent_embed_assets"


def _first_embed_of_page() -> bool:
    """Whether this is the page's first placeholder, which brings their stylesheet
    and script (a script included twice would run twice)."""
    kept = g_values()
    first = EMBED_ASSETS_G_KEY not in kept
    kept[EMBED_ASSETS_G_KEY] = True
    return first
