"""The dose of one agent for this patient: picks the dosing.yaml row, then does the arithmetic.

Renal function comes from `cre_advisor.patient` (a clearance or a replacement mode); the row
for it is chosen here, never guessed: an unknown clearance gives the first dose only, a mode
without a sourced row says "pharmacist to individualise". Numbers come from the YAML; the
only arithmetic here is mg/kg, a daily dose split by interval, the colistin loading formula
and the Child-Pugh C change.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from cre_advisor.case import Patient, RenalReplacement
from cre_advisor.knowledge.dosing_tables import (
    FALLBACK_VARIANTS,
    AgentDosing,
    DoseRow,
    LoadingFormula,
    Variant,
    WeightRule,
)
from cre_advisor.knowledge.loader import Knowledge, default_knowledge
from cre_advisor.patient import RenalAssessment

INDIVIDUALISE = "pharmacist to individualise"
FIRST_DOSE_ONLY = "first dose only; further doses need creatinine clearance"
RENAL_UNKNOWN_BAND = "renal function unknown"


class DoseResult(BaseModel):
    """One agent's dose for this patient, as the engine and the command line show it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str
    route: str
    variant: str
    dose: str
    dose_mg: float | None
    interval_h: float | None
    infusion_h: float | None
    loading_dose_mg: float | None
    band: str
    adjusted_for: str
    weight_basis: str | None
    weight_kg: float | None
    citations: tuple[str, ...]
    notes: tuple[str, ...]
    monitoring: tuple[str, ...]
    not_recommended: bool
    individualise: bool

    @property
    def daily_dose_mg(self) -> float | None:
        """Maintenance mg per 24 h; None for a single dose or no dose."""
        if self.dose_mg is None or self.interval_h is None:
            return None
        return self.dose_mg * 24 / self.interval_h


def dose_for(
    agent: str,
    *,
    renal: RenalAssessment,
    patient: Patient | None = None,
    site: str | None = None,
    variant: str = "default",
    knowledge: Knowledge | None = None,
    child_pugh: str | None = None,
) -> DoseResult:
    """The dose of `agent` for this renal function, body weight, site and liver function.

    `child_pugh` overrides the patient's class (the command line has no Patient). Raises
    ValueError for an agent without a dosing table or a variant no source gives.
    """
    tables = (knowledge or default_knowledge()).dosing
    dosing = tables.agents.get(agent)
    if dosing is None:
        raise ValueError(f"no dosing table for agent '{agent}'; known: {', '.join(tables.agents)}")
    name, notes = _variant(agent, dosing, variant, site)
    chosen = dosing.variants[name]
    row, band, first_only, row_notes = _row(chosen, renal)
    notes += row_notes
    basis, weight, weight_notes = _dosing_weight(chosen.weight, renal)
    if chosen.weight is not None:
        notes += weight_notes

    citations = list(row.citations)
    if chosen.weight is not None:
        citations += chosen.weight.citations
    dose_mg = _row_dose(row, weight)
    interval = row.interval_h
    loading = _loading(row, chosen.loading_formula, weight, renal)
    if chosen.loading_formula is not None and loading is not None:
        citations += chosen.loading_formula.citations
    individualise = bool(row.individualise)
    not_recommended = bool(row.not_recommended)
    for reason in (row.not_recommended, row.individualise):
        if reason:
            notes.append(reason)
    notes += row.notes

    hepatic = chosen.child_pugh_c if (child_pugh or (patient and patient.child_pugh_class)) == "C" else None
    if hepatic is not None and dose_mg is not None:
        citations += hepatic.citations
        notes += hepatic.notes
        if hepatic.individualise:
            individualise = True
            notes.append(f"Child-Pugh C: {hepatic.individualise}")
        if hepatic.dose_factor is not None:
            dose_mg *= hepatic.dose_factor
        if hepatic.dose_mg is not None:
            dose_mg = hepatic.dose_mg
        if hepatic.dose_mg_per_kg is not None:
            dose_mg = hepatic.dose_mg_per_kg * weight if weight is not None else None
        if hepatic.interval_h is not None:
            interval = hepatic.interval_h

    first_is_loading = first_only and dose_mg is not None and loading is not None
    if first_only and dose_mg is not None:
        if loading is not None:
            dose_mg, loading = loading, None
        interval = None
        notes.insert(0, FIRST_DOSE_ONLY)

    text = _dose_text(row, chosen, dose_mg, interval, loading, weight, first_is_loading)
    if individualise and INDIVIDUALISE not in " ".join(notes):
        notes.append(INDIVIDUALISE)
    adjusted_for = band if chosen.weight is None or weight is None else f"{band}; {basis} weight {weight:g} kg"
    if hepatic is not None:
        adjusted_for += "; Child-Pugh C"
    if chosen.alt_unit is not None:
        citations += chosen.alt_unit.citations
    return DoseResult(
        agent=agent,
        route=chosen.route,
        variant=name,
        dose=text,
        dose_mg=None if dose_mg is None else _round(dose_mg),
        interval_h=interval if dose_mg is not None else None,
        infusion_h=row.infusion_h if dose_mg is not None else None,
        loading_dose_mg=None if loading is None else _round(loading),
        band=band,
        adjusted_for=adjusted_for,
        weight_basis=basis if chosen.weight is not None else None,
        weight_kg=weight if chosen.weight is not None else None,
        citations=tuple(dict.fromkeys((*citations, *dosing.citations))),
        notes=tuple(dict.fromkeys((*notes, *chosen.notes))),
        monitoring=dosing.monitoring,
        not_recommended=not_recommended,
        individualise=individualise,
    )


