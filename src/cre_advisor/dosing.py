"""The dose of one agent for this patient: picks the dosing.yaml row, then does the arithmetic.

Renal function comes from `cre_advisor.patient` (a clearance or a replacement mode); the row
for it is chosen here, never guessed. The first dose is never withheld: an unknown clearance
gives the first dose only; a mode or band without a sourced maintenance dose gives the first
dose (the row's own, else the normal-function dose, which is not renally reduced) and says why
the maintenance dose is left to the pharmacist; CRRT without an effluent rate (and haemodialysis
without a residual clearance, where the label bands by it) lists the dose of every band and asks
for the value. With creatinine unstable, agents of wide therapeutic index get the normal-function
dose for the first 48 h (Crass 2019). Every number comes from the YAML; the only arithmetic here
is mg/kg, a daily dose split by its interval, the colistin formulas of Nation 2017 and the
Child-Pugh C change.

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
    FixedLoading,
    HepaticChange,
    LoadingFormula,
    MaintenanceFormula,
    Principles,
    Variant,
    WeightRule,
)
from cre_advisor.knowledge.loader import Knowledge, default_knowledge
from cre_advisor.patient import RenalAssessment

INDIVIDUALISE = "pharmacist to individualise"
FIRST_DOSE_ONLY = "first dose only; further doses need creatinine clearance"
RENAL_UNKNOWN_BAND = "renal function unknown"
EVIDENCE_LABELS = {
    "P": "label or guideline [P]",
    "H": "hospital dosing guide [H]",
    "R": "published study [R]",
    "S": "secondary source only [S]",
}
EVIDENCE_ORDER = "PHRS"  # strongest first
NORMAL_CRCL_ML_MIN = 90.0  # the band holding this clearance gives the normal-function dose
KIDNEY_FAILURE_CRCL_ML_MIN = 15.0  # kidney failure (end-stage renal disease): CrCl below this, or renal replacement
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
    evidence: str | None = None
    dose_options: tuple[str, ...] = ()

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
    # Rows to choose from by a value not given (CRRT effluent rate, residual CrCl on haemodialysis).
    options: tuple[DoseRow, ...] = ()
    extra_citations: tuple[str, ...] = ()  # a dosing principle's sources, when one decided the dose
    # The row's dose when it needs no weight, clearance or liver function (fixed doses),
    # and its notes when no variant or weight note comes first.
    usual: _Dose | None = None
    usual_notes: tuple[str, ...] = ()
    # Whole results of `usual` for a variant without a weight rule, by (agent, route, variant notes).
    results: dict[tuple[str, str, tuple[str, ...]], DoseResult] = field(default_factory=dict)
    # Sources by which of maintenance formula, loading formula, liver change and fixed loading were used.
    citations: dict[tuple[bool, bool, bool, bool], tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Plan:
    """One variant's rows as picks, and its routes: knowledge only, built on first use of the agent."""

    variant: Variant
    routes: frozenset[str]
    bands: tuple[tuple[DoseRow, _Pick], ...]
    by_crcl: tuple[_Pick | None, ...]  # the band's pick at each whole CrCl from 0 to just above the highest bound
    normal: _Pick
    unknown: _Pick
    hemodialysis: _Pick  # the pick on haemodialysis when the residual clearance is not given (or not used)
    hd_by_residual: tuple[tuple[DoseRow, _Pick], ...]
    crrt: tuple[tuple[DoseRow, _Pick], ...]
    crrt_only: _Pick | None  # the pick whatever the effluent rate (no rows, or one unbounded row)
    crrt_unknown: _Pick | None  # the per-band first dose when rows go by an effluent rate not given


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
    creatinine_unstable: bool | None = None,
    residual_crcl_ml_min: float | None = None,
) -> DoseResult:
    """The dose of `agent` for this renal function, body weight, site, route and liver function.

    `child_pugh`, `creatinine_unstable` and `residual_crcl_ml_min` (a measured clearance on
    haemodialysis) override the patient's values (the command line may have no Patient); `route`
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
    if residual_crcl_ml_min is None and patient is not None:
        residual_crcl_ml_min = patient.creatinine_clearance_ml_min
    pick = _row(plan, renal, crcl, residual_crcl_ml_min)
    if creatinine_unstable is None:
        creatinine_unstable = bool(patient and patient.creatinine_unstable)
    # Never over a band the label rules out (imipenem-relebactam below 15 mL/min without haemodialysis).
    if creatinine_unstable and chosen.full_early_dosing and crcl is not None and pick.row is not plan.normal.row \
            and not pick.row.not_recommended and renal.renal_replacement == RenalReplacement.none.value \
            and crcl < NORMAL_CRCL_ML_MIN:
        pick = _early_full_dose(plan, pick, knowledge.dosing.principles)
    if chosen.kidney_failure_notes and (renal.renal_replacement != RenalReplacement.none.value
                                      or (crcl is not None and crcl < KIDNEY_FAILURE_CRCL_ML_MIN)):
        variant_notes = (*variant_notes, *chosen.kidney_failure_notes)  # part of the fixed-dose key, so kept once
    return _dose_result(agent, plan, pick, dosing, name, variant_notes, route_shown, renal, patient, child_pugh)


def _early_full_dose(plan: _Plan, pick: _Pick, principles: Principles) -> _Pick:
    """The normal-function dose for the first 48 h, naming the band dose that follows (Crass 2019)."""
    chosen = plan.variant
    row = pick.row
    after = (f"{INDIVIDUALISE} the maintenance dose: {row.individualise}" if row.individualise
             else f"the {pick.band} dose ({_regimen_summary(row, chosen)})")
    later = (f"creatinine unstable: the normal-function dose for the first 48 h; then, if renal function has not "
             f"recovered, {after}")
    return _Pick(plan.normal.row, f"{pick.band}; first 48 h at the normal-function dose (creatinine unstable)",
                 notes=(later, principles.early_full_dose.note), extra_citations=principles.early_full_dose.citations)


def _dose_result(agent: str, plan: _Plan, pick: _Pick, dosing: AgentDosing, name: str,
                 variant_notes: tuple[str, ...], route_shown: str, renal: RenalAssessment,
                 patient: Patient | None, child_pugh: str | None) -> DoseResult:
    """The result for the picked row: built once for a fixed dose, else for this weight and liver function."""
    chosen = plan.variant
    crcl = renal.crcl_ml_min
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
    if hepatic is not None and hepatic.replaces_variant_notes:
        notes = tuple(note for note in notes if note not in chosen.notes)
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
    if pick.options:
        return _options_dose(pick, chosen, dosing, weight)
    row = pick.row
    if row.individualise:
        return _first_dose_then_individualise(pick, chosen, dosing, weight)
    unit = chosen.dose_unit
    amounts = _amounts(row, chosen, weight, crcl)
    notes: list[str] = []
    fixed_loading = _fixed_loading(chosen, weight, amounts)
    if fixed_loading is not None:
        notes.append(fixed_loading.note)
    by_formula = bool(row.daily_dose_by_formula and chosen.maintenance_formula and amounts.daily is not None)
    daily = None if amounts.daily is None else _amount(amounts.daily, unit)
    if by_formula:
        notes.append(f"daily dose {daily} from Nation 2017 equation 2 at CrCl {crcl:g} mL/min")
    # With renal function unknown only the first dose is given; a loading dose needs no clearance.
    first_only = pick.first_only and (amounts.dose is not None or amounts.loading is not None)
    individualise = False
    if row.not_recommended:
        notes.append(row.not_recommended)
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
        if hepatic.loading_dose_mg is not None:
            amounts.loading, amounts.loading_max = hepatic.loading_dose_mg, None
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
        "citations": _citations(pick, chosen, dosing,
                                (by_formula, amounts.loading is not None, liver, fixed_loading is not None)),
        "monitoring": dosing.monitoring,
        "not_recommended": bool(row.not_recommended),
        "individualise": individualise,
        "evidence": None if row.not_recommended else EVIDENCE_LABELS[row.evidence],
    }
    return _Dose(fields, tuple(notes), first_only, individualise)


def _fixed_loading(chosen: Variant, weight: float | None, amounts: _Amounts) -> FixedLoading | None:
    """The formula's fixed loading dose when it was used because the weight it needs is missing."""
    formula = chosen.loading_formula
    if formula is None or formula.without_weight is None or weight is not None or amounts.loading is None:
        return None
    return formula.without_weight


