"""An agent's dose table for the agent page: every band of every variant, with its sources.

Cells show the rows of dosing.yaml as written (amount, interval, infusion, loading dose,
reason for no maintenance dose, dialysis timing) with the evidence class of each row's source;
nothing is computed for a patient here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cre_advisor.dosing import EVIDENCE_LABELS, INDIVIDUALISE
from cre_advisor.engine import REVIEW_ORDER, REVIEW_OUTPUT
from cre_advisor.knowledge.dosing_tables import AgentDosing, DoseRow, Variant
from cre_advisor.knowledge.schema import Item
from cre_advisor.recommendation import Review
from cre_advisor.render.citations import CitationIndex, Marker
from cre_advisor.render.view import Cited, hours, number

VARIANT_TITLES = {
    "default": "Standard dosing",
    "cystitis": "Cystitis",
    "meningitis": "Meningitis",
    "with_ceftazidime_avibactam": "Given with ceftazidime-avibactam",
    "high_exposure": "High exposure (susceptible, increased exposure)",
    "oral": "Oral",
    "oral_cystitis": "Oral, cystitis",
}


@dataclass(frozen=True)
class DoseRowView:
    band: str
    dose: str
    interval: str
    infusion: str
    loading: str
    notes: tuple[str, ...]
    markers: tuple[Marker, ...]


@dataclass(frozen=True)
class DoseTableView:
    title: str
    facts: tuple[Cited, ...]
    rows: tuple[DoseRowView, ...]


def _span(low: float, high: float | None) -> str:
    return f"{number(low)}-{number(high)}" if high is not None and high != low else number(low)


def _individualise(reason: str) -> str:
    """'Pharmacist to individualise: ...' once, whether or not the data text already says it."""
    prefix = "pharmacist to individualise"
    text = reason if reason.lower().startswith(prefix) else f"{prefix}: {reason}"
    return text[0].upper() + text[1:]


def _dose(row: DoseRow, unit: str) -> str:
    """The row's amount as the table gives it, with its evidence class; never '0'."""
    if row.not_recommended:
        return f"Not recommended: {row.not_recommended}"
    return f"{_amount(row, unit)} ({EVIDENCE_LABELS[row.evidence]})"


def _amount(row: DoseRow, unit: str) -> str:
    """A shape this code does not know says so; a row without a maintenance dose gives its first dose."""
    if row.individualise:
        first = f"{number(row.first_dose_mg)} {unit}" if row.first_dose_mg else "the normal-function dose"
        return f"First dose {first}; then {INDIVIDUALISE} the maintenance dose: {row.individualise}"
    if row.dose_mg is not None:
        text = f"{number(row.dose_mg)} {unit}"
    elif row.dose_mg_per_kg is not None:
        text = f"{_span(row.dose_mg_per_kg, row.dose_mg_per_kg_max)} {unit}/kg"
    elif row.daily_dose_mg is not None:
        text = f"{number(row.daily_dose_mg)} {unit} per day, divided"
    elif row.daily_dose_mg_per_kg is not None:
        text = f"{_span(row.daily_dose_mg_per_kg, row.daily_dose_mg_per_kg_max)} {unit}/kg per day, divided"
    elif row.daily_dose_by_formula:
        text = "daily dose by the maintenance formula above, divided"
    else:
        text = "see the cited source"
    return f"{text} ({row.composition})" if row.composition else text


def _loading(row: DoseRow, unit: str) -> str:
    if row.loading_dose_mg is not None:
        return f"{number(row.loading_dose_mg)} {unit}"
    if row.loading_dose_mg_per_kg is not None:
        return f"{_span(row.loading_dose_mg_per_kg, row.loading_dose_mg_per_kg_max)} {unit}/kg"
    return ""


