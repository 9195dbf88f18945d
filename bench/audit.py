"""Benchmark: stewardship audit throughput, beside the engine's own `recommend` rate in the same run.

Generates N varied episodes (seeded): the clinical vignettes' valid cases with the patient's
age, weight and creatinine varied, spread over wards and months, each with a prescription drawn
from that case's own options (right dose, doubled or halved, or missing), a never-list or older
agent, or a mix. Then times the audit on one core, on all cores and (when PySpark and Java are
present) through Spark local mode, and prints each rate with its ratio to `recommend` alone.
Peak memory of the reader and of the workers is printed for N and 4N, to show it stays flat.

Run: .venv/bin/python bench/audit.py [--n 20000] [--no-spark]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from cre_advisor import recommend
from cre_advisor.audit.local import run_local
from cre_advisor.audit.output import BadLineLog

ROOT = Path(__file__).resolve().parent.parent
WARDS = ("ICU-A", "ICU-B", "ICU-C", "Burns", "Cardiac ICU", "Neuro ICU")
OTHER_AGENTS = ("ertapenem", "piperacillin-tazobactam", "amikacin", "tigecycline", "colistin", "meropenem", "cefepime")


def base_cases() -> list[dict]:
    cases = []
    for path in sorted((ROOT / "tests" / "cases").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if "raises_field" not in (doc.get("expect") or {}):
            cases.append(doc["case"])
    return cases


def vary(case: dict, rng: random.Random) -> dict:
    patient = dict(case["patient"])
    patient["age_years"] = rng.randint(18, 95)
    if patient.get("weight_kg"):
        patient["weight_kg"] = round(patient["weight_kg"] * rng.uniform(0.7, 1.4), 1)
    if patient.get("serum_creatinine_mg_dl"):
        patient["serum_creatinine_mg_dl"] = round(rng.uniform(0.5, 4.0), 2)
    return {**case, "patient": patient}


def prescription(case: dict, rng: random.Random) -> list[dict]:
    plan = recommend(case)
    roll = rng.random()
    if plan.options and roll < 0.6:
        option = rng.choice(plan.options)
        factor = rng.choice((1, 1, 1, 2, 0.5))
        return [{"agent": i.agent, "dose_mg": i.dose_mg * factor if i.dose_mg and roll < 0.5 else None,
                 "interval_h": i.interval_h, "route": i.route} for i in option.regimen]
    picks = rng.sample(OTHER_AGENTS, rng.choice((1, 1, 2)))
    return [{"agent": a, "dose_mg": None, "interval_h": None, "route": "IV"} for a in picks]


def write_episodes(path: Path, n: int, seed: int = 18) -> None:
    rng = random.Random(seed)
    bases = base_cases()
    variants = []
    for _ in range(400):  # a pool of distinct episodes, reused with new ids, wards and dates
        case = vary(rng.choice(bases), rng)
        variants.append((case, prescription(case, rng)))
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            case, prescribed = variants[i % len(variants)]
            handle.write(json.dumps({
                "episode_id": f"E{i:08d}", "ward": rng.choice(WARDS),
                "date": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "case": case, "prescribed": prescribed,
            }) + "\n")


def recommend_rate(path: Path, limit: int = 3000) -> float:
    cases = []
    with path.open() as handle:
        for line, _ in zip(handle, range(limit)):
            cases.append(json.loads(line)["case"])
    start = time.perf_counter()
    for case in cases:
        recommend(case)
    return len(cases) / (time.perf_counter() - start)


def peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def audit_rate(path: Path, n: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        stats = run_local(path, Path(out), BadLineLog(Path(out)), workers=workers)
    assert stats.episodes == n, (stats.episodes, n)
    return stats.rate


def spark_rate(path: Path, n: int) -> float | None:
    if shutil.which("java") is None:
        return None
    try:
        from cre_advisor.audit.spark_job import local_session, run_spark
    except ImportError:
        return None
    spark = local_session("local[*]")
    try:
        with tempfile.TemporaryDirectory() as out:
            run_spark(spark, str(path), str(Path(out) / "warm.parquet"), BadLineLog(Path(out)))  # workers start
            start = time.perf_counter()
            written = run_spark(spark, str(path), str(Path(out) / "episodes.parquet"), BadLineLog(Path(out)))
            seconds = time.perf_counter() - start
    finally:
        spark.stop()
    assert written == n
    return n / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--no-spark", action="store_true")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "n.jsonl", Path(tmp) / "4n.jsonl"
        write_episodes(small, args.n)
        write_episodes(large, 4 * args.n)
        single = recommend_rate(small)
        print(f"episodes: {args.n} (and {4 * args.n} for memory); cores: {os.cpu_count()}; load average "
              f"{os.getloadavg()[0]:.1f} (a shared machine makes every rate here lower)")
        print(f"recommend() alone, one core: {single:,.0f} cases/s")
        one = audit_rate(small, args.n, 1)
        print(f"audit, 1 core:      {one:,.0f} episodes/s  (ratio to recommend {one / single:.2f})")
        for n, path in ((args.n, small), (4 * args.n, large)):
            rate = audit_rate(path, n, cores)
            print(f"audit, {cores} cores ({n} episodes): {rate:,.0f} episodes/s  (ratio to recommend {rate / single:.2f}); "
                  f"peak RSS reader {peak_mb(resource.RUSAGE_SELF):.0f} MB, largest worker "
                  f"{peak_mb(resource.RUSAGE_CHILDREN):.0f} MB")
        if not args.no_spark:
            rate = spark_rate(small, args.n)
            print("spark: skipped (no Java or PySpark)" if rate is None else
                  f"audit, Spark local[*]: {rate:,.0f} episodes/s  (ratio to recommend {rate / single:.2f}; "
                  "second run in one session, JVM and Python workers already started)")


if __name__ == "__main__":
    main()