def _variant(agent: str, dosing: AgentDosing, variant: str, site: str | None) -> tuple[str, list[str]]:
    """The variant to use: the one asked for, or the site's when the default was asked for."""
    if variant == "default":
        by_site = {"cystitis": "cystitis", "cns": "meningitis"}.get(site or "")
        if by_site in dosing.variants:
            return by_site, []
        return "default", []
    if variant in dosing.variants:
        return variant, []
    if variant in FALLBACK_VARIANTS:
        if variant == "high_exposure":
            return "default", [f"no separate high-exposure dose in the tables for {agent}: standard dose shown"]
        return "default", [f"no {variant}-specific dose in the tables for {agent}: standard dose shown"]
    raise ValueError(
        f"unknown dose variant '{variant}' for {agent}; available: {', '.join(dosing.variants)}"
    )


def _row(chosen: Variant, renal: RenalAssessment) -> tuple[DoseRow, str, bool, list[str]]:
    """(row, band text, first dose only?, notes) for this renal function."""
    normal = chosen.bands[0]
    mode = renal.renal_replacement
    if mode == RenalReplacement.intermittent_hemodialysis:
        if chosen.hemodialysis is not None:
            return chosen.hemodialysis, chosen.hemodialysis.band, False, []
        return _no_row(chosen, "intermittent haemodialysis")
    if mode == RenalReplacement.crrt:
        return _crrt_row(chosen, renal.crrt_effluent_l_h)
    if not chosen.renal_adjusted:
        return normal, normal.band, False, []
    if renal.crcl_ml_min is None:
        return normal, RENAL_UNKNOWN_BAND, True, []
    crcl = math.floor(renal.crcl_ml_min + 0.5)  # bands are whole mL/min as the sources print them
    for row in chosen.bands:
        if row.contains(crcl):
            return row, row.band, False, []
    raise ValueError(f"dosing.yaml: no band covers CrCl {crcl} mL/min")  # a table gap is a data error


def _crrt_row(chosen: Variant, effluent: float | None) -> tuple[DoseRow, str, bool, list[str]]:
    if not chosen.crrt:
        return _no_row(chosen, "CRRT")
    if len(chosen.crrt) == 1 and chosen.crrt[0].unbounded:
        return chosen.crrt[0], chosen.crrt[0].band, False, []
    if effluent is None:
        row, band, first, notes = _no_row(chosen, "CRRT, effluent rate unknown")
        return row, band, first, [*notes, "the CRRT dose depends on the effluent rate (L/h): give it"]
    for row in chosen.crrt:
        if row.contains(effluent):
            return row, row.band, False, []
    raise ValueError(f"dosing.yaml: no CRRT row covers effluent {effluent} L/h")


def _no_row(chosen: Variant, band: str) -> tuple[DoseRow, str, bool, list[str]]:
    """A renal replacement mode with no sourced row: the normal dose, or individualise."""
    normal = chosen.bands[0]
    if not chosen.renal_adjusted:
        return normal, normal.band, False, []
    ceiling = DoseRow(band=band, individualise=f"{INDIVIDUALISE}: no sourced dose for {band}",
                      citations=normal.citations)
    return ceiling, band, False, [f"normal-function dose ({_regimen_summary(normal, chosen)}) is the ceiling"]


