"""Put the last ``make faults`` result into BENCHMARKS.md (between its markers).

``tests/test_receipt_faults_load.py`` writes ``bench/faults-results.json`` when
``make faults`` runs it; ``bench/run.py`` includes the same block when it
rewrites the file, so neither run erases the other's figures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.common import write_section

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "faults-results.json"
START, END = "<!-- faults -->", "<!-- /faults -->"


def faults_block() -> str:
    """The Markdown section for the last fault run, or a line saying there was none."""
    if not RESULTS.exists():
        return f"{START}\n## Receipts under faults\n\nNo `make faults` run recorded yet.\n{END}"
    data = json.loads(RESULTS.read_text())
    rows = "\n".join(
        f"| {name} | {f['decisions']:,} | {f['stored']:,} | {f['lost']} | {f['doubled']}"
        f" | {f['lost_logged']:,} | {f['failed']} | {f['seconds']:.0f} s |"
        for name, f in data["faults"].items()
    )
    totals = {
        key: sum(f[key] for f in data["faults"].values())
        for key in ("decisions", "stored", "lost", "doubled", "lost_logged", "failed")
    }
    return (
        f"{START}\n## Receipts under faults\n\n"
        f"`make faults` on {data['date']}: {len(data['faults'])} faults,"
        f" **{totals['decisions']:,} decisions answered, {totals['lost']} receipts lost,"
        f" {totals['doubled']} doubled**, {data['failures']} failed tests,"
        f" {data['seconds']:.0f} s. Each fault runs the example site under gunicorn"
        f" ({data['workers']} sync workers) with {data['visitors']} visitors posting"
        " decisions at once over HTTP; each decision answered is counted per visitor"
        " (consent id) against the receipts stored for that visitor once the spool is"
        " written. *Lost*: a decision answered without its receipt stored; *doubled*:"
        " a decision stored twice; *logged as LOST*: receipts the full spool could"
        " not take, each logged at ERROR with its JSON, which the test then puts back"
        " with `flask consent receipts import` (they count as stored after that);"
        " *failed*: a request not answered 200.\n\n"
        "| fault | decisions answered | receipts stored | lost | doubled"
        " | logged as LOST | failed | time |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
        f"{rows}\n{END}"
    )


def main() -> int:
    write_section(START, END, faults_block())
    return 0


if __name__ == "__main__":
    sys.exit(main())
