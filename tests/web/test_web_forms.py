"""The case form <-> Case mapping, and validation errors landing on the right field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from starlette.datastructures import MultiDict

from cre_advisor.case import Case
from cre_advisor.web.forms import FormErrors, FormState, case_from_form, field_for, read_form, state_from_case
from web_helpers import KPC_BLOODSTREAM, KPC_FORM


def _state(values: dict[str, Any]) -> FormState:
    items = [(k, item) for k, v in values.items() for item in (v if isinstance(v, list) else [v])]
    form = MultiDict(items)
    return read_form(form, form.getlist)


def _errors(values: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(FormErrors) as caught:
        case_from_form(_state(values))
    return caught.value.state.errors


def test_the_form_builds_the_same_case_as_the_json() -> None:
    assert case_from_form(_state(KPC_FORM)) == Case.model_validate(KPC_BLOODSTREAM)


def test_creatinine_in_micromoles() -> None:
    case = case_from_form(_state({**KPC_FORM, "creatinine_value": "123.8", "creatinine_unit": "umol_l"}))
    assert case.patient.serum_creatinine_umol_l == 123.8 and case.patient.serum_creatinine_mg_dl is None


def test_decimal_comma_is_read() -> None:
    assert case_from_form(_state({**KPC_FORM, "creatinine_value": "1,4"})).patient.serum_creatinine_mg_dl == 1.4


def test_every_part_of_the_case_round_trips_through_the_form() -> None:
    full = copy.deepcopy(KPC_BLOODSTREAM)
    full["patient"].update({
        "creatinine_unstable": True, "crcl_weight_basis": "actual", "child_pugh_class": "B",
        "recent_ceftazidime_avibactam": True,
        "allergies": [{"agent": "penicillins", "reaction": "anaphylaxis"}, {"agent": "aztreonam", "reaction": "mild"}],
    })
    full["infection"]["increment_cpe"] = {"severe_sepsis_or_shock": True, "pitt_score": 6, "charlson_index": 3,
                                          "source": "other", "inappropriate_early_therapy": False}
    full["isolate"].update({"carbapenemase_test": "xpert_carba_r", "breakpoints": "EUCAST-2026"})
    full["context"] = {"unavailable_agents": ["cefiderocol"], "guideline_profile": "escmid-2022",
                       "local_carbapenemase_distribution": {"KPC": 0.6, "OXA-48-like": 0.3}}
    case = Case.model_validate(full)
    assert case_from_form(state_from_case(case)) == case


def test_renal_replacement_and_score_round_trip() -> None:
    data = copy.deepcopy(KPC_BLOODSTREAM)
    data["patient"] = {"age_years": 50, "renal_replacement": "crrt", "crrt_effluent_l_h": 2.5, "pregnant": True, "sex": "female"}
    data["infection"] = {"site": "pneumonia", "ventilator_associated": True, "severity": "severe", "increment_cpe_score": 11}
    data["isolate"]["carbapenemase"] = []
    case = Case.model_validate(data)
    assert case_from_form(state_from_case(case)) == case


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"patient.age_years": ""}, "patient.age_years", "Enter the age."),
        ({"patient.age_years": "15"}, "patient.age_years", "for adults (18 years or older)"),
        ({"patient.weight_kg": "heavy"}, "patient.weight_kg", "Enter a number ('heavy' is not one)"),
        ({"patient.weight_kg": "inf"}, "patient.weight_kg", "finite"),
        ({"patient.weight_kg": "0.001"}, "patient.weight_kg", "below the plausible range (20-400 kg)"),
        ({"creatinine_value": "-1"}, "creatinine_value", "below the plausible range"),
        ({"creatinine_value": "1.9", "creatinine_unit": "umol_l"}, "creatinine_value", "almost surely in mg/dL"),
        ({"creatinine_value": "120", "creatinine_unit": "mg_dl"}, "creatinine_value", "almost surely in µmol/L"),
        ({"creatinine_unit": "g_l"}, "creatinine_unit", "mg/dL"),
        ({"isolate.organism": "Pseudomonas aeruginosa"}, "isolate.organism", "not an Enterobacterales"),
        ({"isolate.organism": ""}, "isolate.organism", "Enter the organism."),
        ({"infection.site": ""}, "infection.site", "Choose the site of infection."),
        ({"carbapenemase.status": "not_tested"}, "carbapenemase.enzyme", "not tested"),
        ({"carbapenemase.status": "none_found"}, "carbapenemase.enzyme", "none found"),
        ({"carbapenemase.enzyme": []}, "carbapenemase.enzyme", "tick"),
        ({"carbapenemase.status": "maybe"}, "carbapenemase.status", "Not tested yet"),
        ({"sus.meropenem.mic": "lots"}, "sus.meropenem.mic", "cannot read MIC"),
        ({"sus.cefiderocol.sir": "X"}, "sus.cefiderocol.sir", "Choose one of: S, I, R."),
        ({"allergy.1.agent": "aspirin", "allergy.1.reaction": "mild"}, "allergy.1.agent", "unknown allergen"),
        ({"allergy.2.agent": "aztreonam"}, "allergy.2.reaction", "Choose the allergic reaction."),
        ({"increment.mode": "parts"}, "infection.increment_cpe.pitt_score", "Enter the Pitt bacteraemia score."),
        ({"increment.mode": "parts", "infection.increment_cpe.pitt_score": "2.5"}, "infection.increment_cpe.pitt_score",
         "whole number"),
        ({"increment.mode": "guess"}, "increment.mode", "From its parts"),
        ({"local.KPC": "150"}, "local", "between 0 and 1 (0-100% of CRE)"),
        ({"local.KPC": "70", "local.NDM": "60"}, "local", "add up to 130%"),
        ({"isolate.breakpoints": "NOPE"}, "isolate.breakpoints", "unknown breakpoint table"),
        ({"unavailable": ["unobtainium"]}, "unavailable", "unknown agent"),
    ],
)
def test_errors_land_on_their_field(change: dict[str, Any], field: str, words: str) -> None:
    errors = _errors({**KPC_FORM, **change})
    assert field in errors, errors
    assert words.lower() in errors[field].lower()


def test_field_for_maps_case_paths_to_form_names() -> None:
    assert field_for(("patient", "serum_creatinine_umol_l")) == "creatinine_value"
    assert field_for(("patient", "allergies", 0, "agent"), allergy_rows=[2]) == "allergy.2.agent"
    assert field_for(("isolate", "susceptibility", "meropenem", "interpretation")) == "sus.meropenem.sir"
    assert field_for(("isolate", "susceptibility", "meropenem")) == "sus.meropenem.mic"
    assert field_for(("context", "unavailable_agents", 1)) == "unavailable"
    assert field_for(("infection", "increment_cpe", "pitt_score")) == "infection.increment_cpe.pitt_score"
