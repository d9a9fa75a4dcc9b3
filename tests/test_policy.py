from __future__ import annotations

import pytest

from consent.errors import ConfigurationError
from consent.policy import NECESSARY, build_policy


def test_necessary_is_always_first_and_not_optional() -> None:
    policy = build_policy({"analytics": {}}, "1")
    assert [c.id for c in policy.categories] == [NECESSARY, "analytics"]
    assert policy.optional_ids == ("analytics",)


def test_list_form_and_integer_revision() -> None:
    policy = build_policy(["analytics", "marketing"], 3)
    assert policy.optional_ids == ("analytics", "marketing")
    assert policy.revision == "3"


def test_cookie_patterns_are_globs() -> None:
    policy = build_policy({"analytics": {"cookies": ["_ga", "_ga_*", "_pk_id.?"]}}, "1")
    analytics = policy.get("analytics")
    assert analytics is not None
    assert analytics.owns_cookie("_ga")
    assert analytics.owns_cookie("_ga_ABC123")
    assert analytics.owns_cookie("_pk_id.1")
    assert not analytics.owns_cookie("_gab")
    assert not analytics.owns_cookie("session")
    assert policy.cookie_patterns(["analytics"]) == ["_ga", "_ga_*", "_pk_id.?"]
    assert policy.cookie_patterns([]) == []


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        ({"necessary": {}}, "always on"),
        ({"Bad Id": {}}, "lowercase"),
        ({"stats": {}}, "needs a 'label'"),
        ({"analytics": {"colour": "red"}}, "unknown option"),
        ({"analytics": {"cookies": "_ga"}}, "list of patterns"),
        ({"analytics": ["_ga"]}, "must be a mapping"),
        ({"analytics": {"label": 3}}, "string or a mapping"),
        ("analytics", "not a string"),
        (42, "mapping or a list"),
        (["analytics", "analytics"], "listed twice"),
    ],
)
def test_configuration_mistakes_fail_loudly(categories: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_policy(categories, "1")


@pytest.mark.parametrize("revision", ["", None, True, 1.5])
def test_revision_must_be_a_string_or_int(revision: object) -> None:
    with pytest.raises(ConfigurationError, match="CONSENT_REVISION"):
        build_policy({"analytics": {}}, revision)


def test_custom_category_with_label_mapping() -> None:
    policy = build_policy(
        {"video": {"label": {"en": "Videos", "de": "Videos"}, "description": "Embedded players"}},
        "1",
    )
    video = policy.get("video")
    assert video is not None
    assert video.label == {"en": "Videos", "de": "Videos"}
    assert video.description == "Embedded players"
