"""Shared test data for the web tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cre_advisor.settings import Settings, sqlite_url

# A KPC bloodstream infection. Cockcroft-Gault by hand: IBW (Devine, female, 165 cm) =
# 45.5 + 0.9055 x 12.6 = 56.9 kg; 72 kg is > 120% of IBW, so adjusted weight = 56.9 + 0.4 x 15.1
# = 62.9 kg; CrCl = (140 - 67) x 62.9 / (72 x 1.4) x 0.85 = 38.7 mL/min: the 31-50 band.
KPC_BLOODSTREAM: dict[str, Any] = {
    "patient": {"age_years": 67, "sex": "female", "weight_kg": 72, "height_cm": 165, "serum_creatinine_mg_dl": 1.4},
    "infection": {"site": "bloodstream", "severity": "septic_shock", "source_control": "pending"},
    "isolate": {
        "organism": "Klebsiella pneumoniae",
        "carbapenemase": ["KPC"],
        "susceptibility": {
            "meropenem-vaborbactam": {"interpretation": "S"},
            "ceftazidime-avibactam": {"interpretation": "S"},
            "meropenem": {"mic_mg_l": 16},
        },
    },
}


def make_settings(directory: Path, **overrides: Any) -> Settings:
    data = directory / "data"
    return Settings(data_dir=data, database_url=sqlite_url(data / "test.db"), **overrides)


# The same case as the form posts it (field names of cre_advisor.web.forms).
KPC_FORM: dict[str, Any] = {
    "patient.age_years": "67", "patient.sex": "female", "patient.weight_kg": "72", "patient.height_cm": "165",
    "creatinine_value": "1.4", "creatinine_unit": "mg_dl", "patient.renal_replacement": "none",
    "infection.site": "bloodstream", "infection.severity": "septic_shock", "infection.source_control": "pending",
    "increment.mode": "none", "isolate.organism": "Klebsiella pneumoniae", "carbapenemase.status": "detected",
    "carbapenemase.enzyme": ["KPC"], "isolate.breakpoints": "EUCAST-2026", "context.guideline_profile": "idsa-2024",
    "sus.meropenem-vaborbactam.sir": "S", "sus.ceftazidime-avibactam.sir": "S", "sus.meropenem.mic": "16",
}