def _first_amount(row: DoseRow, chosen: Variant, weight: float | None) -> tuple[float | None, float | None]:
    """A row's first dose in mg: its loading dose, else its dose (mg/kg doses need the weight)."""
    amounts = _amounts(row, chosen, weight, NORMAL_CRCL_ML_MIN)
    if amounts.loading is not None:
        return amounts.loading, amounts.loading_max
    return amounts.dose, amounts.dose_max


def _first_dose_text(amount: float | None, high: float | None, row: DoseRow, chosen: Variant) -> str:
    if amount is None:
        return "first dose: weight needed"
    text = f"first dose {_amount_text(amount, high, chosen.dose_unit, not row.per_kg, chosen.alt_unit)}"
    return f"{text} {_infusion_text(row.infusion_h)}" if row.infusion_h is not None else text


def _first_dose_fields(pick: _Pick, chosen: Variant, dosing: AgentDosing, first: tuple[float | None, float | None],
                       shown: DoseRow, then: str, evidence: str) -> dict[str, Any]:
    """A first dose only (no interval), then what follows it: the pharmacist's part or the per-band doses."""
    amount, high = first
    timings = sorted({row.timing for row in (pick.row, *pick.options) if row.timing})
    timing = f", {' '.join(timings)}" if timings else ""
    return {
        "dose": f"{_first_dose_text(amount, high, shown, chosen)}{timing}; then {then}",
        "dose_mg": _round(amount),
        "dose_mg_max": _round(high),
        "interval_h": None,
        "infusion_h": shown.infusion_h if amount is not None else None,
        "loading_dose_mg": None,
        "citations": _citations(pick, chosen, dosing, (False, False, False, False)),
        "monitoring": dosing.monitoring,
        "not_recommended": False,
        "individualise": bool(pick.row.individualise and not pick.options),
        "evidence": EVIDENCE_LABELS[evidence],
    }


