"""ICU notes that depend on the renal state: the clearance note is for patients whose dose follows a clearance.

On intermittent haemodialysis or CRRT the dose follows the replacement (session timing, effluent rate),
so "recalculate creatinine clearance and re-dose" would send the reader to a number that does not
decide anything. Paired: fires without replacement, must not fire on either replacement mode.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cre_advisor import recommend

EXAMPLE = json.loads((Path(__file__).resolve().parent.parent / "examples" / "kpc-bacteremia.json").read_text())
CLEARANCE_NOTE = "recalculate creatinine clearance"


def _monitoring(patient_changes: dict[str, object], drop: tuple[str, ...] = ()) -> str:
    case = json.loads(json.dumps(EXAMPLE))
    for key in drop:
        case["patient"].pop(key)
    case["patient"].update(patient_changes)
    return " ".join(recommend(case).monitoring)


def test_the_clearance_note_fires_when_the_dose_follows_a_clearance() -> None:
    assert CLEARANCE_NOTE in _monitoring({})


@pytest.mark.parametrize("mode", ["intermittent_hemodialysis", "crrt"])
def test_the_clearance_note_is_not_shown_on_renal_replacement(mode: str) -> None:
    assert CLEARANCE_NOTE not in _monitoring({"renal_replacement": mode}, drop=("serum_creatinine_mg_dl",))
