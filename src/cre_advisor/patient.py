"""Patient calculations for dosing: body weights and creatinine clearance.

Cockcroft-Gault, Devine ideal body weight and adjusted body weight, with the body weight
Cockcroft-Gault uses chosen by a documented, overridable default (DOSING.md "Patient
calculations"). Nothing here picks a dose; nothing fills a value the user did not give:
what cannot be computed is None and named under `missing`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from cre_advisor.case import Patient, RenalReplacement, Sex

WeightBasis = Literal["actual", "ideal", "adjusted"]
RenalMethod = Literal["cockcroft_gault", "measured", "intermittent_hemodialysis", "crrt", "unknown"]

UMOL_L_PER_MG_DL = 88.4
DEVINE_BASE_KG = {Sex.male: 50.0, Sex.female: 45.5}
DEVINE_BASE_HEIGHT_CM = 152.4
DEVINE_KG_PER_CM = 0.9055  # 2.3 kg per inch
ADJUSTED_WEIGHT_FACTOR = 0.4
OBESE_ABOVE_IBW_RATIO = 1.2  # Cockcroft-Gault uses adjusted weight above 120% of IBW
AUGMENTED_CLEARANCE_ML_MIN = 130.0
# A sanity ceiling, not a clinical cut-off: above it an estimate says more about the input (a
# creatinine in the wrong unit, a weight in pounds) than about the kidney. Doses are chosen for
# the ceiling and the plan says so; every dose table's top band starts far below it.
CRCL_CEILING_ML_MIN = 250.0

MISSING_HEIGHT = "height (for ideal body weight; Cockcroft-Gault used actual weight)"
# What Cockcroft-Gault needs, as `missing` names it: creatinine, sex, weight, age.
_CG_INPUTS = (
    "serum creatinine (for Cockcroft-Gault creatinine clearance)",
    "sex (for Cockcroft-Gault and ideal body weight)",
    "weight (for Cockcroft-Gault and weight-based doses)",
    "age (for Cockcroft-Gault)",
)
_FEMALE = Sex.female
_NO_REPLACEMENT, _HAEMODIALYSIS, _CRRT = (
    RenalReplacement.none, RenalReplacement.intermittent_hemodialysis, RenalReplacement.crrt
)


class RenalAssessment(BaseModel):
    """Renal function as dosing needs it: a clearance or a replacement mode, and the weights."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    crcl_ml_min: float | None
    method: RenalMethod
    weight_basis: WeightBasis | None
    weight_kg: float | None
    ideal_body_weight_kg: float | None
    adjusted_body_weight_kg: float | None
    renal_replacement: str
    crrt_effluent_l_h: float | None
    flags: tuple[str, ...]
    missing: tuple[str, ...]
    actual_weight_kg: float | None = None
    crcl_above_ceiling_ml_min: float | None = None  # the clearance before capping, when it was capped

    @property
    def summary(self) -> str:
        """One line for a reader: what clearance or mode the doses were chosen for."""
        if self.renal_replacement == _HAEMODIALYSIS:
            return "intermittent haemodialysis"
        if self.renal_replacement == _CRRT:
            rate = f", effluent {self.crrt_effluent_l_h:g} L/h" if self.crrt_effluent_l_h else ""
            return f"CRRT{rate}"
        if self.crcl_ml_min is None:
            return "creatinine clearance unknown"
        how = "measured/given" if self.method == "measured" else "Cockcroft-Gault"
        if self.crcl_above_ceiling_ml_min is not None:
            how = f"capped from {self.crcl_above_ceiling_ml_min:g}, {how}"
        weight = f", {self.weight_basis} weight {self.weight_kg:g} kg" if self.weight_kg else ""
        return f"CrCl {self.crcl_ml_min:g} mL/min ({how}{weight})"


def _sex(sex: Sex | str) -> Sex:
    """`Sex(sex)`, skipping the enum's lookup when it already is one."""
    return sex if isinstance(sex, Sex) else Sex(sex)


