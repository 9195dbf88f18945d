"""The dose of one agent for this patient: picks the dosing.yaml row, then does the arithmetic.

Renal function comes from `cre_advisor.patient` (a clearance or a replacement mode); the row
for it is chosen here, never guessed: an unknown clearance gives the first dose only, and a
mode or band without a sourced row says "pharmacist to individualise". Every number comes
from the YAML; the only arithmetic here is mg/kg, a daily dose split by its interval, the
colistin formulas of Nation 2017 and the Child-Pugh C change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from cre_advisor.case import Patient, RenalReplacement
from cre_advisor.knowledge.dosing_tables import (
    FALLBACK_VARIANTS,
    AgentDosing,
    DoseRow,
    LoadingFormula,
    MaintenanceFormula,
    Variant,
    WeightRule,
)
from cre_advisor.knowledge.loader import Knowledge, default_knowledge
from cre_advisor.patient import RenalAssessment

INDIVIDUALISE = "pharmacist to individualise"
FIRST_DOSE_ONLY = "first dose only; further doses need creatinine clearance"
RENAL_UNKNOWN_BAND = "renal function unknown"
SITE_VARIANTS = {"cystitis": "cystitis", "cns": "meningitis"}


class DoseResult(BaseModel):
    """One agent's dose for this patient, as the engine and the command line show it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str
    route: str
    variant: str
    dose: str
    dose_mg: float | None
    dose_mg_max: float | None = None
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
        """Maintenance mg per 24 h (lower end of a range); None for a single dose or no dose."""
        if self.dose_mg is None or self.interval_h is None:
            return None
        return self.dose_mg * 24 / self.interval_h


@dataclass
class _Pick:
    row: DoseRow
    band: str
    first_only: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class _Weight:
    basis: str | None
    kg: float | None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Amounts:
    dose: float | None = None
    dose_max: float | None = None
    loading: float | None = None
    loading_max: float | None = None
    daily: float | None = None  # when the source gives a daily dose, for the text


def dose_for(
    agent: str,
    *,
    renal: RenalAssessment,
    patient: Patient | None = None,
    site: str | None = None,
    variant: str = "default",
    knowledge: Knowledge | None = None,
    child_pugh: str | None = None,
    route: str | None = None,
) -> DoseResult:
    """The dose of `agent` for this renal function, body weight, site, route and liver function.

    `child_pugh` overrides the patient's class (the command line may have no Patient); `route`
    ("IV"/"PO") picks an oral variant where one exists. Raises ValueError for an agent without a
    dose table, a variant no source gives, or a route the agent's variant is not given by.
    """
    tables = (knowledge or default_knowledge()).dosing
    dosing = tables.agents.get(agent)
    if dosing is None:
        raise ValueError(f"no dose table for agent '{agent}'; known: {', '.join(tables.agents)}")
    name, notes = _variant(agent, dosing, variant, site, route)
    chosen = dosing.variants[name]
    pick = _row(chosen, renal)
    if pick.row.daily_dose_by_formula and renal.crcl_ml_min is not None:
        pick.band = f"CrCl {renal.crcl_ml_min:g} mL/min (Nation 2017 equation 2)"
    weight = _dosing_weight(chosen.weight, renal) if chosen.weight else _Weight(None, None)
    amounts = _amounts(pick.row, chosen, weight.kg, renal.crcl_ml_min)
    citations = [*pick.row.citations, *(chosen.weight.citations if chosen.weight else ())]
    notes += pick.notes + weight.notes
    if pick.row.daily_dose_by_formula and chosen.maintenance_formula and amounts.daily is not None:
        citations += chosen.maintenance_formula.citations
        notes.append(f"daily dose {_amount(amounts.daily, chosen.dose_unit)} from Nation 2017 equation 2 "
                     f"at CrCl {renal.crcl_ml_min:g} mL/min")
    if chosen.loading_formula is not None and amounts.loading is not None:
        citations += chosen.loading_formula.citations
    if chosen.alt_unit is not None:
        citations += chosen.alt_unit.citations
    # With renal function unknown only the first dose is given; a loading dose needs no clearance.
    first_only = pick.first_only and (amounts.dose is not None or amounts.loading is not None)
    individualise = bool(pick.row.individualise) and not first_only
    notes += [reason for reason in (pick.row.not_recommended, pick.row.individualise if individualise else None) if reason]
    notes += pick.row.notes

    cp_class = child_pugh or (patient.child_pugh_class if patient else None)
    hepatic = chosen.child_pugh_c if cp_class == "C" else None
    interval = pick.row.interval_h
    if hepatic is not None and amounts.dose is not None:
        citations += hepatic.citations
        notes += hepatic.notes
        if hepatic.individualise:
            individualise = True
            notes.append(f"Child-Pugh C: {hepatic.individualise}")
        if hepatic.dose_factor is not None:
            amounts.dose *= hepatic.dose_factor
            amounts.dose_max = amounts.dose_max * hepatic.dose_factor if amounts.dose_max else None
        if hepatic.dose_mg is not None:
            amounts.dose, amounts.dose_max = hepatic.dose_mg, None
        if hepatic.dose_mg_per_kg is not None:
            amounts.dose = hepatic.dose_mg_per_kg * weight.kg if weight.kg is not None else None
            amounts.dose_max = None
        interval = hepatic.interval_h or interval

    first_is_loading = first_only and amounts.loading is not None
    if first_only:
        notes.insert(0, FIRST_DOSE_ONLY)
        if first_is_loading:
            amounts.dose, amounts.dose_max = amounts.loading, amounts.loading_max
            amounts.loading = amounts.loading_max = None
        interval = None
    if individualise and not any(INDIVIDUALISE in n for n in notes):
        notes.append(INDIVIDUALISE)

    given = amounts.dose is not None
    adjusted_for = pick.band
    if chosen.weight is not None and weight.kg is not None:
        adjusted_for += f"; {weight.basis} weight {weight.kg:g} kg"
    if hepatic is not None:
        adjusted_for += "; Child-Pugh C"
    return DoseResult(
        agent=agent,
        route=route.upper() if route else chosen.route,
        variant=name,
        dose=_dose_text(pick, chosen, amounts, interval, weight.kg, first_is_loading),
        dose_mg=_round(amounts.dose),
        dose_mg_max=_round(amounts.dose_max),
        interval_h=interval if given else None,
        infusion_h=pick.row.infusion_h if given else None,
        loading_dose_mg=_round(amounts.loading),
        band=pick.band,
        adjusted_for=adjusted_for,
        weight_basis=weight.basis,
        weight_kg=weight.kg,
        citations=tuple(dict.fromkeys((*citations, *dosing.citations))),
        notes=tuple(dict.fromkeys((*notes, *chosen.notes))),
        monitoring=dosing.monitoring,
        not_recommended=bool(pick.row.not_recommended),
        individualise=individualise,
    )


