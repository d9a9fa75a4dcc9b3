"""Minify the banner's JavaScript and CSS into the ``*.min.*`` files we serve.

The readable sources stay beside them. Each output starts with the hash of
its source, so a test can tell a stale build without any of these tools:
``make assets`` rebuilds (terser from the npm registry, rcssmin from PyPI).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "consent" / "static" / "consent"
SOURCES = ("consent.js", "gcm.js", "consent.css", "settings.css")
TERSER = "terser@5.36.0"


def source_hash(source: Path) -> str:
    return hashlib.sha256(source.read_bytes()).hexdigest()[:16]


def header(source: Path) -> str:
    return f"/*! flask-consent-banner {source.name} sha256:{source_hash(source)} */\n"


def minified_path(source: Path) -> Path:
    return source.with_name(f"{source.stem}.min{source.suffix}")


def minify(source: Path) -> str:
    if source.suffix == ".js":
        result = subprocess.run(
            [
                "npx",
                "--yes",
                TERSER,
                str(source),
                "--compress",
                "passes=2",
                "--mangle",
                "--ecma",
                "2020",
                "--comments",
                "false",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()
    import rcssmin  # type: ignore[import-not-found,unused-ignore]

    return str(rcssmin.cssmin(source.read_text())).strip()


def main() -> int:
    for name in SOURCES:
        source = STATIC / name
        target = minified_path(source)
        target.write_text(header(source) + minify(source) + "\n")
        before, after = source.stat().st_size, target.stat().st_size
        print(f"{target.name}: {before} -> {after} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
