"""Benchmark: `recommend()` on thousands of distinct cases, against `json.loads` of the same cases.

Cases come from the seeded generator in `bench/varied.py`, so nearly every fact combination is
new to the engine, as it is for a server seeing new patients. Three figures, all measured in
this one run on this machine (compare the ratios across changes, not the microseconds):

- cold: each case's first sight (the knowledge base is loaded before timing; the engine's memos
  start empty), which is what a new patient costs;
- warm: the same cases a second time, memos filled by the cold pass;
- repeated: the shipped example cases many times over (the old figure, kept as a secondary line).

Per case, the ratio is recommend time / json.loads time of that case's JSON text; the script
prints the median and p99 of those ratios (targets: median <= 20, p99 <= 40).
Run: .venv/bin/python bench/recommend.py [--cases 3000] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from varied import varied_cases

ROOT = Path(__file__).resolve().parent.parent


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _parse_seconds(texts: list[str]) -> list[float]:
    """json.loads of each text: best of 5 runs of 20 (too quick to time once)."""
    return [min(timeit.repeat(lambda t=t: json.loads(t), number=20, repeat=5)) / 20 for t in texts]


def _once(fn: Callable[[Any], object], args: list[Any]) -> list[float]:
    samples = []
    for arg in args:
        began = time.perf_counter()
        fn(arg)
        samples.append(time.perf_counter() - began)
    return samples


def _line(label: str, engine: list[float], parse: list[float]) -> str:
    ratios = [e / p for e, p in zip(engine, parse)]
    return (f"{label:<9} recommend median {statistics.median(engine) * 1e6:7.1f} us, p99 {_p99(engine) * 1e6:7.1f} us;"
            f" ratio to json.loads median {statistics.median(ratios):5.1f}, p99 {_p99(ratios):5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=3000, help="distinct generated cases")
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()

    from cre_advisor import recommend
    from cre_advisor.knowledge.loader import default_knowledge

    default_knowledge()  # the knowledge base load is start-up, not per-case work
    cases = varied_cases(args.cases, args.seed)
    texts = [json.dumps(c) for c in cases]
    parse = _parse_seconds(texts)
    cold = _once(lambda t: recommend(json.loads(t)), texts)
    warm = _once(lambda t: recommend(json.loads(t)), texts)
    examples = [p.read_text() for p in sorted((ROOT / "examples").glob("*.json"))]
    repeated_texts = examples * max(1, 600 // len(examples))
    _once(lambda t: recommend(json.loads(t)), examples)
    repeated = _once(lambda t: recommend(json.loads(t)), repeated_texts)

    print(f"{len(cases)} distinct generated cases (seed {args.seed}); recommend() timed from the JSON text")
    print(_line("cold", cold, parse))
    print(_line("warm", warm, parse))
    print(_line("repeated", repeated, _parse_seconds(repeated_texts)) + f"  ({len(examples)} example case(s))")
    cold_ratios = [e / p for e, p in zip(cold, parse)]
    median, p99 = statistics.median(cold_ratios), _p99(cold_ratios)
    print(f"targets on cold cases: median <= 20 ({'met' if median <= 20 else 'NOT met'}), "
          f"p99 <= 40 ({'met' if p99 <= 40 else 'NOT met'})")


if __name__ == "__main__":
    main()
