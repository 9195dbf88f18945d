"""Patient calculations: Cockcroft-Gault, Devine ideal weight, adjusted weight, weight choice.

Expected values are worked by hand from the formulas in DOSING.md ("Patient calculations"),
not produced by the code under test.
"""

from __future__ import annotations

import pytest

from cre_advisor.case import Patient
from cre_advisor.patient import (
    adjusted_body_weight,
    assess_renal_function,
    assess_renal_values,
    cockcroft_gault,
    ideal_body_weight,
)


def patient(**values: object) -> Patient:
    return Patient.model_validate({"age_years": 60, **values})


# ---- formulas --------------------------------------------------------------------------
def test_devine_ideal_body_weight_male_and_female() -> None:
    # male 180 cm: 50 + 0.9055 x 27.6 = 74.99; female 160 cm: 45.5 + 0.9055 x 7.6 = 52.38
    assert ideal_body_weight("male", 180) == pytest.approx(74.99, abs=0.01)
    assert ideal_body_weight("female", 160) == pytest.approx(52.38, abs=0.01)
    assert ideal_body_weight("male", 152.4) == pytest.approx(50.0)


def test_adjusted_body_weight_is_ibw_plus_forty_percent_of_excess() -> None:
    assert adjusted_body_weight(70, 120) == pytest.approx(90.0)


def test_cockcroft_gault_mg_dl_male() -> None:
    # (140 - 60) x 72 / (72 x 1.0) = 80
    assert cockcroft_gault(60, "male", 72, 1.0) == pytest.approx(80.0)


def test_cockcroft_gault_mg_dl_female_factor() -> None:
    # (140 - 80) x 60 / (72 x 1.2) = 41.67, x 0.85 = 35.42
    assert cockcroft_gault(80, "female", 60, 1.2) == pytest.approx(35.42, abs=0.01)


def test_assessment_in_mg_dl() -> None:
    renal = assess_renal_function(patient(sex="male", weight_kg=72, serum_creatinine_mg_dl=1.0))
    assert renal.crcl_ml_min == 80.0
    assert renal.method == "cockcroft_gault"


def test_assessment_in_umol_l_equals_mg_dl() -> None:
    # 88.4 umol/L = 1.0 mg/dL: same 80 mL/min
    renal = assess_renal_function(patient(sex="male", weight_kg=72, serum_creatinine_umol_l=88.4))
    assert renal.crcl_ml_min == 80.0


def test_assessment_in_umol_l_female() -> None:
    # 177 umol/L = 2.0023 mg/dL; (140 - 50) x 70 / (72 x 2.0023) = 43.70, x 0.85 = 37.15
    renal = assess_renal_values(age_years=50, sex="female", weight_kg=70, serum_creatinine_umol_l=177)
    assert renal.crcl_ml_min == pytest.approx(37.1, abs=0.05)


# ---- weight Cockcroft-Gault uses ---------------------------------------------------------
# male, 175 cm: IBW = 50 + 0.9055 x 22.6 = 70.46 kg; 120% of IBW = 84.56 kg
@pytest.mark.parametrize(
    ("weight", "basis", "used"),
    [
        (60, "actual", 60.0),  # underweight: actual below IBW
        (80, "ideal", 70.5),  # up to 120% of IBW: IBW
        (84.5, "ideal", 70.5),  # just below 120%
        (85, "adjusted", 76.3),  # above 120%: 70.46 + 0.4 x 14.54 = 76.28
        (120, "adjusted", 90.3),  # obese: 70.46 + 0.4 x 49.54 = 90.28
    ],
)
def test_default_weight_choice(weight: float, basis: str, used: float) -> None:
    renal = assess_renal_function(patient(sex="male", weight_kg=weight, height_cm=175, serum_creatinine_mg_dl=1.0))
    assert (renal.weight_basis, renal.weight_kg) == (basis, used)
    assert renal.ideal_body_weight_kg == 70.5


