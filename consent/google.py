"""Google Consent Mode v2: the ``default`` a page starts with, and the mapping
from our categories to Google's consent types for each ``update``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError
from .policy import GOOGLE_CONSENT_TYPES

if TYPE_CHECKING:
    from .state import ConsentState


@dataclass(frozen=True)
class GoogleConsentMode:
    """Settings for ``gtag('consent', ...)`` and the commands that go with it."""

    regions: tuple[Mapping[str, Any], ...] = ()
    url_passthrough: bool = False
    ads_data_redaction: bool = False
    wait_for_update: int = 500

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GoogleConsentMode | None:
        if not config["CONSENT_GOOGLE_CONSENT_MODE"]:
            return None
        regions = config["CONSENT_GOOGLE_REGIONS"]
        if isinstance(regions, Mapping | str) or not isinstance(regions, Sequence):
            raise ConfigurationError("CONSENT_GOOGLE_REGIONS must be a list of mappings")
        for entry in regions:
            region = entry.get("region") if isinstance(entry, Mapping) else None
            if not region or isinstance(region, str):
                raise ConfigurationError(
                    "each CONSENT_GOOGLE_REGIONS entry needs 'region': a list such as"
                    " ['ES', 'US-CA']"
                )
            bad = {
                k: v
                for k, v in entry.items()
                if k != "region"
                and (k not in GOOGLE_CONSENT_TYPES or v not in ("granted", "denied"))
            }
            if bad:
                raise ConfigurationError(
                    f"CONSENT_GOOGLE_REGIONS entry has invalid consent types or values: {bad}"
                )
        wait = config["CONSENT_GOOGLE_WAIT_FOR_UPDATE"]
        if isinstance(wait, bool) or not isinstance(wait, int) or wait < 0:
            raise ConfigurationError("CONSENT_GOOGLE_WAIT_FOR_UPDATE must be milliseconds (int)")
        return cls(
            tuple(dict(r) for r in regions),
            bool(config["CONSENT_GOOGLE_URL_PASSTHROUGH"]),
            bool(config["CONSENT_GOOGLE_ADS_DATA_REDACTION"]),
            wait,
        )

    @staticmethod
    def consent(state: ConsentState) -> dict[str, str]:
        """Every consent type as granted or denied for this visitor."""
        granted = {"security_storage"}
        for category in state.policy.optional:
            if state.allows(category.id):
                granted.update(category.google_consent)
        return {t: "granted" if t in granted else "denied" for t in sorted(GOOGLE_CONSENT_TYPES)}

    @staticmethod
    def update(state: ConsentState) -> dict[str, str]:
        """The ``update`` for a decision: the types the categories map to."""
        mapped = {t for c in state.policy.optional for t in c.google_consent}
        return {t: v for t, v in GoogleConsentMode.consent(state).items() if t in mapped}

    def page_settings(self, state: ConsentState) -> dict[str, Any]:
        """What the head script needs: the default (this visitor's stored choice,
        all denied before one) and the commands that must precede any tag.

        Options left at their defaults are left out: this goes into every page.
        """
        settings: dict[str, Any] = {
            "default": {**self.consent(state), "wait_for_update": self.wait_for_update}
        }
        if self.regions:
            settings["regions"] = [dict(r) for r in self.regions]
        if self.url_passthrough:
            settings["url_passthrough"] = True
        if self.ads_data_redaction:
            settings["ads_data_redaction"] = True
        return settings