def _dosing_weight(rule: WeightRule | None, renal: RenalAssessment) -> tuple[str | None, float | None, list[str]]:
    """(basis, kg, notes) for a mg/kg dose; None kg when it cannot be computed (said in notes)."""
    if rule is None:
        return None, None, []
    actual, ideal, adjusted = renal.actual_weight_kg, renal.ideal_body_weight_kg, renal.adjusted_body_weight_kg
    if actual is None:
        return rule.basis, None, ["weight needed for this weight-based dose"]
    if rule.basis == "actual":
        return "actual", actual, []
    if ideal is None:
        if rule.basis == "actual_or_adjusted":
            return "actual", actual, ["height and sex not given: actual weight used, obesity adjustment not checked"]
        return rule.basis, None, ["height and sex needed for ideal body weight"]
    if rule.basis == "ideal":
        return "ideal", ideal, []
    if rule.basis == "lower_of_actual_ideal":
        return ("ideal", ideal, []) if ideal < actual else ("actual", actual, [])
    ratio = rule.adjusted_above_ibw_ratio or 0.0
    if actual > ratio * ideal and adjusted is not None:
        return "adjusted", adjusted, []
    return "actual", actual, []


def _row_dose(row: DoseRow, weight: float | None) -> float | None:
    if row.dose_mg is not None:
        return row.dose_mg
    if row.daily_dose_mg is not None and row.interval_h is not None:
        return row.daily_dose_mg * row.interval_h / 24
    if row.dose_mg_per_kg is not None and weight is not None:
        return row.dose_mg_per_kg * weight
    return None


def _loading(row: DoseRow, formula: LoadingFormula | None, weight: float | None, renal: RenalAssessment) -> float | None:
    if row.not_recommended or row.individualise:
        return None
    if row.loading_dose_mg is not None:
        return row.loading_dose_mg
    if row.loading_dose_mg_per_kg is not None:
        return None if weight is None else row.loading_dose_mg_per_kg * weight
    if formula is not None and weight is not None:
        return colistin_loading_dose_mg(weight, formula)
    return None


def colistin_loading_dose_mg(weight_kg: float, formula: LoadingFormula) -> float:
    """Nation 2017: target Css,avg x factor x body weight, mg colistin base activity, capped."""
    return min(formula.target_css_mg_l * formula.factor_l_per_kg * weight_kg, formula.max_mg)


def _round(mg: float) -> float:
    """Whole mg above 100 mg, one decimal below: no rounding that changes a dose in practice."""
    return float(math.floor(mg + 0.5)) if mg >= 100 else round(mg, 1)


def _amount(mg: float, unit: str) -> str:
    if unit == "mg" and mg >= 1000:
        return f"{round(mg / 1000, 2):g} g"
    return f"{_round(mg):g} {unit}"


def _interval_text(interval: float | None) -> str:
    return "once" if interval is None else f"q{interval:g}h"


def _regimen_summary(row: DoseRow, chosen: Variant) -> str:
    if row.dose_mg_per_kg is not None:
        return f"{row.dose_mg_per_kg:g} mg/kg {_interval_text(row.interval_h)}"
    dose = _row_dose(row, None)
    return "none" if dose is None else f"{_amount(dose, chosen.dose_unit)} {_interval_text(row.interval_h)}"


def _dose_text(
    row: DoseRow,
    chosen: Variant,
    dose_mg: float | None,
    interval: float | None,
    loading: float | None,
    weight: float | None,
    first_is_loading: bool,
) -> str:
    """What a clinician reads: '2.5 g q8h over 3 h', '15 mg/kg x 70 kg = 1050 mg q24h'."""
    if row.not_recommended:
        return "not recommended at this renal function"
    if row.individualise:
        return INDIVIDUALISE
    if dose_mg is None:
        return f"{row.dose_mg_per_kg:g} mg/kg (weight needed)" if row.dose_mg_per_kg else INDIVIDUALISE

    def amount(mg: float) -> str:
        text = _amount(mg, chosen.dose_unit)
        if chosen.alt_unit is not None:
            text += f" ({mg / chosen.alt_unit.mg_per_unit:.3g} {chosen.alt_unit.name})"
        return text

    if first_is_loading:
        return f"loading dose {amount(dose_mg)} once ({FIRST_DOSE_ONLY})"
    parts: list[str] = []
    if loading is not None:
        parts.append(f"loading {amount(loading)}, then")
    if row.dose_mg_per_kg is not None and weight is not None:
        parts.append(f"{row.dose_mg_per_kg:g} mg/kg x {weight:g} kg = {amount(dose_mg)}")
    else:
        parts.append(amount(dose_mg))
    if row.composition and row.dose_mg is not None and dose_mg == row.dose_mg:
        parts.append(f"({row.composition})")
    parts.append(_interval_text(interval))
    if row.infusion_h is not None:
        parts.append(f"over {row.infusion_h:g} h")
    text = " ".join(parts)
    return f"{text} ({FIRST_DOSE_ONLY})" if interval is None and row.interval_h is not None else text
