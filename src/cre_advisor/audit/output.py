"""What every engine writes beside the episodes Parquet: the bad lines, the summary, the page."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa

from cre_advisor.audit.report import summarise, write_outputs
from cre_advisor.audit.table import BadLine

SHOWN_BAD_LINES = 100
"""Bad lines kept for the terminal and the page; bad_lines.jsonl holds every one."""


class BadLineLog:
    """Every bad line to `bad_lines.jsonl` as it comes, counted; the first few kept for display."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / "bad_lines.jsonl"
        self._handle: TextIO = self.path.open("w", encoding="utf-8")
        self.count = 0
        self.shown: list[dict[str, Any]] = []

    def add(self, bad: Iterable[BadLine]) -> None:
        for line in bad:
            entry = line.as_dict()
            self._handle.write(json.dumps(entry) + "\n")
            self.count += 1
            if len(self.shown) < SHOWN_BAD_LINES:
                self.shown.append(entry)

    def close(self) -> None:
        self._handle.close()


def finish(out_dir: Path, batches: Iterable[pa.RecordBatch], bad: BadLineLog) -> dict[str, Any]:
    """summary.json and report.html from the written rows; returns the summary."""
    bad.close()
    summary = summarise(batches)
    write_outputs(summary, bad.shown, bad.count, out_dir)
    return summary.as_json(bad.count)
