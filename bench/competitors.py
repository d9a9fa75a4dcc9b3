"""The two libraries we compare with, from the npm registry, and their configuration."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

#: Latest vanilla-cookieconsent 3.x and klaro 0.7.x (npm semver ranges).
PACKAGES = ("vanilla-cookieconsent@3", "klaro@~0.7")


def npm_install(prefix: Path, timeout: float = 300.0) -> Path:
    """``npm install --prefix <prefix>`` both packages; returns their node_modules."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: install Node.js 18+ (apt-get install nodejs npm)")
    prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--no-package-lock",
            "--loglevel=error",
            *PACKAGES,
        ],
        check=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    return prefix / "node_modules"


#: HTML elements without an end tag.
VOID = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"})


class _BannerParser(HTMLParser):
    """Collects the texts of our banner without depending on attribute order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []  # "banner" / "reopen" / "" for each open element
        self.lang = ""
        self.title: list[str] = []
        self.sentence: list[str] = []
        self.buttons: list[tuple[dict[str, str | None], list[str]]] = []
        self.reopen: list[str] = []
        self._where = ""  # "title", "sentence", "button", "reopen" while inside one
        self._paragraphs = 0

    def _area(self) -> str:
        return next((a for a in reversed(self.stack) if a), "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in VOID:
            if self._where == "sentence":
                self.sentence.append(self.get_starttag_text() or "")
            return
        area = {"consent-banner": "banner", "consent-reopen": "reopen"}.get(a.get("id") or "", "")
        self.stack.append(area)
        if area == "banner":
            self.lang = a.get("lang") or ""
        where = self._area()
        if where == "banner" and tag == "h2":
            self._where = "title"
        elif where == "banner" and tag == "p" and self._paragraphs == 0 and not self._where:
            self._paragraphs += 1
            self._where = "sentence"
        elif self._where == "sentence":
            self.sentence.append(self.get_starttag_text() or "")
        elif where == "banner" and tag == "button":
            self.buttons.append((a, []))
            self._where = "button"
        elif where == "reopen" and tag == "button":
            self._where = "reopen"

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if self.stack:
            self.stack.pop()
        if self._where == "sentence" and tag != "p":
            self.sentence.append(f"</{tag}>")
        elif self._where and tag in ("h2", "p", "button"):
            self._where = ""

    def handle_data(self, data: str) -> None:
        if self._where == "title":
            self.title.append(data)
        elif self._where == "sentence":
            self.sentence.append(html.escape(data, quote=False))
        elif self._where == "button":
            self.buttons[-1][1].append(data)
        elif self._where == "reopen":
            self.reopen.append(data)


def banner_texts(page: str) -> dict[str, str]:
    """Language, title, sentence (with its link) and button labels of our rendered banner."""
    parser = _BannerParser()
    parser.feed(page)
    parser.close()

    def text(parts: list[str]) -> str:
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    labels: dict[str, str] = {}
    for attrs, parts in parser.buttons:
        if "data-consent-open" in attrs:
            labels["settings"] = text(parts)
        elif "decline" in (attrs.get("formaction") or ""):
            labels["decline"] = text(parts)
        else:
            labels.setdefault("accept", text(parts))
    texts = {
        "lang": parser.lang,
        "title": text(parser.title),
        "description": text(parser.sentence),
        "reopen": text(parser.reopen),
        **labels,
    }
    missing = [
        k
        for k in ("lang", "title", "description", "settings", "decline", "accept", "reopen")
        if not texts.get(k)
    ]
    if missing:
        raise RuntimeError(f"banner texts not found: {', '.join(missing)}")
    return texts


def vanilla_config(texts: dict[str, str]) -> str:
    """``CookieConsent.run({...})`` showing the same texts and categories as our banner."""
    lang = texts["lang"]
    config = {
        # Its default hides the banner from automated browsers (navigator.webdriver).
        "hideFromBots": False,
        "categories": {
            "necessary": {"enabled": True, "readOnly": True},
            "analytics": {},
            "media": {},
        },
        "language": {
            "default": lang,
            "translations": {
                lang: {
                    "consentModal": {
                        "title": texts["title"],
                        "description": texts["description"],
                        "acceptAllBtn": texts["accept"],
                        "acceptNecessaryBtn": texts["decline"],
                        "showPreferencesBtn": texts["settings"],
                    },
                    "preferencesModal": {
                        "title": texts["reopen"],
                        "acceptAllBtn": texts["accept"],
                        "acceptNecessaryBtn": texts["decline"],
                        "savePreferencesBtn": texts["settings"],
                        "sections": [],
                    },
                }
            },
        },
    }
    body = json.dumps(config, ensure_ascii=False, separators=(",", ":"))
    return f"CookieConsent.run({body});"
