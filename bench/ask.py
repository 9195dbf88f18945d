"""Benchmark: follow-up question answering over tests/questions.yaml, the held-out shorthand set
tests/ask_heldout.yaml and its later rounds tests/ask_shorthand_round2.yaml and _round3.yaml, from one run.

For each set prints recall@1 and recall@3 (expected knowledge items among the top answers), the
not-covered decisions (wrong either way, and refusals that do not name the agent asked about),
the "for this patient" checks of questions asked with a case, and the median latency of
`cre_advisor.ask.answer()` per question (index already built; the build time is printed apart),
plus the median with a case in context. Run: .venv/bin/python bench/ask.py
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from cre_advisor.ask import answer
from cre_advisor.ask.evaluation import QuestionSet, score
from cre_advisor.ask.index import default_index
from cre_advisor.ask.vocabulary import default_vocabulary
from cre_advisor.knowledge.loader import default_knowledge

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "questions.yaml": (ROOT / "tests" / "questions.yaml", 0.9),
    "ask_heldout.yaml": (ROOT / "tests" / "ask_heldout.yaml", 0.95),
    "ask_shorthand_round2.yaml": (ROOT / "tests" / "ask_shorthand_round2.yaml", 0.95),
    "ask_shorthand_round3.yaml": (ROOT / "tests" / "ask_shorthand_round3.yaml", 0.95),
}
CASE = ROOT / "examples" / "kpc-bacteremia.json"


def median_with_case(questions: QuestionSet) -> float:
    """Median time of answering with a case in context (the case's recommendation is computed each time)."""
    case = json.loads(CASE.read_text())
    samples = []
    for row in questions.covered:
        start = time.perf_counter()
        answer(row.q, case=case)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def report(name: str, path: Path, target: float) -> None:
    questions = QuestionSet.load(path)
    result = score(questions)
    print(f"== {name}: {len(questions.covered)} covered, {len(questions.not_covered)} outside the knowledge base")
    print(f"recall@1: {result.recall_at_1:.3f}")
    print(f"recall@3: {result.recall_at_3:.3f} (target >= {target})")
    wrong = len(result.wrongly_covered) + len(result.wrongly_not_covered)
    print(f"not-covered decisions wrong: {wrong} "
          f"(answered though outside: {len(result.wrongly_covered)}, refused though covered: {len(result.wrongly_not_covered)}); "
          f"refusals not naming the agent: {len(result.unnamed)}")
    print(f"'for this patient' checks failed: {len(result.patient_lines_wrong)}")
    print(f"lowest top score of a covered question: {result.lowest_covered_score:.2f} "
          f"(not-covered threshold min_score: {default_vocabulary().min_score})")
    print(f"median latency per question: {result.median_latency_s * 1000:.2f} ms "
          f"(slowest {max(result.latencies_s) * 1000:.2f} ms)")
    print(f"median latency per question with a case ({CASE.name}): {median_with_case(questions) * 1000:.2f} ms")
    for question, expected, ranked in result.misses:
        print(f"  miss: {question!r}: expected {list(expected)}, got {ranked}")
    for question in result.wrongly_covered + result.wrongly_not_covered:
        print(f"  wrong coverage: {question!r}")
    for line in result.unnamed + result.patient_lines_wrong:
        print(f"  wrong: {line}")


def main() -> None:
    default_knowledge()
    start = time.perf_counter()
    index = default_index()
    built = time.perf_counter() - start
    print(f"index: {len(index.passages)} passages, built in {built * 1000:.0f} ms")
    for name, (path, target) in SETS.items():
        report(name, path, target)


if __name__ == "__main__":
    main()
