"""The dose of one agent for this patient: picks the dosing.yaml row, then does the arithmetic.

Renal function comes from `cre_advisor.patient` (a clearance or a replacement mode); the row
for it is chosen here, never guessed: an unknown clearance gives the first dose only, and a
mode or band without a sourced row says "pharmacist to individualise". Every number comes
from the YAML; the only arithmetic here is mg/kg, a daily dose split by its interval, the
colistin formulas of Nation 2017 and the Child-Pugh C change.

What follows from the tables alone (the row at each whole clearance, the text and sources of
a fixed dose) is worked out once per agent, on first use (`_Plan`); nothing is kept per patient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from cre_advisor.case import Patient, RenalReplacement
from cre_advisor.knowledge.dosing_tables import (
    FALLBACK_VARIANTS,
    AgentDosing,
    AltUnit,
    DoseRow,
    HepaticChange,
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
_HAEMODIALYSIS, _CRRT = RenalReplacement.intermittent_hemodialysis.value, RenalReplacement.crrt.value


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


class FixedDoseResult(DoseResult):
    """A dose that depends on no patient value beyond its table row: one instance per row, route and
    variant, kept for the knowledge base's life, so a caller may keep what it derives from it."""


@dataclass(slots=True)
class _Weight:
    basis: str | None
    kg: float | None
    notes: tuple[str, ...] = ()


_NO_WEIGHT = _Weight(None, None)


@dataclass(slots=True)
class _Amounts:
    dose: float | None = None
    dose_max: float | None = None
    loading: float | None = None
    loading_max: float | None = None
    daily: float | None = None  # when the source gives a daily dose, for the text


@dataclass(slots=True)
class _Dose:
    """What the picked row gives once weight, clearance and liver function are applied."""

    fields: dict[str, Any]  # the DoseResult fields it settles: text, amounts, sources, flags
    notes: tuple[str, ...]  # those that follow the pick's and the weight's
    first_only: bool
    individualise: bool


