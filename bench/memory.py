"""Benchmark: resident memory while the engine answers many distinct cases (is every cache bounded?).

A seeded generator (its own `random.Random`, not hypothesis) makes valid, distinct cases: many
patients, organisms, sites, allergies, renal values and MICs written the ways laboratories
write them. Every INTERVAL cases it prints the process's RSS and the size of each memo; after
warm-up the RSS should stay flat (within 10 %), because every memo is an LRU of fixed size.

Run: .venv/bin/python bench/memory.py [CASES] [SEED]    (defaults: 200000 cases, seed 15)
"""

from __future__ import annotations

import os
import random
import sys
import time
from typing import Any

from cre_advisor import microbiology
from cre_advisor.case import Case
from cre_advisor.engine import recommend
from cre_advisor.knowledge.loader import default_knowledge

AGENTS = (
    "ceftazidime-avibactam", "meropenem-vaborbactam", "imipenem-cilastatin-relebactam", "cefiderocol",
    "aztreonam-avibactam", "aztreonam", "meropenem", "imipenem-cilastatin", "ertapenem", "colistin", "polymyxin-b",
    "amikacin", "gentamicin", "tobramycin", "plazomicin", "tigecycline", "eravacycline", "minocycline",
    "fosfomycin", "ciprofloxacin", "levofloxacin", "trimethoprim-sulfamethoxazole", "ceftazidime", "cefepime",
)
ORGANISMS = ("Klebsiella pneumoniae", "Escherichia coli", "Enterobacter cloacae complex", "Klebsiella oxytoca",
             "Citrobacter freundii", "Serratia marcescens", "Proteus mirabilis", "Morganella morganii")
ENZYMES = ((), ("KPC",), ("OXA-48-like",), ("NDM",), ("VIM",), ("IMP",), ("KPC", "NDM"), ("NDM", "OXA-48-like"))
SITES = ("bloodstream", "intra_abdominal", "urinary_complicated", "cystitis", "pneumonia", "skin_soft_tissue",
         "bone_joint", "cns", "other")
SEVERITIES = ("septic_shock", "severe", "non_severe")
ALLERGENS = ("penicillins", "cephalosporins", "carbapenems", "aminoglycosides", "meropenem", "aztreonam")
REACTIONS = ("anaphylaxis", "severe_cutaneous", "mild", "intolerance")
DILUTIONS = (0.06, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)


def mic(rng: random.Random) -> float | str:
    """An MIC as a laboratory might send it: a number, or text with a comparator and varied spelling."""
    value = rng.choice(DILUTIONS)
    form = rng.randrange(5)
    if form == 0:
        return value
    if form == 1:
        return f"<={value:g}"
    if form == 2:
        return f">{value:g}"
    if form == 3:
        return f"{value:.3f}"
    return f" {value:g} "


def make_case(rng: random.Random, serial: int) -> dict[str, Any]:
    """One valid case; `serial` goes into the weight's decimals, so no two cases are the same."""
    susceptibility: dict[str, Any] = {}
    for agent in rng.sample(AGENTS, rng.randint(1, 10)):
        kind = rng.randrange(3)
        if kind == 0:
            susceptibility[agent] = {"interpretation": rng.choice("SIR")}
        else:
            susceptibility[agent] = {"mic_mg_l": mic(rng)}
    isolate: dict[str, Any] = {"organism": rng.choice(ORGANISMS), "susceptibility": susceptibility,
                               "breakpoints": rng.choice(("EUCAST-2026", "CLSI-2025"))}
    enzymes = rng.choice(ENZYMES)
    if enzymes:
        isolate["carbapenemase"] = list(enzymes)
    sex = rng.choice(("male", "female"))
    patient: dict[str, Any] = {
        "age_years": rng.randint(18, 95), "sex": sex,
        "weight_kg": round(rng.uniform(40, 180), 1) + (serial % 1000) / 100_000,
        "height_cm": rng.randint(150, 200),
        "allergies": [{"agent": rng.choice(ALLERGENS), "reaction": rng.choice(REACTIONS)}
                      for _ in range(rng.randrange(3))],
    }
    renal = rng.randrange(4)
    if renal == 0:
        patient["creatinine_clearance_ml_min"] = rng.randint(0, 200)
    elif renal == 1:
        patient["serum_creatinine_mg_dl"] = rng.randint(4, 80) / 10
    elif renal == 2:
        patient["serum_creatinine_umol_l"] = rng.randint(35, 700)
    else:
        patient["renal_replacement"] = "crrt"
        patient["crrt_effluent_l_h"] = rng.choice((1.0, 1.5, 2.0, 2.5, 3.0))
    infection = {"site": rng.choice(SITES), "severity": rng.choice(SEVERITIES)}
    context = {"unavailable_agents": rng.sample(AGENTS, rng.randrange(3))}
    return {"patient": patient, "infection": infection, "isolate": isolate, "context": context}


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def memo_sizes() -> str:
    sizes = {name: len(memo) for name, memo in default_knowledge().memos.items()}
    sizes["microbiology.entries"] = sum(len(memo) for _table, memo in microbiology._ENTRIES.values())
    return " ".join(f"{name}={size}" for name, size in sorted(sizes.items()))


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 15)
    interval = max(1, total // 20)
    refused = 0
    started = time.perf_counter()
    baseline = rss_mb()
    print(f"cases {0:>8}  RSS {baseline:7.1f} MB  (before the first case)")
    warm: float | None = None
    for serial in range(1, total + 1):
        try:
            recommend(Case.model_validate(make_case(rng, serial)))
        except ValueError:
            refused += 1  # a combination the engine refuses with a message: still a distinct input
        if serial % interval == 0:
            now = rss_mb()
            if serial == interval * 2:
                warm = now  # after warm-up: the memos are full by now
            drift = f"  {100 * (now - warm) / warm:+5.1f} % since warm-up" if warm else ""
            print(f"cases {serial:>8}  RSS {now:7.1f} MB{drift}  [{memo_sizes()}]", flush=True)
    elapsed = time.perf_counter() - started
    print(f"{total} cases in {elapsed:.0f} s ({1e6 * elapsed / total:.0f} us per case), {refused} refused by the engine")


if __name__ == "__main__":
    main()
