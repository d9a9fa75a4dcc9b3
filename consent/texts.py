"""The words the banner and the settings show, and how each is chosen.

The English source strings live here once, marked for extraction; they are
translated where they are shown. Site-defined texts (a category's label, a
cookie's purpose) are a string looked up in the catalogs or a mapping of
locale to text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from babel.lists import format_list

from .i18n import N_, LocaleInfo
from .policy import Category, Policy, Text

TITLE = N_("This website uses cookies")

#: The first layer's sentence whenever analytics is asked about: the seed
#: site's wording, word for word in German.
ANALYTICS_INTRO = N_(
    "We use cookies for analytics to improve our website."
    " Read our %(privacy_policy)s for more information."
)

#: The first layer's sentence when analytics is not asked about: it names
#: every optional category, so a visitor knows what "Accept" grants.
PURPOSES_INTRO = N_(
    # TRANSLATORS: %(purposes)s is a list of category names such as
    # "Analytics, Marketing and Preferences", joined in your language's way.
    "We use cookies for these purposes: %(purposes)s."
    " Read our %(privacy_policy)s for more information."
)

#: After :data:`ANALYTICS_INTRO`, the other optional categories.
OTHER_PURPOSES = N_(
    # TRANSLATORS: %(purposes)s is a list of category names such as
    # "Marketing and Preferences", joined in your language's way.
    "We also use cookies for these purposes: %(purposes)s."
)

#: The first layer's second line: withdrawal is as easy as consent (GDPR Art. 7(3)).
WITHDRAWAL_NOTE = N_("You can change or withdraw your choice at any time in the cookie settings.")

PRIVACY_POLICY = N_("privacy policy")

#: The first layer's controls, in the order a visitor meets them.
BUTTONS = (N_("Settings"), N_("Decline"), N_("Accept"))

#: Label and description of the categories that ship translated.
BUILTIN_TEXTS: Mapping[str, tuple[str, str]] = {
    "necessary": (
        N_("Necessary"),
        N_(
            "These cookies are needed for the website to work,"
            " for example to remember your cookie choice."
        ),
    ),
    "analytics": (
        N_("Analytics"),
        N_(
            "These cookies help us understand how visitors use the website,"
            " so that we can improve it."
        ),
    ),
    "marketing": (
        N_("Marketing"),
        N_(
            "These cookies are used to show you relevant advertising"
            " and to measure how well it works."
        ),
    ),
    "preferences": (
        N_("Preferences"),
        N_("These cookies remember settings such as your language or region."),
    ),
}


def pick(text: Text, locale: LocaleInfo, gettext: Callable[[str], str]) -> str:
    """A site-defined text in ``locale``: a string through the catalogs, or the
    mapping's entry for the locale, its language, English, or the first one."""
    if isinstance(text, str):
        return gettext(text)
    for key in (locale.id, locale.id.split("_", 1)[0], "en"):
        if key in text:
            return text[key]
    return next(iter(text.values()), "")


def category_texts(
    category: Category, locale: LocaleInfo, gettext: Callable[[str], str]
) -> tuple[str, str]:
    """The localized label and description of a category."""
    label, description = BUILTIN_TEXTS.get(category.id, ("", ""))
    return (
        pick(category.label, locale, gettext) if category.label else gettext(label),
        pick(category.description, locale, gettext)
        if category.description
        else (gettext(description) if description else ""),
    )


def intro_message(policy: Policy) -> str:
    """Which first-layer sentence the policy takes (its English source)."""
    return ANALYTICS_INTRO if "analytics" in policy.optional_ids else PURPOSES_INTRO


def purposes(policy: Policy, locale: LocaleInfo, gettext: Callable[[str], str]) -> str:
    """The labels of the optional categories the first sentence does not name,
    as one list in the visitor's language ("" when it names them all)."""
    skip = "analytics" if intro_message(policy) == ANALYTICS_INTRO else None
    labels = [category_texts(c, locale, gettext)[0] for c in policy.optional if c.id != skip]
    return format_list(labels, locale=locale.id) if labels else ""
