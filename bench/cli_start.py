"""Benchmark: how long the command line takes to print a plan, against importing the package.

Both are whole processes started from this script in one run, alternated so that a busy moment
of the machine hits both: `python -c "import cre_advisor"` (the floor: interpreter plus the
package) and `cre-advisor recommend CASE --json` (start, knowledge load, engine, output).
Target: the plan within 2x the bare import. Run: .venv/bin/python bench/cli_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from cre_advisor.cli import app; app()"]


def _seconds(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    case = str(ROOT / "examples" / "kpc-bacteremia.json")
    commands = {
        "import cre_advisor": [sys.executable, "-c", "import cre_advisor"],
        "recommend --json": [*CLI, "recommend", case, "--json"],
        "dose CZA --crcl 20": [*CLI, "dose", "CZA", "--crcl", "20"],
    }
    for command in commands.values():  # file-system caches warm before timing
        _seconds(command)
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(args.runs):
        for label, command in commands.items():
            times[label].append(_seconds(command))
    floor = statistics.median(times["import cre_advisor"])
    for label, samples in times.items():
        median = statistics.median(samples)
        print(f"{label:<20} median {median * 1000:7.1f} ms  ({median / floor:4.2f}x bare import)")
    ratio = statistics.median(times["recommend --json"]) / floor
    print(f"recommend --json / import cre_advisor: {ratio:.2f} (target <= 2: {'met' if ratio <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
