"""What the banner adds to a page, in bytes, raw and ``gzip -9``, vs two libraries."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from bench.common import BENCH_SECRET, gzip_size
from consent import Consent
from consent.helpers import consent_banner

#: The categories of the measured banner (the brief: analytics and marketing).
CATEGORIES = ["analytics", "marketing"]
ASSET_RE = re.compile(r'<(?:link[^>]*\bhref|script[^>]*\bsrc)="([^"]+)"')


@dataclass(frozen=True)
class Size:
    raw: int
    gzip: int

    @classmethod
    def of(cls, data: bytes) -> Size:
        return cls(len(data), gzip_size(data))

    def __add__(self, other: Size) -> Size:
        return Size(self.raw + other.raw, self.gzip + other.gzip)

    def text(self) -> str:
        return f"{self.raw:,} B raw / {self.gzip:,} B gzip"


@dataclass(frozen=True)
class BytesResult:
    html_first: Size
    html_returning: Size
    assets: dict[str, Size]  # URL path -> size, as the banner links them
    #: What the returning visitor's banner links besides (gpc.js, after a grant
    #: that a Global Privacy Control signal would refuse).
    returning_extra: dict[str, Size]
    cookie_header: int  # bytes of "consent=<value>" a returning visitor sends
    vanilla_version: str
    vanilla_js: Size
    vanilla_css: Size
    vanilla_config: Size
    klaro_version: str
    klaro_js: Size

    @property
    def assets_total(self) -> Size:
        return sum(self.assets.values(), Size(0, 0))

    @property
    def first_visit(self) -> Size:
        return self.html_first + self.assets_total

    @property
    def returning_cold(self) -> Size:
        extra = sum(self.returning_extra.values(), Size(0, 0))
        return self.html_returning + self.assets_total + extra

    @property
    def vanilla(self) -> Size:
        return self.vanilla_js + self.vanilla_css

    @property
    def klaro(self) -> Size:
        return self.klaro_js


def _banner_app(instance: Path) -> Flask:
    app = Flask(__name__, instance_path=str(instance))
    app.config.update(SECRET_KEY=BENCH_SECRET, CONSENT_CATEGORIES=CATEGORIES)
    Consent(app)
    return app


def _render(app: Flask, cookie: str | None) -> str:
    headers = {"Accept-Language": "en"}
    if cookie:
        headers["Cookie"] = f"consent={cookie}"
    with app.test_request_context("/", headers=headers):
        return str(consent_banner())


def _version(package_dir: Path) -> str:
    return str(json.loads((package_dir / "package.json").read_text())["version"])


def measure(node_modules: Path, vanilla_config: str, workdir: Path) -> BytesResult:
    app = _banner_app(workdir / "bytes")
    client = app.test_client()
    first = _render(app, None)
    accepted = client.post("/consent/accept", headers={"Accept": "application/json"})
    if accepted.status_code != 200:
        raise RuntimeError(f"POST /consent/accept answered {accepted.status_code}")
    cookie = client.get_cookie("consent")
    if cookie is None:
        raise RuntimeError("no consent cookie after accepting")
    returning = _render(app, cookie.value)
    if "consent-banner" in returning or "consent-banner" not in first:
        raise RuntimeError("the banner did not render as expected")

    def fetch(urls: list[str]) -> dict[str, Size]:
        sizes = {}
        for url in urls:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {response.status_code}")
            sizes[url.split("?", 1)[0]] = Size.of(response.get_data())
        return sizes

    assets = fetch(ASSET_RE.findall(first))
    extra = fetch(sorted(set(ASSET_RE.findall(returning)) - set(ASSET_RE.findall(first))))

    vanilla = node_modules / "vanilla-cookieconsent"
    klaro = node_modules / "klaro"
    return BytesResult(
        html_first=Size.of(first.encode()),
        html_returning=Size.of(returning.encode()),
        assets=assets,
        returning_extra=extra,
        cookie_header=len(f"consent={cookie.value}"),
        vanilla_version=_version(vanilla),
        vanilla_js=Size.of((vanilla / "dist" / "cookieconsent.umd.js").read_bytes()),
        vanilla_css=Size.of((vanilla / "dist" / "cookieconsent.css").read_bytes()),
        vanilla_config=Size.of(vanilla_config.encode()),
        klaro_version=_version(klaro),
        klaro_js=Size.of((klaro / "dist" / "klaro.js").read_bytes()),
    )
