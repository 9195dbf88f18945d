"""Plausibility before arithmetic (issue 12 item 6): the Case contract and the command-line door.

Numbers are numbers (a JSON true is not a weight), creatinine, weight and height have limits per
unit whose message names the likely unit mix-up, non-finite numbers are refused, and a creatinine
clearance above 250 mL/min is never used silently: it is capped, with a warning. The expected
values below are worked by hand (Cockcroft-Gault written out in the test), never read from the
code under test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from cre_advisor import input_words
from cre_advisor.case import (
    Allergy,
    CarbapenemaseTest,
    Case,
    Context,
    Enzyme,
    IncrementCpe,
    Infection,
    Interpretation,
    Isolate,
    Patient,
    Profile,
    Reaction,
    RenalReplacement,
    Severity,
    Sex,
    Site,
    SourceControl,
    SusceptibilityResult,
)
from cre_advisor.cli import app
from cre_advisor.engine import recommend
from cre_advisor.patient import assess_renal_function
from strategies import cases

CEILING = 250.0  # mL/min, issue 12
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "kpc-bacteremia.json"
ADULT = {"age_years": 60, "sex": "male"}
runner = CliRunner()


def _refusal(**patient: Any) -> input_words.Problem:
    with pytest.raises(ValidationError) as caught:
        Patient.model_validate({**ADULT, **patient})
    [error] = caught.value.errors()
    return input_words.problem(error)


# ---- the bad-input matrix of issue 12, at the contract -------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("serum_creatinine_umol_l", 1.9, ["Serum creatinine", "almost surely in mg/dL"]),
        ("serum_creatinine_mg_dl", 1e-300, ["Serum creatinine", "below the plausible range (0.2-25 mg/dL)"]),
        ("serum_creatinine_mg_dl", 120, ["Serum creatinine", "almost surely in µmol/L"]),
        ("serum_creatinine_mg_dl", math.nan, ["Serum creatinine", "finite number"]),
        ("serum_creatinine_umol_l", math.inf, ["Serum creatinine", "finite number"]),
        ("weight_kg", 0.001, ["Weight", "below the plausible range (20-400 kg)", "kilograms"]),
        ("weight_kg", True, ["Weight", "true is not a number"]),
        ("weight_kg", "70", ["Weight", "as a number"]),
        ("weight_kg", 70_000, ["Weight", "grams or pounds"]),
        ("height_cm", 1.75, ["Height", "metres or inches"]),
        ("age_years", False, ["Age", "false is not a number"]),
        ("creatinine_clearance_ml_min", True, ["Measured creatinine clearance", "not a number"]),
        ("crrt_effluent_l_h", 2500, ["CRRT effluent rate", "mL/h or mL/kg/h"]),
    ],
)
def test_implausible_patient_values_are_refused_with_the_field_named(field: str, value: Any, words: list[str]) -> None:
    patient = {"renal_replacement": "crrt"} if field == "crrt_effluent_l_h" else {}
    found = _refusal(**patient, **{field: value})
    assert found.path == (field,)
    for word in words:
        assert word in found.line, found.line


@pytest.mark.parametrize(
    ("field", "value"),
    [("serum_creatinine_umol_l", 18), ("serum_creatinine_umol_l", 2210), ("serum_creatinine_mg_dl", 0.2),
     ("serum_creatinine_mg_dl", 25), ("weight_kg", 20), ("weight_kg", 400), ("height_cm", 100), ("height_cm", 250),
     ("weight_kg", 70)],
)
def test_the_limits_themselves_and_whole_numbers_are_accepted(field: str, value: float) -> None:
    assert getattr(Patient.model_validate({**ADULT, field: value}), field) == value


# Written here from issue 12, not read from the code: (low, high) per field and unit.
LIMITS = {
    "age_years": (18, 120), "weight_kg": (20, 400), "height_cm": (100, 250), "serum_creatinine_mg_dl": (0.2, 25),
    "serum_creatinine_umol_l": (18, 2210), "creatinine_clearance_ml_min": (0, 400), "crrt_effluent_l_h": (0.1, 10),
}


@settings(max_examples=300, deadline=None, database=None)
@given(st.sampled_from(sorted(LIMITS)), st.one_of(st.floats(), st.integers(-10**6, 10**6), st.booleans()))
def test_a_number_is_accepted_exactly_when_finite_and_within_its_limits(field: str, value: float) -> None:
    low, high = LIMITS[field]
    patient = {**ADULT, field: value, **({"renal_replacement": "crrt"} if field == "crrt_effluent_l_h" else {})}
    plausible = not isinstance(value, bool) and math.isfinite(value) and low <= value <= high
    try:
        Patient.model_validate(patient)
    except ValidationError as exc:
        [error] = exc.errors()
        assert not plausible, (field, value, error)
        found = input_words.problem(error)
        assert found.path == (field,) and found.line.lower().startswith(found.field.lower())
        return
    assert plausible, (field, value)


def test_whole_number_fields_refuse_a_boolean_and_a_fraction() -> None:
    parts = {"severe_sepsis_or_shock": True, "charlson_index": 2, "source": "other", "inappropriate_early_therapy": False}
    for value, words in ((True, "true is not a number"), (2.5, "whole number")):
        with pytest.raises(ValidationError) as caught:
            IncrementCpe.model_validate({**parts, "pitt_score": value})
        found = input_words.problem(caught.value.errors()[0])
        assert found.field == "Pitt bacteraemia score" and words in found.message


def test_checks_across_fields_name_the_field_to_change() -> None:
    found = _refusal(crrt_effluent_l_h=2.0)
    assert found.path == ("crrt_effluent_l_h",)
    assert found.message.startswith("Effluent rate applies only to CRRT")


# ---- one mapping of words, complete ------------------------------------------------------------
@pytest.mark.parametrize(
    ("choice", "enum"),
    [("site", Site), ("severity", Severity), ("source_control", SourceControl), ("renal_replacement", RenalReplacement),
     ("allergies.reaction", Reaction), ("sex", Sex), ("carbapenemase_test", CarbapenemaseTest),
     ("guideline_profile", Profile), ("carbapenemase", Enzyme), ("interpretation", Interpretation)],
)
def test_every_choice_has_a_readable_name(choice: str, enum: type) -> None:
    assert set(input_words.CHOICE_NAMES[choice]) == {member.value for member in enum}


@pytest.mark.parametrize(
    ("model", "prefix"),
    [(Case, ()), (Patient, ("patient",)), (Allergy, ("patient", "allergies", 0)), (Infection, ("infection",)),
     (IncrementCpe, ("infection", "increment_cpe")), (Isolate, ("isolate",)), (Context, ("context",))],
)
def test_every_case_field_has_a_clinical_name(model: type, prefix: tuple[str | int, ...]) -> None:
    for name in model.model_fields:
        path = (*prefix, name)
        assert input_words._lookup(path, input_words.FIELD_NAMES) is not None, path


def test_an_unknown_site_lists_readable_names_and_the_codes() -> None:
    found = input_words.problem({"type": "enum", "loc": ("infection", "site"), "msg": "x", "input": "lung"})
    assert "intra-abdominal" in found.message and "central nervous system" in found.message
    assert "intra_abdominal" in found.line and "intra_abdominal" not in found.message


# ---- the clearance ceiling ---------------------------------------------------------------------
PLAUSIBLE_PATIENT = st.fixed_dictionaries(
    {
        "age_years": st.floats(18, 120),
        "sex": st.sampled_from(["female", "male"]),
        "weight_kg": st.floats(20, 400),
        "serum_creatinine_mg_dl": st.floats(0.2, 25),
        "crcl_weight_basis": st.just("actual"),
    },
    optional={"height_cm": st.floats(100, 250), "creatinine_unstable": st.booleans()},
)


def _cockcroft_gault(patient: dict[str, Any]) -> float:
    """Written out here: (140 - age) x weight / (72 x SCr), x 0.85 for a woman (actual weight)."""
    crcl = (140 - patient["age_years"]) * patient["weight_kg"] / (72 * patient["serum_creatinine_mg_dl"])
    return crcl * 0.85 if patient["sex"] == "female" else crcl


@settings(max_examples=500, deadline=None, database=None)
@given(PLAUSIBLE_PATIENT)
def test_no_accepted_patient_gets_a_clearance_above_the_ceiling_without_the_warning(patient: dict[str, Any]) -> None:
    renal = assess_renal_function(Patient.model_validate(patient))
    raw = _cockcroft_gault(patient)
    warned = [f for f in renal.flags if f"above the {CEILING:g} mL/min ceiling" in f]
    assert renal.crcl_ml_min is not None and renal.crcl_ml_min <= CEILING
    if raw > CEILING + 0.05:
        assert renal.crcl_ml_min == CEILING and warned, (raw, renal)
        assert "capped" in renal.summary
    elif raw < CEILING - 0.05:
        assert renal.crcl_ml_min == pytest.approx(raw, abs=0.051) and not warned, (raw, renal)


@st.composite
def extreme_cases(draw: st.DrawFn) -> dict[str, Any]:
    """Valid cases whose creatinine and weight reach the plausible edges, no measured clearance."""
    case = draw(cases())
    patient = {key: value for key, value in case["patient"].items() if key not in (
        "creatinine_clearance_ml_min", "serum_creatinine_umol_l", "renal_replacement", "crrt_effluent_l_h")}
    patient.update(draw(PLAUSIBLE_PATIENT.map(lambda p: {k: p[k] for k in ("weight_kg", "serum_creatinine_mg_dl")})))
    patient.update({"sex": patient.get("sex") or "male", "crcl_weight_basis": "actual"})
    return {**case, "patient": patient}


@settings(max_examples=60, deadline=None, database=None)
@given(extreme_cases())
def test_a_capped_clearance_is_in_the_plan_warnings(case: dict[str, Any]) -> None:
    plan = recommend(case).model_dump(mode="json")
    raw = _cockcroft_gault(case["patient"])
    warned = any(f"above the {CEILING:g} mL/min ceiling" in w for w in plan["warnings"])
    assert plan["renal"]["crcl_ml_min"] <= CEILING
    if raw > CEILING + 0.05:
        assert warned and plan["renal"]["crcl_ml_min"] == CEILING
    elif raw < CEILING - 0.05:
        assert not warned


# ---- command line: recommend and dose ----------------------------------------------------------
def _example_with(**patient: Any) -> str:
    case = json.loads(EXAMPLE.read_text())
    case["patient"].update(patient)
    return json.dumps(case)


@pytest.mark.parametrize(
    ("patient", "words"),
    [
        ({"serum_creatinine_mg_dl": None, "serum_creatinine_umol_l": 1.9}, ["Serum creatinine", "mg/dL"]),
        ({"serum_creatinine_mg_dl": 1e-300}, ["Serum creatinine", "plausible range"]),
        ({"weight_kg": True}, ["Weight (patient.weight_kg)", "true is not a number"]),
        ({"weight_kg": 0.001}, ["Weight (patient.weight_kg)", "kilograms"]),
    ],
)
def test_recommend_refuses_implausible_input_naming_the_field(patient: dict[str, Any], words: list[str]) -> None:
    data = json.loads(_example_with(**patient))
    data["patient"] = {k: v for k, v in data["patient"].items() if v is not None}
    result = runner.invoke(app, ["recommend", "-"], input=json.dumps(data))
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.output.replace("\n", ""), result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--scr-umol-l", "1.9", "--age", "60", "--sex", "male", "--weight-kg", "80"], ["--scr-umol-l", "mg/dL"]),
        (["--scr-mg-dl", "1e-300", "--age", "60", "--sex", "male", "--weight-kg", "80"], ["--scr-mg-dl", "plausible"]),
        (["--weight-kg", "0.001", "--age", "60", "--sex", "male", "--scr-mg-dl", "1"], ["--weight-kg", "kilograms"]),
        (["--weight-kg", "nan"], ["--weight-kg", "finite"]),
        (["--crcl", "inf"], ["--crcl", "finite"]),
        (["--effluent-l-h", "2"], ["--effluent-l-h", "Effluent rate applies only to CRRT"]),
    ],
)
def test_dose_refuses_implausible_options_naming_the_option(args: list[str], words: list[str]) -> None:
    result = runner.invoke(app, ["dose", "CZA", *args])
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.output.replace("\n", " "), result.output


def test_dose_caps_a_clearance_above_the_ceiling_and_says_so() -> None:
    result = runner.invoke(app, ["dose", "cefiderocol", "--crcl", "390", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["renal"]["crcl_ml_min"] == CEILING
    assert any("390 mL/min" in f and "ceiling" in f for f in data["renal"]["flags"])
    assert (data["dose_mg"], data["interval_h"]) == (2000, 6)  # cefiderocol label, CrCl >= 120: 2 g q6h
    readable = runner.invoke(app, ["dose", "cefiderocol", "--crcl", "390"])
    assert "capped from 390" in readable.output and "ceiling" in readable.output


@pytest.mark.parametrize("mic", [True, math.nan, math.inf, 0, -1, 20_000, "20000", ">=1e5", "lots"])
def test_an_unreadable_or_absurd_mic_is_refused_as_input(mic: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        SusceptibilityResult.model_validate({"mic_mg_l": mic})
    assert "MIC" in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize(("mic", "kept"), [(16, 16.0), ("<=0.25", "<=0.25"), (" 0.5/4 ", "0.5/4"), (10_000, 10_000.0)])
def test_a_readable_mic_is_kept(mic: Any, kept: Any) -> None:
    assert SusceptibilityResult.model_validate({"mic_mg_l": mic}).mic_mg_l == kept
