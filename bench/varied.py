"""Distinct, valid, varied cases from a seeded generator, for every benchmark.

A benchmark that repeats a handful of cases measures the engine's memos, not the engine: a
server sees a new patient almost every time. These cases vary every input the engine branches
on (organism, enzymes, results as S/I/R or raw MICs, site, severity, renal state including
dialysis and CRRT, weight, height, allergies, pregnancy, liver function, profile), and no two
are the same JSON. The same seed gives the same list, so two runs compare like with like.

The vocabulary (agents, organisms, MIC ranges that every table reads the same way) is the test
suite's, imported from `tests/strategies.py`, so the benchmarks and the property tests draw
from one description of a valid case.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from strategies import (  # noqa: E402  (the test vocabulary lives beside the tests)
    AGENTS,
    ALLERGY_CLASSES,
    CLEAR_MIC,
    DILUTIONS,
    ENZYME_SETS,
    OLDER_AGENTS,
    ORGANISMS,
    PATTERNS,
    SEVERITIES,
    SITES,
    TESTED_AGENTS,
    not_cre,
)

REACTIONS = ("anaphylaxis", "severe_cutaneous", "mild", "intolerance")
EFFLUENTS = (None, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5)


def _entry(rng: random.Random, agent: str, category: str) -> dict[str, Any]:
    """A category, or an MIC that every shipped table reads as that category, or both."""
    s_max, r_min = CLEAR_MIC.get(agent, (None, None))
    if category == "S":
        usable = [d for d in DILUTIONS if s_max is not None and d <= s_max]
    else:
        usable = [d for d in DILUTIONS if category == "R" and r_min is not None and d >= r_min]
    if not usable or rng.random() < 0.4:
        return {"interpretation": category}
    mic = rng.choice(usable)
    return {"mic_mg_l": mic} if rng.random() < 0.6 else {"mic_mg_l": mic, "interpretation": category}


def _susceptibility(rng: random.Random) -> dict[str, dict[str, Any]]:
    pattern = rng.choice(sorted(PATTERNS) + ["no_newer"])
    results = {agent: _entry(rng, agent, cat) for agent, cat in PATTERNS[pattern].items()}
    extra = OLDER_AGENTS if pattern == "no_newer" else TESTED_AGENTS
    for agent in rng.sample(extra, rng.randint(0, 6)):
        results.setdefault(agent, _entry(rng, agent, rng.choice("SSSIR")))
    return results


def _renal(rng: random.Random, patient: dict[str, Any]) -> None:
    mode = rng.choice(("mg_dl", "mg_dl", "umol_l", "measured", "hd", "crrt", "none"))
    if mode == "mg_dl":
        patient["serum_creatinine_mg_dl"] = rng.randint(4, 80) / 10
    elif mode == "umol_l":
        patient["serum_creatinine_umol_l"] = rng.randint(40, 700)
    elif mode == "measured":
        patient["creatinine_clearance_ml_min"] = rng.randint(3, 200)
    elif mode == "hd":
        patient["renal_replacement"] = "intermittent_hemodialysis"
    elif mode == "crrt":
        patient["renal_replacement"] = "crrt"
        effluent = rng.choice(EFFLUENTS)
        if effluent is not None:
            patient["crrt_effluent_l_h"] = effluent
    if rng.random() < 0.1:
        patient["creatinine_unstable"] = True


def _patient(rng: random.Random) -> dict[str, Any]:
    sex = rng.choice(("male", "female"))
    patient: dict[str, Any] = {"age_years": rng.randint(18, 95), "sex": sex,
                               "weight_kg": rng.randint(40, 180) + rng.choice((0, 0.5))}
    if rng.random() < 0.75:
        patient["height_cm"] = rng.randint(150, 200)
    _renal(rng, patient)
    if sex == "female" and patient["age_years"] <= 45 and rng.random() < 0.2:
        patient["pregnant"] = True
    if rng.random() < 0.15:
        patient["child_pugh_class"] = rng.choice("ABC")
    patient["allergies"] = [{"agent": rng.choice(AGENTS + ALLERGY_CLASSES), "reaction": rng.choice(REACTIONS)}
                            for _ in range(rng.choice((0, 0, 0, 1, 2)))]
    return patient


def _case(rng: random.Random) -> dict[str, Any]:
    isolate: dict[str, Any] = {"organism": rng.choice(ORGANISMS), "susceptibility": _susceptibility(rng)}
    enzymes = rng.choice(ENZYME_SETS + ("absent",))
    if enzymes != "absent":
        isolate["carbapenemase"] = enzymes
    infection: dict[str, Any] = {"site": rng.choice(SITES), "severity": rng.choice(SEVERITIES)}
    if rng.random() < 0.3:
        infection["increment_cpe_score"] = rng.randint(0, 17)
    context: dict[str, Any] = {"unavailable_agents": rng.sample(AGENTS, rng.choice((0, 0, 1, 2)))}
    if rng.random() < 0.3:
        context["guideline_profile"] = "escmid-2022"
    return {"patient": _patient(rng), "infection": infection, "isolate": isolate, "context": context}


def varied_cases(count: int, seed: int = 20261204) -> list[dict[str, Any]]:
    """`count` distinct cases the Case contract accepts (a drawn case it refuses is drawn again)."""
    return list(_distinct(count, seed))


def _distinct(count: int, seed: int) -> Iterator[dict[str, Any]]:
    from cre_advisor.case import Case  # imported here so `--help` of a bench script stays fast

    rng, seen = random.Random(seed), set()
    while len(seen) < count:
        case = _case(rng)
        key = json.dumps(case, sort_keys=True)
        if key in seen:
            continue
        try:
            Case.model_validate(case)
        except ValueError:
            continue
        if not_cre(case):  # outside the CRE definition: the engine refuses it (issue 13 item 4)
            continue
        seen.add(key)
        yield case