def _row(row: DoseRow, variant: Variant, cite: CitationIndex) -> DoseRowView:
    no_dose = row.not_recommended or row.individualise
    return DoseRowView(
        band=row.band,
        dose=_dose(row, variant.dose_unit),
        interval="" if no_dose else (f"{hours(row.interval_h)}" if row.interval_h else "single dose"),
        infusion=hours(row.infusion_h) if row.infusion_h else "",
        loading=_loading(row, variant.dose_unit),
        notes=(row.timing, *row.notes) if row.timing else row.notes,
        markers=cite.mark(row.citations),
    )


def _facts(variant: Variant, cite: CitationIndex) -> tuple[Cited, ...]:
    facts = [Cited(note) for note in variant.notes]
    if variant.weight is not None:
        ratio = variant.weight.adjusted_above_ibw_ratio
        basis = variant.weight.basis.replace("_", " ")
        text = f"mg/kg doses use {basis} body weight" + (f" (adjusted above {number(ratio * 100)}% of ideal)" if ratio else "")
        facts.append(Cited(text, cite.mark(variant.weight.citations)))
    if variant.loading_formula is not None:
        formula = variant.loading_formula
        facts.append(Cited(
            f"Loading dose = target average steady-state concentration {number(formula.target_css_mg_l)} mg/L x "
            f"{number(formula.factor_l_per_kg)} x body weight (kg), at most {number(formula.max_mg)} {variant.dose_unit}",
            cite.mark(formula.citations),
        ))
    if variant.maintenance_formula is not None:
        formula = variant.maintenance_formula
        facts.append(Cited(
            f"Daily maintenance dose = target average steady-state concentration {number(formula.target_css_mg_l)} mg/L x "
            f"10^({formula.slope:g} x CrCl + {formula.intercept:g}) {variant.dose_unit}",
            cite.mark(formula.citations),
        ))
    if variant.alt_unit is not None:
        alt = variant.alt_unit
        facts.append(Cited(f"1 {alt.name} = {number(alt.mg_per_unit)} {variant.dose_unit}", cite.mark(alt.citations)))
    if variant.child_pugh_c is not None:
        change = variant.child_pugh_c
        parts = [p for p in (
            f"{number(change.dose_mg)} {variant.dose_unit}" if change.dose_mg else "",
            f"{number(change.dose_mg_per_kg)} {variant.dose_unit}/kg" if change.dose_mg_per_kg else "",
            f"dose x {number(change.dose_factor)}" if change.dose_factor else "",
            f"every {hours(change.interval_h)}" if change.interval_h else "",
            _individualise(change.individualise) if change.individualise else "",
            *change.notes,
        ) if p]
        facts.append(Cited(f"Child-Pugh C: {'; '.join(parts)}", cite.mark(change.citations)))
    if not variant.renal_adjusted:
        facts.append(Cited("No renal adjustment."))
    return tuple(facts)


def dose_tables(dosing: AgentDosing, cite: CitationIndex) -> list[DoseTableView]:
    tables = []
    for name, variant in dosing.variants.items():
        rows = [_row(r, variant, cite) for r in variant.bands]
        if variant.hemodialysis is not None:
            rows.append(_row(variant.hemodialysis, variant, cite))
        rows += [_row(r, variant, cite) for r in variant.hemodialysis_by_residual_crcl]
        rows += [_row(r, variant, cite) for r in variant.crrt]
        title = f"{VARIANT_TITLES.get(name, name.replace('_', ' ').capitalize())} ({variant.route})"
        tables.append(DoseTableView(title, _facts(variant, cite), tuple(rows)))
    return tables


def items_review(items: Sequence[Item], released: str, states: Mapping[str, str] | None = None) -> Review:
    """The review block of a page showing `items`: the least-reviewed one, the newest change.

    `states` are the advisory board's states from the review store; without them an item
    keeps the state shipped in the knowledge base. Same ordering as the engine's answers.
    """
    statuses = [(states or {}).get(item.id, item.review_status) for item in items]
    worst = min(statuses, key=REVIEW_ORDER.__getitem__, default="submitted")
    last = max((item.updated or released for item in items), default=released)
    return Review(status=REVIEW_OUTPUT[worst], last_updated=last, items_used=len(items))  # type: ignore[arg-type]
