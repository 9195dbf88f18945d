"""Lines of an episodes file -> Arrow rows of the audit: the one unit of work both engines run.

The local runner hands `audit_lines` a batch of lines in a worker process; the Spark job hands
it the lines of a partition inside `mapInArrow`. Either way the same rows come out, with
the same `SCHEMA`, and bad lines come back beside them instead of stopping the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
from pydantic import ValidationError

from cre_advisor.audit.episodes import Episode
from cre_advisor.audit.verdict import Judgement, judge, not_assessable
from cre_advisor.input_words import describe_validation_error
from cre_advisor.knowledge.loader import Knowledge, default_knowledge

SCHEMA = pa.schema([
    pa.field("line", pa.int64(), nullable=False),
    pa.field("episode_id", pa.string(), nullable=False),
    pa.field("ward", pa.string(), nullable=False),
    pa.field("date", pa.date32(), nullable=False),
    pa.field("verdict", pa.string(), nullable=False),
    pa.field("reasons", pa.list_(pa.string()), nullable=False),
    pa.field("prescribed", pa.string(), nullable=False),
    pa.field("top_regimen", pa.string()),
    pa.field("knowledge_version", pa.string(), nullable=False),
])
"""One row per episode; `line` is its line in the input, so any row can be traced back."""


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    episode_id: str | None
    error: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "episode_id": self.episode_id, "error": self.error}


def audit_lines(lines: Iterable[tuple[int, str]], knowledge: Knowledge | None = None) -> tuple[pa.RecordBatch, list[BadLine]]:
    """Judge each (line number, JSON text); bad lines are returned, never raised."""
    kn = knowledge or default_knowledge()
    columns: dict[str, list[object]] = {name: [] for name in SCHEMA.names}
    bad: list[BadLine] = []
    for number, text in lines:
        episode, problem = _episode(number, text)
        if episode is None:
            bad.append(problem)
            continue
        found = _judged(episode, kn)
        for name, value in (
            ("line", number), ("episode_id", episode.episode_id), ("ward", episode.ward), ("date", episode.date),
            ("verdict", found.verdict), ("reasons", list(found.reasons)),
            ("prescribed", " + ".join(kn.agent_id(p.agent) or p.agent for p in episode.prescribed)), ("top_regimen", found.top_regimen),
            ("knowledge_version", found.knowledge_version),
        ):
            columns[name].append(value)
    return pa.RecordBatch.from_pydict(columns, schema=SCHEMA), bad


def _judged(episode: Episode, kn: Knowledge) -> Judgement:
    """The episode's verdict. An engine failure on one case is that episode's `not_assessable`, with the
    error as its reason: one case must not stop an audit of millions, nor disappear from it."""
    if episode.unassessable is not None:
        return not_assessable(kn, episode.unassessable)
    try:
        return judge(episode.case, episode.prescribed, kn)
    except Exception as error:  # noqa: BLE001 - reported in the row, counted like any verdict
        return not_assessable(kn, f"engine error ({type(error).__name__}: {error})")


def _episode(number: int, text: str) -> tuple[Episode | None, BadLine]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return None, BadLine(number, None, f"not JSON: {error.msg} at column {error.colno}")
    episode_id = data.get("episode_id") if isinstance(data, dict) else None
    episode_id = episode_id if isinstance(episode_id, str) else None
    try:
        return Episode.model_validate(data), BadLine(number, episode_id, "")
    except ValidationError as error:
        return None, BadLine(number, episode_id, f"not an episode: {describe_validation_error(error)}")