def _first_dose_then_individualise(pick: _Pick, chosen: Variant, dosing: AgentDosing, weight: float | None) -> _Dose:
    """A row with no sourced maintenance dose: its first dose (or the normal-function one), then the pharmacist."""
    row = pick.row
    if row.first_dose_mg is not None:
        first, shown = (row.first_dose_mg, None), row
    else:
        shown = _normal_row(chosen)
        first = _first_amount(shown, chosen, weight)
    then = f"{INDIVIDUALISE} the maintenance dose: {row.individualise}"
    return _Dose(_first_dose_fields(pick, chosen, dosing, first, shown, then, row.evidence), row.notes, False, True)


def _options_dose(pick: _Pick, chosen: Variant, dosing: AgentDosing, weight: float | None) -> _Dose:
    """Rows chosen by a value not given: one first dose (theirs if they agree, else the normal-function one),
    then each row's dose; the note asks for the value."""
    firsts = {_first_amount(row, chosen, weight) for row in pick.options}
    shown = pick.options[0] if len(firsts) == 1 else _normal_row(chosen)
    first = next(iter(firsts)) if len(firsts) == 1 else _first_amount(shown, chosen, weight)
    listed = tuple(f"{row.band}: {_regimen_summary(row, chosen)}" for row in pick.options)
    weakest = max((row.evidence for row in pick.options), key=EVIDENCE_ORDER.index)
    fields = _first_dose_fields(pick, chosen, dosing, first, shown, "; ".join(listed), weakest)
    return _Dose({**fields, "dose_options": listed}, tuple(n for row in pick.options for n in row.notes), False, False)