def _variant(agent: str, dosing: AgentDosing, variant: str, site: str | None, route: str | None) -> tuple[str, list[str]]:
    """The variant to use: the one asked for (or the site's, when the default was asked for), by route."""
    notes: list[str] = []
    name = variant
    if variant == "default":
        by_site = SITE_VARIANTS.get(site or "")
        if by_site in dosing.variants:
            name = by_site
    elif variant not in dosing.variants:
        if variant not in FALLBACK_VARIANTS:
            raise ValueError(f"unknown dose variant '{variant}' for {agent}; available: {', '.join(dosing.variants)}")
        kind = "high-exposure" if variant == "high_exposure" else f"{variant}-specific"
        notes.append(f"no separate {kind} dose in the tables for {agent}: standard dose shown")
        name = "default"
    if route is None or dosing.variants[name].serves(route):
        return name, notes
    oral = "oral_cystitis" if name == "cystitis" else "oral"
    if route.upper() == "PO" and oral in dosing.variants:
        return oral, notes
    raise ValueError(f"{agent} ({name} dose) is not given by route '{route}'; its route: {dosing.variants[name].route}")


def _row(chosen: Variant, renal: RenalAssessment) -> _Pick:
    """The row for this renal function (bands are whole mL/min, as the sources print them)."""
    normal = chosen.bands[0]
    if renal.renal_replacement == RenalReplacement.intermittent_hemodialysis:
        if chosen.hemodialysis is not None:
            return _Pick(chosen.hemodialysis, chosen.hemodialysis.band)
        return _no_row(chosen, "intermittent haemodialysis")
    if renal.renal_replacement == RenalReplacement.crrt:
        return _crrt_row(chosen, renal.crrt_effluent_l_h)
    if not chosen.renal_adjusted:
        return _Pick(normal, normal.band)
    if renal.crcl_ml_min is None:
        return _Pick(normal, RENAL_UNKNOWN_BAND, first_only=True)
    crcl = math.floor(renal.crcl_ml_min + 0.5)
    for row in chosen.bands:
        if row.contains(crcl):
            return _Pick(row, row.band)
    raise ValueError(f"dosing.yaml: no band covers CrCl {crcl} mL/min")  # a gap in a table is a data error


