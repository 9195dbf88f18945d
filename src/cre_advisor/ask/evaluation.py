"""How well follow-up questions are answered: recall against a question set (tests/questions.yaml,
tests/ask_heldout.yaml).

A question set lists covered questions with the item ids that must be among the top three, and
questions outside the knowledge base that must be answered "not covered" (optionally naming the
word the refusal must name). A covered question may be asked with an example case in context
and then also says which words the "for this patient" lines must and must not contain. Shared
by the test suite and bench/ask.py so that both measure the same thing the same way.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cre_advisor.ask.compose import answer
from cre_advisor.ask.models import Answer
from cre_advisor.knowledge.yaml_files import load_yaml

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expected(_Row):
    q: str
    expect: tuple[str, ...] = Field(min_length=1)
    with_case: str | None = Field(default=None, description="An examples/ case file asked about.")
    patient_mentions: tuple[str, ...] = ()
    patient_never: tuple[str, ...] = ()


class Outside(_Row):
    q: str
    names: str | None = Field(default=None, description="A word the not-covered reason must name.")


class QuestionSet(_Row):
    covered: tuple[Expected, ...]
    not_covered: tuple[Outside, ...]

    @classmethod
    def load(cls, path: Path) -> QuestionSet:
        with path.open(encoding="utf-8") as handle:
            data = load_yaml(handle)
        data["not_covered"] = [{"q": row} if isinstance(row, str) else row for row in data["not_covered"]]
        return cls.model_validate(data)


@dataclass
class Scores:
    recall_at_1: float
    recall_at_3: float
    misses: list[tuple[str, tuple[str, ...], list[str]]] = field(default_factory=list)
    wrongly_not_covered: list[str] = field(default_factory=list)
    wrongly_covered: list[str] = field(default_factory=list)
    unnamed: list[str] = field(default_factory=list)
    patient_lines_wrong: list[str] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    lowest_covered_score: float = 0.0

    @property
    def median_latency_s(self) -> float:
        return statistics.median(self.latencies_s)


def recall(expected: tuple[str, ...], ranked: list[str], k: int) -> float:
    """Share of the expected ids among the top k (out of at most k that could be there)."""
    return sum(1 for item in expected if item in ranked[:k]) / min(len(expected), k)


@cache
def example_case(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def score(questions: QuestionSet) -> Scores:
    """Answers every question once (the index is built before the first timed one)."""
    answer("warm-up: ceftazidime-avibactam dose")
    r1, r3, latencies, lowest = [], [], [], float("inf")
    scores = Scores(0.0, 0.0)
    for row in questions.covered:
        case = example_case(row.with_case) if row.with_case else None
        result = _timed(row.q, latencies, case)
        ranked = [item.id for item in result.items]
        r1.append(recall(row.expect, ranked, 1))
        r3.append(recall(row.expect, ranked, 3))
        if not result.covered:
            scores.wrongly_not_covered.append(row.q)
        elif r3[-1] < 1:
            scores.misses.append((row.q, row.expect, ranked))
        if result.items:
            lowest = min(lowest, result.items[0].score)
        problem = patient_lines_problem(row, result)
        if problem:
            scores.patient_lines_wrong.append(f"{row.q!r}: {problem}")
    for row in questions.not_covered:
        result = _timed(row.q, latencies, None)
        if result.covered:
            scores.wrongly_covered.append(row.q)
        elif row.names and row.names.lower() not in (result.not_covered_reason or "").lower():
            scores.unnamed.append(f"{row.q!r}: {result.not_covered_reason}")
    scores.recall_at_1, scores.recall_at_3 = statistics.fmean(r1), statistics.fmean(r3)
    scores.latencies_s, scores.lowest_covered_score = latencies, lowest
    return scores


def patient_lines_problem(row: Expected, result: Answer) -> str | None:
    """What the "for this patient" lines lack or wrongly hold, None when they are as expected."""
    text = " ".join(line.text for line in result.for_this_patient).lower()
    missing = [word for word in row.patient_mentions if word.lower() not in text]
    wrong = [word for word in row.patient_never if word.lower() in text]
    if not missing and not wrong:
        return None
    return f"missing {missing}, should not name {wrong}"


def _timed(question: str, latencies: list[float], case: dict[str, Any] | None) -> Answer:
    start = time.perf_counter()
    result = answer(question, case=case)
    latencies.append(time.perf_counter() - start)
    return result