def test_obese_cockcroft_gault_uses_adjusted_weight() -> None:
    # age 40, SCr 1.0, adjusted 90.28 kg: 100 x 90.28 / 72 = 125.39
    renal = assess_renal_values(age_years=40, sex="male", weight_kg=120, height_cm=175, serum_creatinine_mg_dl=1.0)
    assert renal.crcl_ml_min == pytest.approx(125.4, abs=0.05)


def test_missing_height_uses_actual_weight_and_says_so() -> None:
    renal = assess_renal_function(patient(sex="male", weight_kg=120, serum_creatinine_mg_dl=1.0))
    assert (renal.weight_basis, renal.weight_kg) == ("actual", 120)
    assert renal.crcl_ml_min == pytest.approx(133.3, abs=0.05)  # 80 x 120 / 72
    assert any("height" in item for item in renal.missing)


def test_override_weight_basis_actual() -> None:
    renal = assess_renal_function(
        patient(sex="male", weight_kg=120, height_cm=175, serum_creatinine_mg_dl=1.0, crcl_weight_basis="actual")
    )
    assert (renal.weight_basis, renal.weight_kg) == ("actual", 120)


def test_override_to_ideal_without_height_is_reported_not_replaced() -> None:
    renal = assess_renal_function(patient(sex="male", weight_kg=120, serum_creatinine_mg_dl=1.0, crcl_weight_basis="ideal"))
    assert renal.crcl_ml_min is None
    assert any("height" in item for item in renal.missing)


# ---- measured clearance, missing data, replacement modes, flags --------------------------
def test_measured_clearance_wins_over_estimate() -> None:
    renal = assess_renal_function(
        patient(sex="male", weight_kg=72, serum_creatinine_mg_dl=1.0, creatinine_clearance_ml_min=55)
    )
    assert (renal.crcl_ml_min, renal.method) == (55, "measured")


@pytest.mark.parametrize(
    ("values", "missing_word"),
    [
        ({"sex": "male", "weight_kg": 72}, "creatinine"),
        ({"weight_kg": 72, "serum_creatinine_mg_dl": 1.0}, "sex"),
        ({"sex": "male", "serum_creatinine_mg_dl": 1.0}, "weight"),
    ],
)
def test_missing_values_leave_clearance_unknown(values: dict[str, object], missing_word: str) -> None:
    renal = assess_renal_function(patient(**values))
    assert renal.crcl_ml_min is None and renal.method == "unknown"
    assert any(missing_word in item for item in renal.missing)


def test_intermittent_haemodialysis_is_its_own_mode() -> None:
    renal = assess_renal_function(patient(sex="male", weight_kg=72, serum_creatinine_mg_dl=6.0,
                                          renal_replacement="intermittent_hemodialysis"))
    assert renal.crcl_ml_min is None
    assert renal.method == renal.renal_replacement == "intermittent_hemodialysis"


def test_crrt_with_and_without_effluent() -> None:
    with_rate = assess_renal_function(patient(renal_replacement="crrt", crrt_effluent_l_h=2.5))
    without = assess_renal_function(patient(renal_replacement="crrt"))
    assert (with_rate.method, with_rate.crrt_effluent_l_h, with_rate.missing) == ("crrt", 2.5, ())
    assert any("effluent" in item for item in without.missing)


def test_augmented_renal_clearance_flag_at_130() -> None:
    assert any("augmented" in f for f in assess_renal_values(measured_crcl_ml_min=130).flags)
    assert not any("augmented" in f for f in assess_renal_values(measured_crcl_ml_min=129).flags)


def test_unstable_creatinine_is_flagged() -> None:
    renal = assess_renal_function(patient(sex="male", weight_kg=72, serum_creatinine_mg_dl=1.0, creatinine_unstable=True))
    assert any("unstable" in f for f in renal.flags)
    assert renal.crcl_ml_min == 80.0  # still computed, but flagged as unreliable


def test_assessment_is_frozen() -> None:
    renal = assess_renal_values(measured_crcl_ml_min=50)
    with pytest.raises(Exception):
        renal.crcl_ml_min = 10  # type: ignore[misc]
