"""The minified files we serve are built from the current sources."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
spec = importlib.util.spec_from_file_location("build_assets", ROOT / "tools" / "build_assets.py")
assert spec is not None
assert spec.loader is not None
build_assets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_assets)


def test_lock_file_lists_every_source() -> None:
    assert sorted(build_assets.read_lock()) == sorted(build_assets.SOURCES)


@pytest.mark.parametrize("name", build_assets.SOURCES)
def test_minified_file_matches_its_source(name: str) -> None:
    source = build_assets.STATIC / name
    built = build_assets.minified_path(source)
    assert built.is_file(), f"{built.name} is missing: run 'make assets'"
    locked = build_assets.read_lock().get(name, {})
    current = build_assets.lock_entry(source)
    assert locked.get("source") == current["source"], (
        f"{built.name} is older than {name}: run 'make assets'"
    )
    assert locked.get("built") == current["built"], (
        f"{built.name} was changed by hand: edit {name} and run 'make assets'"
    )
    assert built.stat().st_size < source.stat().st_size


@pytest.mark.parametrize("name", build_assets.SOURCES)
def test_served_files_carry_no_comment(name: str) -> None:
    """Every byte of a served file is code: provenance lives in the lock file."""
    built = build_assets.minified_path(build_assets.STATIC / name).read_text()
    assert not built.startswith("/*")


def test_first_visit_assets_stay_small() -> None:
    """What every first visit downloads besides the HTML (guards against growth;
    make bench reports the full figure)."""
    total = sum(
        len(gzip.compress((build_assets.STATIC / name).read_bytes(), 9))
        for name in ("consent.min.js", "consent.min.css")
    )
    assert total < 2500