def _citations(pick: _Pick, chosen: Variant, dosing: AgentDosing,
               used: tuple[bool, bool, bool, bool]) -> tuple[str, ...]:
    """The row's sources, then those of the principle, weight rule, formulas, second unit, liver change and agent."""
    cited = pick.citations.get(used)
    if cited is None:
        by_formula, loading, liver, fixed_loading = used
        formula = chosen.loading_formula
        parts = [
            pick.row.citations,
            *(row.citations for row in pick.options),
            pick.extra_citations,
            chosen.weight.citations if chosen.weight else (),
            chosen.maintenance_formula.citations if by_formula and chosen.maintenance_formula else (),
            formula.citations if loading and formula is not None else (),
            formula.without_weight.citations if fixed_loading and formula and formula.without_weight else (),
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
        principles = knowledge.dosing.principles
        plans = memo[dosing.id] = {name: _plan(chosen, dosing, principles) for name, chosen in dosing.variants.items()}
    return plans


def _normal_row(chosen: Variant) -> DoseRow:
    """The normal-function row: the band holding CrCl 90 mL/min (the only band if not renally adjusted)."""
    return next((row for row in chosen.bands if row.contains(NORMAL_CRCL_ML_MIN)), chosen.bands[0])


def _plan(chosen: Variant, dosing: AgentDosing, principles: Principles) -> _Plan:
    normal = _normal_row(chosen)
    ceiling = f"normal-function dose ({_regimen_summary(normal, chosen)}) is the ceiling"

    def ready(pick: _Pick) -> _Pick:
        """The pick with its usual dose when that needs no weight, clearance or liver function."""
        row = pick.row
        rows = pick.options or (normal if row.individualise and row.first_dose_mg is None else row,)
        fixed_loading = all(r.loading_dose_mg is not None for r in rows) or chosen.loading_formula is None
        if not any(r.per_kg or r.daily_dose_by_formula for r in rows) and fixed_loading:
            pick.usual = _dose(pick, chosen, dosing, None, None, None)
            pick.usual_notes = _notes((), pick, (), pick.usual, chosen)
        return pick

    def row_pick(row: DoseRow) -> _Pick:
        if row.individualise:  # a first dose, then the pharmacist: say why the first dose is full, and the ceiling
            first = principles.first_dose
            return ready(_Pick(row, row.band, notes=(first.note, ceiling), extra_citations=first.citations))
        return ready(_Pick(row, row.band))

    def choose_by(rows: tuple[DoseRow, ...], value: str, ask: str) -> _Pick:
        return ready(_Pick(DoseRow(band=value, individualise=ask, citations=rows[0].citations), value,
                           notes=(ask,), options=rows))

    crrt_only = None
    if not chosen.crrt:
        crrt_only = row_pick(_no_row(chosen, "CRRT"))
    elif len(chosen.crrt) == 1 and chosen.crrt[0].unbounded:
        crrt_only = row_pick(chosen.crrt[0])
    hemodialysis = chosen.hemodialysis
    if chosen.hemodialysis_by_residual_crcl:
        hd_unknown = choose_by(chosen.hemodialysis_by_residual_crcl, "intermittent haemodialysis, residual CrCl not given",
                               "the haemodialysis dose depends on the residual creatinine clearance (mL/min): enter it")
    else:
        hd_unknown = row_pick(hemodialysis or _no_row(chosen, "intermittent haemodialysis"))
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
        hemodialysis=hd_unknown,
        hd_by_residual=tuple((row, row_pick(row)) for row in chosen.hemodialysis_by_residual_crcl),
        crrt=tuple((row, row_pick(row)) for row in chosen.crrt),
        crrt_only=crrt_only,
        crrt_unknown=choose_by(chosen.crrt, "CRRT, effluent rate not given",
                               "the CRRT dose depends on the effluent rate (L/h): enter it") if crrt_only is None else None,
    )


def _row(plan: _Plan, renal: RenalAssessment, crcl: float | None, residual: float | None = None) -> _Pick:
    """The row for this renal function (bands are whole mL/min, as the sources print them)."""
    mode = renal.renal_replacement
    if mode == _HAEMODIALYSIS:
        if residual is None or not plan.hd_by_residual:
            return plan.hemodialysis
        whole = math.floor(residual + 0.5)
        # A residual clearance above the haemodialysis rows takes its ordinary band, as the label bands by CrCl.
        return next((p for row, p in plan.hd_by_residual if row.contains(whole)), None) or _row(
            plan, renal.model_copy(update={"renal_replacement": RenalReplacement.none.value}), residual)
    if mode == _CRRT:
        if plan.crrt_only is not None:
            return plan.crrt_only
        if renal.crrt_effluent_l_h is None and plan.crrt_unknown is not None:
            return plan.crrt_unknown
        return _bounded(plan.crrt, renal.crrt_effluent_l_h, "CRRT effluent (L/h)")
    if not plan.variant.renal_adjusted:
        return plan.normal
    if crcl is None:
        return plan.unknown
    whole = math.floor(crcl + 0.5)
    table = plan.by_crcl
    pick = table[min(whole, len(table) - 1)] if whole >= 0 else None
    if pick is not None:
        return pick
    return _bounded(plan.bands, whole, "CrCl (mL/min)")


def _bounded(rows: tuple[tuple[DoseRow, _Pick], ...], value: float, what: str) -> _Pick:
    for row, pick in rows:
        if row.contains(value):
            return pick
    raise ValueError(f"dosing.yaml: no row covers {what} {value:g}")  # a gap in a table is a data error


def _no_row(chosen: Variant, band: str) -> DoseRow:
    """A renal replacement mode without a sourced row: the usual row if not renally adjusted, else a first dose only."""
    normal = chosen.bands[0]
    if not chosen.renal_adjusted:
        return normal
    return DoseRow(band=band, individualise=f"no sourced dose for {band} in the knowledge base",
                   citations=_normal_row(chosen).citations)


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
    elif chosen.loading_formula is not None and chosen.loading_formula.without_weight is not None:
        out.loading = chosen.loading_formula.without_weight.dose_mg
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
    if row.timing:
        text = f"{text}, {row.timing}"
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
