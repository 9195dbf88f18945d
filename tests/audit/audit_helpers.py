"""Cases and episodes for the audit tests, written by hand from the guidelines (never from the engine).

KPC_BSI: KPC K. pneumoniae bacteraemia with septic shock, measured CrCl 100 mL/min, susceptible to
ceftazidime-avibactam, meropenem-vaborbactam and cefiderocol, resistant to meropenem, ertapenem
and amikacin. IDSA 2024 (Q3.4) prefers meropenem-vaborbactam, ceftazidime-avibactam and
imipenem-relebactam for KPC; cefiderocol is the alternative. Meropenem-vaborbactam at eGFR >= 50
mL/min is 4 g (2 g + 2 g) q8h (Vabomere label, section 2), so 12 g a day.

NDM_BSI: NDM K. pneumoniae bacteraemia, CrCl 100; each of ceftazidime-avibactam and aztreonam
alone resistant, cefiderocol susceptible. IDSA 2024 (Q3.5) prefers ceftazidime-avibactam plus
aztreonam, or cefiderocol.
"""

from __future__ import annotations

import copy
import json
from typing import Any

PATIENT = {"age_years": 60, "sex": "male", "weight_kg": 80, "height_cm": 178, "creatinine_clearance_ml_min": 100}

KPC_BSI: dict[str, Any] = {
    "patient": PATIENT,
    "infection": {"site": "bloodstream", "severity": "septic_shock", "source_control": "achieved"},
    "isolate": {
        "organism": "Klebsiella pneumoniae", "carbapenemase": ["KPC"],
        "susceptibility": {
            "ceftazidime-avibactam": {"interpretation": "S"}, "meropenem-vaborbactam": {"interpretation": "S"},
            "cefiderocol": {"interpretation": "S"}, "meropenem": {"interpretation": "R"},
            "ertapenem": {"interpretation": "R"}, "amikacin": {"interpretation": "R"},
            "tigecycline": {"interpretation": "S"},
        },
    },
    "context": {"guideline_profile": "idsa-2024"},
}

def changed(case: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `case` with one dotted field set (None removes it)."""
    out = copy.deepcopy(case)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return out


NDM_BSI = changed(changed(KPC_BSI, "isolate.carbapenemase", ["NDM"]), "isolate.susceptibility", {
    "ceftazidime-avibactam": {"interpretation": "R"}, "aztreonam": {"interpretation": "R"},
    "cefiderocol": {"interpretation": "S"}, "meropenem": {"interpretation": "R"},
})


def rx(agent: str, dose_mg: float | None = None, interval_h: float | None = None) -> dict[str, Any]:
    return {"agent": agent, "dose_mg": dose_mg, "interval_h": interval_h, "route": "IV"}


def episode(episode_id: str, case: dict[str, Any], *prescribed: dict[str, Any], ward: str = "ICU-A",
            day: str = "2026-03-01") -> dict[str, Any]:
    return {"episode_id": episode_id, "ward": ward, "date": day, "case": case, "prescribed": list(prescribed)}


def mixed_lines() -> list[str]:
    """An episodes file of every verdict, two wards, three months, and four bad lines (3, 6, 9, 12)."""
    mev = rx("meropenem-vaborbactam", 4000, 8)
    good = [
        episode("E01", KPC_BSI, mev, ward="ICU-A", day="2026-01-05"),
        episode("E02", KPC_BSI, rx("cefiderocol", 2000, 8), ward="ICU-B", day="2026-01-20"),
        episode("E03", KPC_BSI, rx("MEV", 8000, 8), ward="ICU-A", day="2026-02-02"),
        episode("E04", KPC_BSI, rx("ertapenem", 1000, 24), ward="ICU-B", day="2026-02-14"),
        episode("E05", KPC_BSI, rx("amikacin"), ward="ICU-A", day="2026-02-20"),
        episode("E06", KPC_BSI, rx("CZA", 2500, 8), rx("tigecycline", 100, 12), ward="ICU-B", day="2026-03-01"),
        episode("E07", NDM_BSI, rx("ceftazidime-avibactam", 2500, 8), rx("aztreonam", 2000, 8), day="2026-03-03"),
        episode("E08", changed(NDM_BSI, "isolate.susceptibility.ceftazidime-avibactam", None),
                rx("ceftazidime-avibactam", 2500, 8), ward="ICU-B", day="2026-03-09"),
        episode("E09", KPC_BSI, rx("tigecycline", 100, 12), day="2026-03-15"),
        episode("E10", KPC_BSI, rx("Vabomere", 2000, 8), ward="ICU-B", day="2026-03-18"),
        episode("E11", changed(KPC_BSI, "isolate.organism", "Pseudomonas aeruginosa"), mev, day="2026-03-21"),
    ]
    lines = [json.dumps(e) for e in good]
    lines.insert(2, '{"episode_id": "B1", "ward": ')  # line 3: not JSON
    lines.insert(5, json.dumps({**good[0], "episode_id": "B2", "date": "2026-13-45"}))  # line 6: bad date
    lines.insert(8, json.dumps({k: v for k, v in good[0].items() if k != "ward"} | {"episode_id": "B3"}))  # line 9
    lines.insert(11, "[1, 2, 3]")  # line 12: not an object
    return lines


MIXED_VERDICTS = {
    "E01": "concordant", "E02": "concordant_alternative", "E03": "dose_high", "E04": "never_for_cre",
    "E05": "resistant_agent", "E06": "unneeded_combination", "E07": "concordant", "E08": "no_active_agent",
    "E09": "other_discordant", "E10": "dose_low", "E11": "not_assessable",
}
MIXED_BAD = {3: None, 6: "B2", 9: "B3", 12: None}
"""line -> the episode id the report must name (None where the line cannot be read that far)"""