def _crrt_row(chosen: Variant, effluent: float | None) -> _Pick:
    if not chosen.crrt:
        return _no_row(chosen, "CRRT")
    if len(chosen.crrt) == 1 and chosen.crrt[0].unbounded:
        return _Pick(chosen.crrt[0], chosen.crrt[0].band)
    if effluent is None:
        pick = _no_row(chosen, "CRRT, effluent rate unknown")
        pick.notes.append("the CRRT dose depends on the effluent rate (L/h): give it")
        return pick
    for row in chosen.crrt:
        if row.contains(effluent):
            return _Pick(row, row.band)
    raise ValueError(f"dosing.yaml: no CRRT row covers effluent {effluent} L/h")


def _no_row(chosen: Variant, band: str) -> _Pick:
    """A renal replacement mode without a sourced row: the usual dose if not renally adjusted, else individualise."""
    normal = chosen.bands[0]
    if not chosen.renal_adjusted:
        return _Pick(normal, normal.band)
    row = DoseRow(band=band, individualise=f"{INDIVIDUALISE}: no sourced dose for {band}", citations=normal.citations)
    return _Pick(row, band, notes=[f"normal-function dose ({_regimen_summary(normal, chosen)}) is the ceiling"])


def _dosing_weight(rule: WeightRule, renal: RenalAssessment) -> _Weight:
    """The body weight a mg/kg dose uses; kg None (and a note) when it cannot be computed."""
    actual, ideal, adjusted = renal.actual_weight_kg, renal.ideal_body_weight_kg, renal.adjusted_body_weight_kg
    if rule.basis == "ideal":
        if ideal is None:
            return _Weight("ideal", None, ["height and sex needed for ideal body weight"])
        return _Weight("ideal", ideal)
    if actual is None:
        return _Weight(rule.basis, None, ["weight needed for this weight-based dose"])
    if rule.basis == "actual":
        return _Weight("actual", actual)
    if ideal is None:
        if rule.basis == "actual_or_adjusted":
            return _Weight("actual", actual, ["height and sex not given: actual weight used, obesity not checked"])
        return _Weight(rule.basis, None, ["height and sex needed for ideal body weight"])
    if actual > (rule.adjusted_above_ibw_ratio or 0.0) * ideal and adjusted is not None:
        return _Weight("adjusted", adjusted)
    return _Weight("actual", actual)


def _amounts(row: DoseRow, chosen: Variant, weight: float | None, crcl: float | None) -> _Amounts:
    """Per-dose and loading amounts in mg (upper ends when the source gives a range)."""
    out = _Amounts()
    if row.not_recommended:
        return out
    interval = row.interval_h or 24.0
    if row.dose_mg is not None:
        out.dose = row.dose_mg
    elif row.daily_dose_mg is not None:
        out.daily = row.daily_dose_mg
        out.dose = row.daily_dose_mg * interval / 24
    elif weight is not None and row.dose_mg_per_kg is not None:
        out.dose = row.dose_mg_per_kg * weight
        out.dose_max = row.dose_mg_per_kg_max * weight if row.dose_mg_per_kg_max else None
    elif weight is not None and row.daily_dose_mg_per_kg is not None:
        out.dose = row.daily_dose_mg_per_kg * weight * interval / 24
        out.dose_max = row.daily_dose_mg_per_kg_max * weight * interval / 24 if row.daily_dose_mg_per_kg_max else None
    elif row.daily_dose_by_formula and chosen.maintenance_formula and crcl is not None:
        out.daily = colistin_daily_dose_mg(crcl, chosen.maintenance_formula)
        out.dose = out.daily * interval / 24
    if row.loading_dose_mg is not None:
        out.loading = row.loading_dose_mg
    elif row.loading_dose_mg_per_kg is not None and weight is not None:
        out.loading = row.loading_dose_mg_per_kg * weight
        out.loading_max = row.loading_dose_mg_per_kg_max * weight if row.loading_dose_mg_per_kg_max else None
    elif chosen.loading_formula is not None and weight is not None:
        out.loading = colistin_loading_dose_mg(weight, chosen.loading_formula)
    return out


def colistin_loading_dose_mg(weight_kg: float, formula: LoadingFormula) -> float:
    """Nation 2017 equation 1: target Css,avg x 2.0 x body weight, mg colistin base activity, capped."""
    return min(formula.target_css_mg_l * formula.factor_l_per_kg * weight_kg, formula.max_mg)


def colistin_daily_dose_mg(crcl_ml_min: float, formula: MaintenanceFormula) -> float:
    """Nation 2017 equation 2: target Css,avg x 10^(0.0048 x CrCl + 1.825), mg CBA per day."""
    return formula.target_css_mg_l * 10 ** (formula.slope * crcl_ml_min + formula.intercept)