def ideal_body_weight(sex: Sex | str, height_cm: float) -> float:
    """Devine ideal body weight in kg (applied linearly, also below 152.4 cm)."""
    return DEVINE_BASE_KG[_sex(sex)] + DEVINE_KG_PER_CM * (height_cm - DEVINE_BASE_HEIGHT_CM)


def adjusted_body_weight(ideal_kg: float, actual_kg: float) -> float:
    """IBW + 0.4 x (actual - IBW): the usual weight for hydrophilic drugs in obesity."""
    return ideal_kg + ADJUSTED_WEIGHT_FACTOR * (actual_kg - ideal_kg)


def cockcroft_gault(age_years: float, sex: Sex | str, weight_kg: float, creatinine_mg_dl: float) -> float:
    """CrCl (mL/min) = (140 - age) x weight / (72 x SCr mg/dL), x 0.85 if female."""
    crcl = (140 - age_years) * weight_kg / (72 * creatinine_mg_dl)
    return crcl * 0.85 if _sex(sex) is _FEMALE else crcl


def default_crcl_weight_basis(actual_kg: float, ideal_kg: float) -> WeightBasis:
    """Documented default: actual below IBW, IBW up to 120% of IBW, adjusted above."""
    if actual_kg < ideal_kg:
        return "actual"
    if actual_kg <= OBESE_ABOVE_IBW_RATIO * ideal_kg:
        return "ideal"
    return "adjusted"


# Full validation (it also makes floats of whole numbers), without the keyword round trip.
_validate_assessment = RenalAssessment.__pydantic_validator__.validate_python


def assess_renal_function(patient: Patient) -> RenalAssessment:
    """Renal function for dosing from a case's patient (see `assess_renal_values`)."""
    return assess_renal_values(
        age_years=patient.age_years,
        sex=patient.sex,
        weight_kg=patient.weight_kg,
        height_cm=patient.height_cm,
        serum_creatinine_mg_dl=patient.serum_creatinine_mg_dl,
        serum_creatinine_umol_l=patient.serum_creatinine_umol_l,
        measured_crcl_ml_min=patient.creatinine_clearance_ml_min,
        creatinine_unstable=patient.creatinine_unstable,
        weight_basis=patient.crcl_weight_basis,
        renal_replacement=patient.renal_replacement,
        crrt_effluent_l_h=patient.crrt_effluent_l_h,
    )


