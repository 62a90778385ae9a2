"""Run the reliability suite and write its category table into ``docs/reliability.md``.

Usage (from the repository root)::

    python tests/reliability/report.py            # run, print and update the docs page
    python tests/reliability/report.py --no-write # run and print only
    python tests/reliability/report.py --root OTHER_CHECKOUT --no-write
        # run these cases against another checkout (e.g. the code before a fix): copy
        # tests/reliability into OTHER_CHECKOUT first

The category of a case is its file: ``test_rel_<category>.py``. The table lies between
the ``<!-- reliability-table -->`` markers of the page; nothing else is changed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

CATEGORIES = {
    "core": "core (scan, kernels, reset)",
    "layers": "layers",
    "parameters": "layer parameters, carries, nesting",
    "losses": "losses / readouts / encoders",
    "files": "files (readers, NIR import)",
    "checkpoints": "checkpoints",
    "numerics": "numerics (surrogates, dt, horizons)",
    "load": "load (repeated un-jitted calls)",
}
OUTCOMES = ("passed", "failed", "error", "xfailed", "skipped")
BEGIN, END = "<!-- reliability-table -->", "<!-- /reliability-table -->"


def run(root: Path) -> dict[str, Counter]:
    """Run ``root/tests/reliability`` and count outcomes per category."""
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        env = dict(os.environ, PYTHONPATH=str(root))
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "tests/reliability",
            "-n",
            "0",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "junit_family=xunit1",
            f"--junitxml={xml}",
        ]
        subprocess.run(cmd, cwd=root, env=env, check=False)
        tree = ET.parse(xml)
    counts: dict[str, Counter] = defaultdict(Counter)
    for case in tree.iter("testcase"):
        module = case.get("classname", "").split(".")[-1]
        if not module.startswith("test_rel_"):
            continue  # doctests of report.py itself
        category = module.removeprefix("test_rel_")
        outcome = "passed"
        for child in case:
            if child.tag == "failure":
                outcome = "failed"
            elif child.tag == "error":
                outcome = "error"
            elif child.tag == "skipped":
                outcome = "xfailed" if "xfail" in (child.get("type") or "") else "skipped"
        counts[category][outcome] += 1
    return counts


def table(counts: dict[str, Counter]) -> str:
    """A Markdown table: one row per category, one column per outcome."""
    head = "| category | cases | " + " | ".join(OUTCOMES) + " |"
    rule = "|" + "---|" * (len(OUTCOMES) + 2)
    rows = [head, rule]
    total: Counter = Counter()
    for key, label in CATEGORIES.items():
        c = counts.get(key, Counter())
        total.update(c)
        rows.append(
            f"| {label} | {sum(c.values())} | " + " | ".join(str(c[o]) for o in OUTCOMES) + " |"
        )
    rows.append(
        f"| **all** | {sum(total.values())} | " + " | ".join(str(total[o]) for o in OUTCOMES) + " |"
    )
    return "\n".join(rows)


def write(page: Path, text: str) -> None:
    """Replace the table between the markers of ``page``."""
    doc = page.read_text(encoding="utf-8")
    start, stop = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    page.write_text(doc[:start] + "\n" + text + "\n" + doc[stop:], encoding="utf-8")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parents[2]
    parser.add_argument("--root", type=Path, default=here)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    text = table(run(args.root.resolve()))
    print(text)
    if not args.no_write:
        write(here / "docs" / "reliability.md", text)


if __name__ == "__main__":
    main()