def _round(mg: float | None) -> float | None:
    """Whole mg from 100 mg up, one decimal below: display rounding only, never a dose change."""
    if mg is None:
        return None
    return float(math.floor(mg + 0.5)) if mg >= 100 else round(mg, 1)


def _in_grams(mg: float, unit: str) -> bool:
    """Grams only for whole-10-mg amounts from 1 g up (2.5 g, 2.67 g): never a rounded computed dose."""
    return unit == "mg" and mg >= 1000 and mg % 10 == 0


def _amount(mg: float, unit: str, grams: bool = True) -> str:
    return f"{mg / 1000:g} g" if grams and _in_grams(mg, unit) else f"{_round(mg):g} {unit}"


def _span(low: float, high: float | None, unit: str, grams: bool = True) -> str:
    if high is None or _round(high) == _round(low):
        return _amount(low, unit, grams)
    if grams and _in_grams(low, unit) and _in_grams(high, unit):
        return f"{low / 1000:g}-{high / 1000:g} g"
    return f"{_round(low):g}-{_round(high):g} {unit}"


def _interval_text(interval: float | None) -> str:
    return "once" if interval is None else f"q{interval:g}h"


def _regimen_summary(row: DoseRow, chosen: Variant) -> str:
    if row.dose_mg_per_kg is not None:
        return f"{row.dose_mg_per_kg:g} mg/kg {_interval_text(row.interval_h)}"
    if row.daily_dose_mg_per_kg is not None:
        return f"{row.daily_dose_mg_per_kg:g} mg/kg/day"
    if row.dose_mg is not None:
        return f"{_amount(row.dose_mg, chosen.dose_unit)} {_interval_text(row.interval_h)}"
    return "see the table"


def _dose_text(pick: _Pick, chosen: Variant, amounts: _Amounts, interval: float | None,
               weight: float | None, first_is_loading: bool) -> str:
    """What a clinician reads: '2.5 g q8h over 3 h', '15 mg/kg x 70 kg = 1050 mg q24h over 0.5 h'."""
    row, unit = pick.row, chosen.dose_unit
    grams = not row.per_kg  # a weight-based dose reads in mg, as computed

    def amount(low: float, high: float | None = None) -> str:
        text = _span(low, high, unit, grams)
        alt = chosen.alt_unit
        if alt is not None:
            units = [_units(v / alt.mg_per_unit) for v in (low, high) if v is not None]
            text += f" ({'-'.join(dict.fromkeys(units))} {alt.name})"
        return text

    loading = ""
    if amounts.loading is not None:
        per_kg = row.loading_dose_mg_per_kg
        basis = f"{_kg_span(per_kg, row.loading_dose_mg_per_kg_max)} x {weight:g} kg = " if per_kg and weight else ""
        loading = f"loading {basis}{amount(amounts.loading, amounts.loading_max)}"
    if row.not_recommended:
        return "not recommended at this renal function"
    if first_is_loading and amounts.dose is not None:
        return f"loading dose {amount(amounts.dose, amounts.dose_max)} once ({FIRST_DOSE_ONLY})"
    if row.individualise:
        return f"{loading} once; then {INDIVIDUALISE}" if loading else INDIVIDUALISE
    if amounts.dose is None:
        per_kg = row.dose_mg_per_kg or row.daily_dose_mg_per_kg
        return f"{per_kg:g} mg/kg (weight needed)" if per_kg else INDIVIDUALISE
    parts = [f"{loading}, then"] if loading else []
    if row.dose_mg_per_kg is not None and weight is not None:
        parts.append(f"{_kg_span(row.dose_mg_per_kg, row.dose_mg_per_kg_max)} x {weight:g} kg =")
    if row.daily_dose_mg_per_kg is not None and weight is not None:
        parts.append(f"{_kg_span(row.daily_dose_mg_per_kg, row.daily_dose_mg_per_kg_max)}/day x {weight:g} kg:")
    parts.append(amount(amounts.dose, amounts.dose_max))
    if row.composition and row.dose_mg is not None and amounts.dose == row.dose_mg:
        parts.append(f"({row.composition})")
    parts.append(_interval_text(interval))
    if row.infusion_h is not None:
        parts.append(f"over {row.infusion_h:g} h")
    if amounts.daily is not None and interval is not None:
        parts.append(f"({_amount(amounts.daily, unit)}/day)")
    text = " ".join(parts)
    return f"{text} ({FIRST_DOSE_ONLY})" if pick.first_only else text


def _units(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


def _kg_span(low: float | None, high: float | None) -> str:
    return f"{low:g}-{high:g} mg/kg" if high else f"{low:g} mg/kg"