@dataclass(slots=True)
class _Pick:
    """A row chosen for a renal function or mode, with what follows from the knowledge alone.

    Built once per variant (see `_Plan`); the memos below are keyed by knowledge only.
    """

    row: DoseRow
    band: str
    first_only: bool = False
    notes: tuple[str, ...] = ()
    # The row's dose when it needs no weight, clearance or liver function (fixed doses),
    # and its notes when no variant or weight note comes first.
    usual: _Dose | None = None
    usual_notes: tuple[str, ...] = ()
    # Whole results of `usual` for a variant without a weight rule, by (agent, route, variant notes).
    results: dict[tuple[str, str, tuple[str, ...]], DoseResult] = field(default_factory=dict)
    # Sources by which of maintenance formula, loading formula and liver change were used.
    citations: dict[tuple[bool, bool, bool], tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Plan:
    """One variant's rows as picks, and its routes: knowledge only, built on first use of the agent."""

    variant: Variant
    routes: frozenset[str]
    bands: tuple[tuple[DoseRow, _Pick], ...]
    by_crcl: tuple[_Pick | None, ...]  # the band's pick at each whole CrCl from 0 to just above the highest bound
    normal: _Pick
    unknown: _Pick
    hemodialysis: _Pick
    crrt: tuple[tuple[DoseRow, _Pick], ...]
    crrt_only: _Pick | None  # the pick whatever the effluent rate (no rows, or one unbounded row)
    crrt_unknown: _Pick


# Full validation, without the keyword-argument round trip of DoseResult(**values).
_validate_dose = DoseResult.__pydantic_validator__.validate_python
_validate_fixed_dose = FixedDoseResult.__pydantic_validator__.validate_python


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
    knowledge = knowledge or default_knowledge()
    # Keyed by what the choice depends on: the site only through its variant, so any site string is one key.
    choices: dict[tuple[str, str, str | None, str | None], _Choice] = knowledge.memos["dosing.choices"]
    key = (agent, variant, SITE_VARIANTS.get(site or ""), route)
    choice = choices.get(key)
    if choice is None:  # an invalid request raises here and is not kept, so the memo holds valid choices only
        choice = choices[key] = _choose(knowledge, agent, variant, site, route)
    dosing, plan, name, variant_notes, route_shown = choice
    chosen = plan.variant
    crcl = renal.crcl_ml_min
    pick = _row(plan, renal, crcl)
    hepatic = None
    if (child_pugh or (patient.child_pugh_class if patient else None)) == "C":
        hepatic = chosen.child_pugh_c
    if hepatic is None and pick.usual is not None and chosen.weight is None:
        # Nothing here depends on the patient beyond the pick: build and validate it once.
        fixed_key = (agent, route_shown, variant_notes)
        result = pick.results.get(fixed_key)
        if result is None:
            result = pick.results[fixed_key] = _result(agent, name, route_shown, variant_notes, pick, chosen, pick.usual,
                                                 pick.band, _NO_WEIGHT, None, fixed=True)
        return result

    band = pick.band
    if crcl is not None and pick.row.daily_dose_by_formula:
        band = f"CrCl {crcl:g} mL/min (Nation 2017 equation 2)"
    weight = _dosing_weight(chosen.weight, renal) if chosen.weight else _NO_WEIGHT
    dose = pick.usual if hepatic is None else None
    if dose is None:
        dose = _dose(pick, chosen, dosing, weight.kg, crcl, hepatic)
    return _result(agent, name, route_shown, variant_notes, pick, chosen, dose, band, weight, hepatic)


_Choice = tuple[AgentDosing, "_Plan", str, tuple[str, ...], str]
"""An agent's table, the variant's plan, its name, the notes on why it was chosen, and the route shown."""


def _choose(knowledge: Knowledge, agent: str, variant: str, site: str | None, route: str | None) -> _Choice:
    """The variant and route for this request: they follow from the knowledge and the request alone."""
    tables = knowledge.dosing
    dosing = tables.agents.get(agent)
    if dosing is None:
        raise ValueError(f"no dose table for agent '{agent}'; known: {', '.join(tables.agents)}")
    plans = _plans(knowledge, dosing)
    name, variant_notes = _variant(agent, plans, variant, site, route)
    plan = plans[name]
    return dosing, plan, name, variant_notes, route.upper() if route else plan.variant.route


def _result(agent: str, name: str, route: str, variant_notes: tuple[str, ...], pick: _Pick, chosen: Variant,
            dose: _Dose, band: str, weight: _Weight, hepatic: HepaticChange | None, *,
            fixed: bool = False) -> DoseResult:
    """The validated DoseResult: the dose's fields with the band, weight and every note in order."""
    if dose is pick.usual and not variant_notes and not weight.notes:
        notes = pick.usual_notes
    else:
        notes = _notes(variant_notes, pick, weight.notes, dose, chosen)
    adjusted_for = band
    if weight.kg is not None:  # a weight is only worked out for a variant with a weight rule
        adjusted_for += f"; {weight.basis} weight {weight.kg:g} kg"
    if hepatic is not None:
        adjusted_for += "; Child-Pugh C"
    return (_validate_fixed_dose if fixed else _validate_dose)({
        **dose.fields,
        "agent": agent,
        "route": route,
        "variant": name,
        "band": band,
        "adjusted_for": adjusted_for,
        "weight_basis": weight.basis,
        "weight_kg": weight.kg,
        "notes": notes,
    })


def _notes(variant_notes: tuple[str, ...], pick: _Pick, weight_notes: tuple[str, ...], dose: _Dose,
           chosen: Variant) -> tuple[str, ...]:
    """Every note once: first-dose-only, the variant choice's, the pick's, the weight's, the row's, the variant's."""
    notes = [*variant_notes, *pick.notes, *weight_notes, *dose.notes]
    if dose.first_only:
        notes.insert(0, FIRST_DOSE_ONLY)
    if dose.individualise and not any(INDIVIDUALISE in n for n in notes):
        notes.append(INDIVIDUALISE)
    return tuple(dict.fromkeys((*notes, *chosen.notes)))


def _dose(pick: _Pick, chosen: Variant, dosing: AgentDosing, weight: float | None, crcl: float | None,
          hepatic: HepaticChange | None) -> _Dose:
    """The amounts, text, sources and notes of the picked row for this weight, clearance and liver change."""
    row = pick.row
    unit = chosen.dose_unit
    amounts = _amounts(row, chosen, weight, crcl)
    notes: list[str] = []
    by_formula = bool(row.daily_dose_by_formula and chosen.maintenance_formula and amounts.daily is not None)
    daily = None if amounts.daily is None else _amount(amounts.daily, unit)
    if by_formula:
        notes.append(f"daily dose {daily} from Nation 2017 equation 2 at CrCl {crcl:g} mL/min")
    # With renal function unknown only the first dose is given; a loading dose needs no clearance.
    first_only = pick.first_only and (amounts.dose is not None or amounts.loading is not None)
    individualise = bool(row.individualise) and not first_only
    if row.not_recommended:
        notes.append(row.not_recommended)
    if individualise:
        notes.append(row.individualise)
    notes += row.notes

    interval = row.interval_h
    liver = False  # whether the Child-Pugh C change applied
    if hepatic is not None and amounts.dose is not None:
        liver = True
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
            amounts.dose = hepatic.dose_mg_per_kg * weight if weight is not None else None
            amounts.dose_max = None
        interval = hepatic.interval_h or interval

    first_is_loading = first_only and amounts.loading is not None
    if first_only:
        if first_is_loading:
            amounts.dose, amounts.dose_max = amounts.loading, amounts.loading_max
            amounts.loading = amounts.loading_max = None
        interval = None
    given = amounts.dose is not None
    fields = {
        "dose": _dose_text(pick, chosen, amounts, interval, weight, first_is_loading, daily),
        "dose_mg": _round(amounts.dose),
        "dose_mg_max": _round(amounts.dose_max),
        "interval_h": interval if given else None,
        "infusion_h": row.infusion_h if given else None,
        "loading_dose_mg": _round(amounts.loading),
        "citations": _citations(pick, chosen, dosing, (by_formula, amounts.loading is not None, liver)),
        "monitoring": dosing.monitoring,
        "not_recommended": bool(row.not_recommended),
        "individualise": individualise,
    }
    return _Dose(fields, tuple(notes), first_only, individualise)


def _citations(pick: _Pick, chosen: Variant, dosing: AgentDosing, used: tuple[bool, bool, bool]) -> tuple[str, ...]:
    """The row's sources, then those of the weight rule, formulas, second unit, liver change and agent, once each."""
    cited = pick.citations.get(used)
    if cited is None:
        by_formula, loading, liver = used
        parts = [
            pick.row.citations,
            chosen.weight.citations if chosen.weight else (),
            chosen.maintenance_formula.citations if by_formula and chosen.maintenance_formula else (),
            chosen.loading_formula.citations if loading and chosen.loading_formula is not None else (),
            chosen.alt_unit.citations if chosen.alt_unit is not None else (),
            chosen.child_pugh_c.citations if liver and chosen.child_pugh_c is not None else (),
            dosing.citations,
        ]
        cited = pick.citations[used] = tuple(dict.fromkeys(c for part in parts for c in part))
    return cited


def _variant(agent: str, plans: dict[str, _Plan], variant: str, site: str | None,
             route: str | None) -> tuple[str, tuple[str, ...]]:
    """The variant to use: the one asked for (or the site's, when the default was asked for), by route."""
    notes: tuple[str, ...] = ()
    name = variant
    if variant == "default":
        by_site = SITE_VARIANTS.get(site or "")
        if by_site in plans:
            name = by_site
    elif variant not in plans:
        if variant not in FALLBACK_VARIANTS:
            raise ValueError(f"unknown dose variant '{variant}' for {agent}; available: {', '.join(plans)}")
        kind = "high-exposure" if variant == "high_exposure" else f"{variant}-specific"
        notes = (f"no separate {kind} dose in the tables for {agent}: standard dose shown",)
        name = "default"
    if route is None or route.upper() in plans[name].routes:
        return name, notes
    oral = "oral_cystitis" if name == "cystitis" else "oral"
    if route.upper() == "PO" and oral in plans:
        return oral, notes
    raise ValueError(f"{agent} ({name} dose) is not given by route '{route}'; its route: {plans[name].variant.route}")


def _plans(knowledge: Knowledge, dosing: AgentDosing) -> dict[str, _Plan]:
    """Every variant's plan for one agent, built on first use and kept with the knowledge."""
    memo: dict[str, dict[str, _Plan]] = knowledge.memos["dosing.plans"]
    plans = memo.get(dosing.id)
    if plans is None:
        plans = memo[dosing.id] = {name: _plan(chosen, dosing) for name, chosen in dosing.variants.items()}
    return plans


def _plan(chosen: Variant, dosing: AgentDosing) -> _Plan:
    def ready(pick: _Pick) -> _Pick:
        """The pick with its usual dose when that needs no weight, clearance or liver function."""
        row = pick.row
        fixed_loading = row.loading_dose_mg is not None or chosen.loading_formula is None
        if not row.per_kg and not row.daily_dose_by_formula and fixed_loading:
            pick.usual = _dose(pick, chosen, dosing, None, None, None)
            pick.usual_notes = _notes((), pick, (), pick.usual, chosen)
        return pick

    def row_pick(row: DoseRow) -> _Pick:
        return ready(_Pick(row, row.band))

    normal = chosen.bands[0]
    crrt_only = None
    if not chosen.crrt:
        crrt_only = ready(_no_row(chosen, "CRRT"))
    elif len(chosen.crrt) == 1 and chosen.crrt[0].unbounded:
        crrt_only = row_pick(chosen.crrt[0])
    crrt_unknown = _no_row(chosen, "CRRT, effluent rate unknown")
    crrt_unknown.notes += ("the CRRT dose depends on the effluent rate (L/h): give it",)
    hemodialysis = chosen.hemodialysis
    bands = tuple((row, row_pick(row)) for row in chosen.bands)
    # Above every finite bound each band's test gives the same answer, so the table can stop there.
    bounds = [b for row in chosen.bands for b in (row.gt, row.ge, row.lt, row.le) if b is not None]
    top = math.floor(max(bounds, default=0)) + 1
    return _Plan(
        variant=chosen,
        routes=frozenset(chosen.route.upper().split("/")),  # a variant may read 'IV/PO'
        bands=bands,
        by_crcl=tuple(next((p for row, p in bands if row.contains(crcl)), None) for crcl in range(top + 1)),
        normal=row_pick(normal),
        unknown=ready(_Pick(normal, RENAL_UNKNOWN_BAND, first_only=True)),
        hemodialysis=row_pick(hemodialysis) if hemodialysis else ready(_no_row(chosen, "intermittent haemodialysis")),
        crrt=tuple((row, row_pick(row)) for row in chosen.crrt),
        crrt_only=crrt_only,
        crrt_unknown=ready(crrt_unknown),
    )


def _row(plan: _Plan, renal: RenalAssessment, crcl: float | None) -> _Pick:
    """The row for this renal function (bands are whole mL/min, as the sources print them)."""
    mode = renal.renal_replacement
    if mode == _HAEMODIALYSIS:
        return plan.hemodialysis
    if mode == _CRRT:
        return _crrt_row(plan, renal.crrt_effluent_l_h)
    if not plan.variant.renal_adjusted:
        return plan.normal
    if crcl is None:
        return plan.unknown
    whole = math.floor(crcl + 0.5)
    table = plan.by_crcl
    pick = table[min(whole, len(table) - 1)] if whole >= 0 else None
    if pick is not None:
        return pick
    for row, pick in plan.bands:
        if row.contains(whole):
            return pick
    raise ValueError(f"dosing.yaml: no band covers CrCl {whole} mL/min")  # a gap in a table is a data error


def _crrt_row(plan: _Plan, effluent: float | None) -> _Pick:
    if plan.crrt_only is not None:
        return plan.crrt_only
    if effluent is None:
        return plan.crrt_unknown
    for row, pick in plan.crrt:
        if row.contains(effluent):
            return pick
    raise ValueError(f"dosing.yaml: no CRRT row covers effluent {effluent} L/h")


def _no_row(chosen: Variant, band: str) -> _Pick:
    """A renal replacement mode without a sourced row: the usual dose if not renally adjusted, else individualise."""
    normal = chosen.bands[0]
    if not chosen.renal_adjusted:
        return _Pick(normal, normal.band)
    row = DoseRow(band=band, individualise=f"{INDIVIDUALISE}: no sourced dose for {band}", citations=normal.citations)
    return _Pick(row, band, notes=(f"normal-function dose ({_regimen_summary(normal, chosen)}) is the ceiling",))


def _dosing_weight(rule: WeightRule, renal: RenalAssessment) -> _Weight:
    """The body weight a mg/kg dose uses; kg None (and a note) when it cannot be computed."""
    actual, ideal, adjusted = renal.actual_weight_kg, renal.ideal_body_weight_kg, renal.adjusted_body_weight_kg
    if rule.basis == "ideal":
        if ideal is None:
            return _Weight("ideal", None, ("height and sex needed for ideal body weight",))
        return _Weight("ideal", ideal)
    if actual is None:
        return _Weight(rule.basis, None, ("weight needed for this weight-based dose",))
    if rule.basis == "actual":
        return _Weight("actual", actual)
    if ideal is None:
        if rule.basis == "actual_or_adjusted":
            return _Weight("actual", actual, ("height and sex not given: actual weight used, obesity not checked",))
        return _Weight(rule.basis, None, ("height and sex needed for ideal body weight",))
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
    if high is None:
        return _amount(low, unit, grams)
    shown_low, shown_high = _round(low), _round(high)
    if shown_low == shown_high:
        return _amount(low, unit, grams)
    if grams and _in_grams(low, unit) and _in_grams(high, unit):
        return f"{low / 1000:g}-{high / 1000:g} g"
    return f"{shown_low:g}-{shown_high:g} {unit}"


@cache  # knowledge values only: intervals of rows and liver changes
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
               weight: float | None, first_is_loading: bool, daily: str | None) -> str:
    """What a clinician reads: '2.5 g q8h over 3 h', '15 mg/kg x 70 kg = 1050 mg q24h over 0.5 h'."""
    row = pick.row
    if row.not_recommended:
        return "not recommended at this renal function"
    unit, alt = chosen.dose_unit, chosen.alt_unit
    grams = not row.per_kg  # a weight-based dose reads in mg, as computed
    dose = amounts.dose
    if first_is_loading and dose is not None:
        return f"loading dose {_amount_text(dose, amounts.dose_max, unit, grams, alt)} once ({FIRST_DOSE_ONLY})"
    loading = ""
    if amounts.loading is not None:
        per_kg = row.loading_dose_mg_per_kg
        basis = f"{_kg_span(per_kg, row.loading_dose_mg_per_kg_max)} x {weight:g} kg = " if per_kg and weight else ""
        loading = f"loading {basis}{_amount_text(amounts.loading, amounts.loading_max, unit, grams, alt)}"
    if row.individualise:
        return f"{loading} once; then {INDIVIDUALISE}" if loading else INDIVIDUALISE
    if dose is None:
        per_kg = row.dose_mg_per_kg or row.daily_dose_mg_per_kg
        return f"{per_kg:g} mg/kg (weight needed)" if per_kg else INDIVIDUALISE
    parts = [f"{loading}, then"] if loading else []
    if weight is not None:
        if row.dose_mg_per_kg is not None:
            parts.append(f"{_kg_span(row.dose_mg_per_kg, row.dose_mg_per_kg_max)} x {weight:g} kg =")
        if row.daily_dose_mg_per_kg is not None:
            parts.append(f"{_kg_span(row.daily_dose_mg_per_kg, row.daily_dose_mg_per_kg_max)}/day x {weight:g} kg:")
    parts.append(_amount_text(dose, amounts.dose_max, unit, grams, alt))
    if row.composition and dose == row.dose_mg:
        parts.append(f"({row.composition})")
    parts.append(_interval_text(interval))
    if row.infusion_h is not None:
        parts.append(_infusion_text(row.infusion_h))
    if daily is not None and interval is not None:
        parts.append(f"({daily}/day)")
    text = " ".join(parts)
    return f"{text} ({FIRST_DOSE_ONLY})" if pick.first_only else text


def _amount_text(low: float, high: float | None, unit: str, grams: bool, alt: AltUnit | None) -> str:
    """An amount or a range, with the variant's second unit beside it."""
    text = _span(low, high, unit, grams)
    if alt is None:
        return text
    units = _units(low / alt.mg_per_unit)
    if high is not None:
        upper = _units(high / alt.mg_per_unit)
        units = units if upper == units else f"{units}-{upper}"
    return f"{text} ({units} {alt.name})"


def _units(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


@cache  # knowledge values only: infusion times of rows
def _infusion_text(hours: float) -> str:
    return f"over {hours:g} h"


@cache  # knowledge values only: the mg/kg of rows
def _kg_span(low: float | None, high: float | None) -> str:
    return f"{low:g}-{high:g} mg/kg" if high else f"{low:g} mg/kg"
