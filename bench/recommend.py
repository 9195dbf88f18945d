"""Benchmark: median time of `recommend()` over a set of cases, beside `json.loads` of the same JSON.

Both are timed in this one run on this machine, so the ratio is what to compare across
changes (target: ratio <= 20). Run: .venv/bin/python bench/recommend.py
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from cre_advisor import recommend

ROOT = Path(__file__).resolve().parent.parent
REPEAT = 200


def cases() -> list[str]:
    """Shipped examples plus the clinical vignettes' valid cases: a realistic mix of paths."""
    texts = [p.read_text() for p in sorted((ROOT / "examples").glob("*.json"))]
    try:
        import yaml

        for path in sorted((ROOT / "tests" / "cases").glob("*.yaml")):
            doc = yaml.safe_load(path.read_text())
            if "raises_field" not in (doc.get("expect") or {}):
                texts.append(json.dumps(doc["case"]))
    except (ImportError, OSError):
        pass
    return texts


def median_seconds(fn, arg) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn(arg)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    texts = cases()
    for text in texts:  # warm caches (knowledge load) outside the timing
        recommend(json.loads(text))
    engine, parse = [], []
    for text in texts:
        data = json.loads(text)
        engine.append(median_seconds(recommend, data))
        parse.append(median_seconds(json.loads, text))
    med_engine, med_parse = statistics.median(engine), statistics.median(parse)
    ratios = [e / p for e, p in zip(engine, parse)]
    print(f"cases: {len(texts)}, repeats per case: {REPEAT}")
    print(f"recommend(): median {med_engine * 1e6:.1f} us (slowest case {max(engine) * 1e6:.1f} us)")
    print(f"json.loads:  median {med_parse * 1e6:.2f} us")
    print(f"ratio recommend/json.loads: median {statistics.median(ratios):.1f}, worst {max(ratios):.1f} (target <= 20)")


if __name__ == "__main__":
    main()
