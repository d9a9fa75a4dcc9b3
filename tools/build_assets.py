"""Minify the banner's JavaScript and CSS into the ``*.min.*`` files we serve.

The readable sources stay beside them. The served files carry no header:
``tools/assets.lock.json`` (never sent to browsers) records the hash of each
source and of what was built from it, so a test can tell a stale or hand-edited
build without any of these tools. ``make assets`` rebuilds (terser from the
npm registry, rcssmin from PyPI).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "consent" / "static" / "consent"
LOCK = ROOT / "tools" / "assets.lock.json"
SOURCES = ("consent.js", "embed.js", "gcm.js", "gpc.js", "consent.css", "settings.css")
TERSER = "terser@5.36.0"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def minified_path(source: Path) -> Path:
    return source.with_name(f"{source.stem}.min{source.suffix}")


def lock_entry(source: Path) -> dict[str, str]:
    """What the lock file says about a source and the file built from it."""
    return {"source": sha256(source), "built": sha256(minified_path(source))}


def read_lock() -> dict[str, dict[str, str]]:
    return dict(json.loads(LOCK.read_text()))


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
                "--format",
                "wrap_func_args=false",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()
    import rcssmin  # type: ignore[import-not-found,unused-ignore]

    return str(rcssmin.cssmin(source.read_text())).strip()


def main() -> int:
    lock = {}
    for name in SOURCES:
        source = STATIC / name
        target = minified_path(source)
        target.write_text(minify(source) + "\n")
        lock[name] = lock_entry(source)
        before, after = source.stat().st_size, target.stat().st_size
        print(f"{target.name}: {before} -> {after} bytes")
    LOCK.write_text(json.dumps(lock, indent=2) + "\n")
    print(f"{LOCK.relative_to(ROOT)}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
