"""The three professional renderers: clinician, pharmacist and nurse.

They show the same recommendation with the same citations; what differs is the emphasis.
The clinician sees the whole reasoning, the pharmacist the dose arithmetic and renal basis,
the nurse how to give each drug and what to watch for. A statement the knowledge base words
for a given audience is shown in that wording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cre_advisor.recommendation import Option, RegimenItem
from cre_advisor.render.view import (
    Cited,
    OptionView,
    RenderContext,
    Section,
    TraceStep,
    View,
    hours,
    number,
    review_banner,
    sentences,
)

TIER_LABELS = {"preferred": "Preferred", "alternative": "Alternative", "last_resort": "Last resort"}
MECHANISM_LABELS = {
    "serine_carbapenemase": "serine carbapenemase",
    "metallo_beta_lactamase": "metallo-beta-lactamase",
    "non_carbapenemase": "no carbapenemase (non-carbapenemase-producing CRE)",
    "unknown": "unknown",
}
RENAL_METHODS = {
    "cockcroft_gault": "Cockcroft-Gault",
    "measured": "measured",
    "intermittent_hemodialysis": "on intermittent haemodialysis",
    "crrt": "on continuous renal replacement therapy",
    "unknown": "unknown",
}


def clinician_line(ctx: RenderContext, item: RegimenItem) -> str:
    """'Cefiderocol IV: 1.5 g q8h over 3 h (for CrCl 30-59 mL/min; source: label or guideline [P])'.

    The dose text is dosing's own (dialysis timing and per-band doses included); the evidence
    class of its source sits beside it, so a hospital-guide or study figure is never read as a label's.
    """
    text = f"{ctx.agent_name(item.agent)} {item.route}: {item.dose}"
    basis = [f"for {item.adjusted_for}"] if item.adjusted_for else []
    if item.evidence:
        basis.append(f"source: {item.evidence}")
    return f"{text} ({'; '.join(basis)})" if basis else text


def pharmacist_line(ctx: RenderContext, item: RegimenItem) -> str:
    """The clinician line plus the arithmetic a pharmacist checks, and the dosing notes."""
    parts = [clinician_line(ctx, item)]
    if item.dose_mg is not None:
        parts.append(f"per dose {number(item.dose_mg)} mg")
        if item.interval_h:
            parts.append(f"{number(item.dose_mg * 24 / item.interval_h)} mg per 24 h")
    if item.loading_dose_mg:
        parts.append(f"loading dose {number(item.loading_dose_mg)} mg")
    return sentences(parts + list(item.notes))


def nurse_line(ctx: RenderContext, item: RegimenItem, lead: str = "Give") -> str:
    """How to give it: the dose as written, the infusion time spelt out, the handling notes."""
    parts = [f"{lead} {ctx.agent_name(item.agent)} {item.route}: {item.dose}"]
    if item.infusion_h:
        parts.append(f"each infusion runs over {hours(item.infusion_h)}")
    return sentences(parts + list(item.notes))


@dataclass(frozen=True)
class Voice:
    audience: str
    heading: str
    lead: str
    dose_line: Callable[[RenderContext, RegimenItem], str]
    section_order: tuple[str, ...]
    titles: dict[str, str]
    show_rationale: bool = True
    chooses_one: bool = False
    """The options are choices for the prescriber, not orders: only the first reads as what to give."""


_TITLES = {
    "avoid": "Do not give",
    "warnings": "Warnings",
    "monitoring": "Monitoring",
    "missing_data": "Results that would change or sharpen this answer",
}

VOICES = {
    "clinician": Voice(
        "clinician", "Treatment plan", "Ranked options for this patient, with the reasoning and sources.",
        clinician_line, ("avoid", "warnings", "monitoring", "missing_data"), _TITLES,
    ),
    "pharmacist": Voice(
        "pharmacist", "Treatment plan: dosing review",
        "Doses for this patient's renal function, with per-dose and daily amounts and their sources.",
        pharmacist_line, ("monitoring", "warnings", "avoid", "missing_data"),
        {**_TITLES, "monitoring": "Monitoring and levels"},
    ),
    "nurse": Voice(
        "nurse", "Treatment plan: giving the drugs", "How to give each drug and what to watch for.",
        nurse_line, ("monitoring", "warnings", "avoid", "missing_data"),
        {**_TITLES, "monitoring": "What to watch for", "avoid": "Drugs not to give for this infection"},
        show_rationale=False, chooses_one=True,
    ),
}


def _texts(ctx: RenderContext, audience: str, texts: list[str]) -> tuple[Cited, ...]:
    return tuple(Cited(ctx.variant(t, audience) or t) for t in texts)


def _option(ctx: RenderContext, voice: Voice, option: Option) -> OptionView:
    if voice.chooses_one and option.rank > 1:
        texts = [nurse_line(ctx, item, "Only if the prescriber chooses this option instead:") for item in option.regimen]
    else:
        texts = [voice.dose_line(ctx, item) for item in option.regimen]
    lines = tuple(Cited(text, ctx.cite.mark(item.citations)) for text, item in zip(texts, option.regimen))
    rationale = Cited(option.rationale, ctx.cite.mark(option.citations)) if voice.show_rationale else None
    if rationale is None:
        ctx.cite.mark(option.citations)  # the sources stay listed even where the reasoning is not shown
    return OptionView(
        rank=option.rank,
        tier=option.tier,
        tier_label=TIER_LABELS[option.tier],
        title=ctx.agents_title([item.agent for item in option.regimen]),
        lines=lines,
        rationale=rationale,
        cautions=tuple(ctx.variant(c, voice.audience) or c for c in option.cautions),
    )


def _summary(ctx: RenderContext) -> list[Cited]:
    rec = ctx.rec
    mech = rec.mechanism
    mechanism_citations = [c for entry in rec.trace if "mechanism" in entry.step for c in entry.citations]
    lines = [Cited(
        f"Mechanism: {mech.explanation} ({MECHANISM_LABELS[mech.class_]})",
        ctx.cite.mark(mechanism_citations),
    )]
    renal = rec.renal
    if renal.crcl_ml_min is not None:
        basis = f", {renal.weight_basis} body weight" if renal.weight_basis else ""
        weight = f" {number(renal.weight_kg)} kg" if renal.weight_kg is not None and basis else ""
        renal_text = f"Renal function: CrCl {number(renal.crcl_ml_min)} mL/min ({RENAL_METHODS[renal.method]}{basis}{weight})"
    else:
        renal_text = f"Renal function: {RENAL_METHODS[renal.method]}"
    flags = f". {'; '.join(renal.flags)}" if renal.flags else ""
    lines.append(Cited(renal_text + flags))
    risk = rec.risk
    if risk.increment_cpe_score is not None:
        lines.append(Cited(f"INCREMENT-CPE score {risk.increment_cpe_score} ({risk.category} mortality risk)"))
    else:
        lines.append(Cited("INCREMENT-CPE score: not available"))
    return lines


def build(ctx: RenderContext, audience: str) -> View:
    voice = VOICES[audience]
    rec = ctx.rec
    view = View(audience=audience, heading=voice.heading, lead=voice.lead, review=review_banner(rec.review))
    view.summary = _summary(ctx)
    view.options_title = "Options, best first"
    if voice.chooses_one and len(rec.options) > 1:
        view.summary.insert(0, Cited(
            f"These are {len(rec.options)} alternatives, not {len(rec.options)} orders: the prescriber chooses one. "
            "Administration is shown for option 1; give only the option actually prescribed."))
        view.options_title = "Options: the prescriber chooses one"
    view.options = [_option(ctx, voice, option) for option in rec.options]
    view.no_options_text = "No regimen could be offered from the knowledge base for this case: see the warnings."
    sections = {
        "avoid": tuple(
            Cited(f"{ctx.agent_list(a.agents)}: {ctx.variant(a.reason, audience) or a.reason}", ctx.cite.mark(a.citations))
            for a in rec.avoid
        ),
        "warnings": _texts(ctx, audience, rec.warnings),
        "monitoring": _texts(ctx, audience, rec.monitoring),
        "missing_data": _texts(ctx, audience, rec.missing_data),
    }
    view.sections = [Section(key, voice.titles[key], sections[key], "None.") for key in voice.section_order]
    view.trace = [TraceStep(e.step.replace("_", " "), Cited(e.finding, ctx.cite.mark(e.citations))) for e in rec.trace]
    view.disclaimer = ctx.variant(rec.disclaimer, audience) or rec.disclaimer
    return view
