"""INCREMENT-CPE mortality score (increment-cpe-2016): from its parts, or as given.

The score decides, for severe infection treated with older agents only, whether combination
therapy is indicated (>= 8: high risk; increment-2017). Nothing here chooses a drug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cre_advisor.case import Infection

HIGH_RISK_FROM = 8
POINTS = {"shock": 5, "pitt": 4, "charlson": 3, "source": 3, "inappropriate": 2}


@dataclass(frozen=True)
class IncrementCpe:
    score: int | None
    category: Literal["low", "high", "unknown"]


def increment_cpe(infection: Infection) -> IncrementCpe:
    """Score 0-17: severe sepsis or shock 5, Pitt >= 6 4, Charlson >= 2 3, non-urinary/biliary source 3,
    inappropriate early therapy 2."""
    if infection.increment_cpe is not None:
        parts = infection.increment_cpe
        score = (
            POINTS["shock"] * parts.severe_sepsis_or_shock
            + POINTS["pitt"] * (parts.pitt_score >= 6)
            + POINTS["charlson"] * (parts.charlson_index >= 2)
            + POINTS["source"] * (parts.source == "other")
            + POINTS["inappropriate"] * parts.inappropriate_early_therapy
        )
    elif infection.increment_cpe_score is not None:
        score = infection.increment_cpe_score
    else:
        return IncrementCpe(None, "unknown")
    return IncrementCpe(score, "high" if score >= HIGH_RISK_FROM else "low")