def assess_renal_values(
    *,
    age_years: float | None = None,
    sex: Sex | str | None = None,
    weight_kg: float | None = None,
    height_cm: float | None = None,
    serum_creatinine_mg_dl: float | None = None,
    serum_creatinine_umol_l: float | None = None,
    measured_crcl_ml_min: float | None = None,
    creatinine_unstable: bool = False,
    weight_basis: WeightBasis | None = None,
    renal_replacement: RenalReplacement | str = RenalReplacement.none,
    crrt_effluent_l_h: float | None = None,
) -> RenalAssessment:
    """Renal function from loose values (the command line may lack an age when --crcl is given).

    Order: renal replacement mode, then a measured (given) clearance, then Cockcroft-Gault.
    """
    sex = _sex(sex) if sex is not None else None
    mode = renal_replacement if isinstance(renal_replacement, RenalReplacement) else RenalReplacement(renal_replacement)
    missing: list[str] = []
    flags: list[str] = []

    ideal = ideal_body_weight(sex, height_cm) if sex is not None and height_cm is not None else None
    adjusted = adjusted_body_weight(ideal, weight_kg) if ideal is not None and weight_kg is not None else None
    if height_cm is not None and height_cm < DEVINE_BASE_HEIGHT_CM:
        flags.append("height below 152.4 cm: Devine ideal body weight extrapolated below its base height")
    if creatinine_unstable:
        flags.append("unstable creatinine (acute kidney injury?): any clearance estimate is unreliable; "
                     "re-dose as renal function changes")

    crcl: float | None = None
    method: RenalMethod
    basis: WeightBasis | None = None
    used: float | None = None
    if mode is not _NO_REPLACEMENT:
        if mode is _CRRT and crrt_effluent_l_h is None:
            missing.append("CRRT effluent rate (L/h; some agents are dosed by it)")
        method = mode.value  # type: ignore[assignment]
    elif measured_crcl_ml_min is not None:
        crcl, method = measured_crcl_ml_min, "measured"
    else:
        creatinine = serum_creatinine_mg_dl
        if creatinine is None and serum_creatinine_umol_l is not None:
            creatinine = serum_creatinine_umol_l / UMOL_L_PER_MG_DL
        inputs = (creatinine, sex, weight_kg, age_years)
        if None in inputs:
            missing += [label for value, label in zip(inputs, _CG_INPUTS) if value is None]
        basis, used = _crcl_weight(weight_kg, ideal, adjusted, weight_basis, height_cm, missing)
        if creatinine is None or sex is None or used is None or age_years is None:
            method = "unknown"
        else:
            crcl, method = cockcroft_gault(age_years, sex, used, creatinine), "cockcroft_gault"

    above_ceiling = None
    if crcl is not None and crcl > CRCL_CEILING_ML_MIN:
        above_ceiling = round(crcl, 1)
        source, check = (("measured clearance", "check the measurement") if method == "measured" else
                         ("Cockcroft-Gault estimate", "check the creatinine, its unit and the weight"))
        flags.append(f"creatinine clearance {above_ceiling:g} mL/min ({source}) is above the {CRCL_CEILING_ML_MIN:g} mL/min "
                     f"ceiling: doses are chosen for {CRCL_CEILING_ML_MIN:g} mL/min; {check}")
        crcl = CRCL_CEILING_ML_MIN
    if crcl is not None and crcl >= AUGMENTED_CLEARANCE_ML_MIN:
        flags.append(f"augmented renal clearance (CrCl >= {AUGMENTED_CLEARANCE_ML_MIN:g} mL/min): "
                     "standard doses may underexpose")
    ideal_kg = None if ideal is None else round(ideal, 1)
    adjusted_kg = None if adjusted is None else round(adjusted, 1)
    # The weight used is often the ideal or adjusted one itself: its rounding is already done.
    if used is ideal or used is adjusted:
        used_kg = ideal_kg if used is ideal else adjusted_kg
    else:
        used_kg = None if used is None else round(used, 1)
    return _validate_assessment({
        "crcl_ml_min": None if crcl is None else round(crcl, 1),
        "method": method,
        "weight_basis": basis,
        "weight_kg": used_kg,
        "ideal_body_weight_kg": ideal_kg,
        "adjusted_body_weight_kg": adjusted_kg,
        "renal_replacement": mode.value,
        "crrt_effluent_l_h": crrt_effluent_l_h,
        "flags": tuple(flags),
        "missing": tuple(missing),
        "actual_weight_kg": weight_kg,
        "crcl_above_ceiling_ml_min": above_ceiling,
    })


def _crcl_weight(
    actual: float | None,
    ideal: float | None,
    adjusted: float | None,
    requested: WeightBasis | None,
    height_cm: float | None,
    missing: list[str],
) -> tuple[WeightBasis | None, float | None]:
    """The weight Cockcroft-Gault uses; a requested basis that cannot be computed is reported, not replaced."""
    if actual is None:
        return None, None
    if requested is None:
        if ideal is None:
            if height_cm is None:
                missing.append(MISSING_HEIGHT)
            return "actual", actual
        requested = default_crcl_weight_basis(actual, ideal)
    if requested == "actual":
        return "actual", actual
    if ideal is None:
        missing.append(f"height and sex (needed for the requested {requested} body weight)")
        return requested, None
    if requested == "ideal":
        return "ideal", ideal
    return "adjusted", adjusted
