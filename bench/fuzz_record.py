"""Put the last ``make fuzz`` result into BENCHMARKS.md (between its markers).

``tests/test_fuzz.py`` writes ``bench/fuzz-results.json`` when it runs the
long profile; ``bench/run.py`` also includes that block when it rewrites the
file, so neither run erases the other's figures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.common import write_section

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "fuzz-results.json"
START, END = "<!-- fuzz -->", "<!-- /fuzz -->"


def fuzz_block() -> str:
    """The Markdown section for the last long fuzz run, or a line saying there was none."""
    if not RESULTS.exists():
        return f"{START}\n## Fuzzing\n\nNo `make fuzz` run recorded yet.\n{END}"
    data = json.loads(RESULTS.read_text())
    rows = "\n".join(
        f"| `{name}` | {count:,} |" for name, count in sorted(data["examples"].items())
    )
    total = sum(data["examples"].values())
    return (
        f"{START}\n## Fuzzing\n\n"
        f"`make fuzz` on {data['date']}: **{total:,} examples**, "
        f"{data['failures']} failures, {data['seconds']:.0f} s "
        "(hypothesis property tests against the real app: never a 5xx, never an"
        " off-site redirect, never an allowed category without a valid signed"
        " choice, every valid state round-trips through the cookie).\n\n"
        "| property | examples |\n| --- | --- |\n"
        f"{rows}\n{END}"
    )


def main() -> int:
    write_section(START, END, fuzz_block())
    return 0


if __name__ == "__main__":
    sys.exit(main())
