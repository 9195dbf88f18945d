"""How well follow-up questions are answered: recall against a question set (tests/questions.yaml).

A question set lists covered questions with the item ids that must be among the top three, and
questions outside the knowledge base that must be answered "not covered". Shared by the test
suite and bench/ask.py so that both measure the same thing the same way.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from cre_advisor.ask.compose import answer
from cre_advisor.ask.models import Answer


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    q: str
    expect: tuple[str, ...] = Field(min_length=1)


class QuestionSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    covered: tuple[Expected, ...]
    not_covered: tuple[str, ...]

    @classmethod
    def load(cls, path: Path) -> QuestionSet:
        with path.open(encoding="utf-8") as handle:
            return cls.model_validate(yaml.safe_load(handle))


@dataclass
class Scores:
    recall_at_1: float
    recall_at_3: float
    misses: list[tuple[str, tuple[str, ...], list[str]]] = field(default_factory=list)
    wrongly_not_covered: list[str] = field(default_factory=list)
    wrongly_covered: list[str] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    lowest_covered_score: float = 0.0

    @property
    def median_latency_s(self) -> float:
        return statistics.median(self.latencies_s)


def recall(expected: tuple[str, ...], ranked: list[str], k: int) -> float:
    """Share of the expected ids among the top k (out of at most k that could be there)."""
    return sum(1 for item in expected if item in ranked[:k]) / min(len(expected), k)


def score(questions: QuestionSet) -> Scores:
    """Answers every question once (the index is built before the first timed one)."""
    answer("warm-up: ceftazidime-avibactam dose")
    r1, r3, latencies, lowest = [], [], [], float("inf")
    scores = Scores(0.0, 0.0)
    for row in questions.covered:
        result = _timed(row.q, latencies)
        ranked = [item.id for item in result.items]
        r1.append(recall(row.expect, ranked, 1))
        r3.append(recall(row.expect, ranked, 3))
        if not result.covered:
            scores.wrongly_not_covered.append(row.q)
        elif r3[-1] < 1:
            scores.misses.append((row.q, row.expect, ranked))
        if result.items:
            lowest = min(lowest, result.items[0].score)
    for question in questions.not_covered:
        if _timed(question, latencies).covered:
            scores.wrongly_covered.append(question)
    scores.recall_at_1, scores.recall_at_3 = statistics.fmean(r1), statistics.fmean(r3)
    scores.latencies_s, scores.lowest_covered_score = latencies, lowest
    return scores


def _timed(question: str, latencies: list[float]) -> Answer:
    start = time.perf_counter()
    result = answer(question)
    latencies.append(time.perf_counter() - start)
    return result
