"""Episodes files: JSON Lines (optionally gzip), one stewardship episode per line.

A line is *bad* when it is not a JSON object with the episode envelope (episode_id, ward, ISO
date, case object, prescribed list): it is reported with its line number and skipped. A line
with a good envelope but a case the engine cannot take is not bad: it becomes a
`not_assessable` episode, because the audit must count it.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

GZIP_MAGIC = b"\x1f\x8b"


class Prescription(BaseModel):
    """One prescribed agent; dose and interval may be unknown (then the dose is not judged)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str = Field(min_length=1, description="Any name, abbreviation or brand the advisor knows.")
    dose_mg: float | None = Field(default=None, gt=0, le=100_000)
    interval_h: float | None = Field(default=None, gt=0, le=168)
    route: str | None = None


class Episode(BaseModel):
    """The envelope of one episode; `case` is checked against the Case contract later, by the judge."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    episode_id: str = Field(min_length=1)
    ward: str = Field(min_length=1)
    date: date
    case: dict[str, Any]
    prescribed: list[Prescription]
    unassessable: str | None = Field(
        default=None, description="Set by a converter (FHIR Bulk) whose record could not give a case: why."
    )


def open_text(path: str | Path) -> io.TextIOBase:
    """A text stream over a file, gunzipped when it starts with the gzip magic bytes."""
    path = Path(path)
    with path.open("rb") as probe:
        gzipped = probe.read(2) == GZIP_MAGIC
    if gzipped:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8")


def line_batches(path: str | Path, size: int) -> Iterator[list[tuple[int, str]]]:
    """(line number, text) of every non-blank line, `size` at a time: the input is never held whole."""
    batch: list[tuple[int, str]] = []
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            batch.append((number, line))
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch
