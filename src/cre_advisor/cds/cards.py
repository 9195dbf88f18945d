"""CDS Hooks cards from the engine's plan and the order findings (CDS Hooks 2.0, "Card Attributes").

Every card has a uuid, a summary under 140 characters, an indicator, a source with label, url
and topic (its card type), Markdown detail with doses and citations, absolute links, and the
override reasons of cards.yaml. Optional fields without a value are left out, as the spec
requires. Indicators: critical only for a harmful order; warning for a discordant or
mis-dosed order (or harmful current therapy); info otherwise. Nothing here decides anything
clinical: texts come from the Recommendation and the findings.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cre_advisor.fhir.codes import CodeMaps
from cre_advisor.cds.config import card_settings
from cre_advisor.cds.orders import OrderFinding, covered_option
from cre_advisor.fhir.reader import DraftOrder, FhirCase
from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.microbiology import SusceptibilityReading
from cre_advisor.recommendation import Option, Recommendation, RegimenItem
from cre_advisor.render.citations import CitationIndex, marker_text

SUMMARY_LIMIT = 139
UCUM = "http://unitsofmeasure.org"
INDICATOR = {"harmful": "critical", "discordant": "warning", "misdosed": "warning", "dose-info": "info", "concordant": "info"}
CARD_TYPE = {"harmful": "harmful-order", "discordant": "discordant-order", "misdosed": "misdosed-order",
             "dose-info": "dose-info", "concordant": "concordant-order"}


@dataclass(frozen=True)
class CardContext:
    """What every card of one call shares: where links point, who the patient is, what the
    isolate's results are and which agents are already ordered (drafts and active orders)."""

    base_url: str
    patient_id: str
    encounter_id: str | None
    plan_url: str | None
    codes: CodeMaps
    reading: SusceptibilityReading | None = None
    ordered: dict[str, DraftOrder] = field(default_factory=dict)
    smart_launch_url: str | None = None  # set when the hospital configured SMART launch


def summary(text: str) -> str:
    """One line under 140 characters, cut at a word if it must be cut."""
    text = " ".join(text.split())
    if len(text) <= SUMMARY_LIMIT:
        return text
    return text[: SUMMARY_LIMIT - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def agent_name(agent: str) -> str:
    found = default_knowledge().agents.get(agent)
    return found.name if found else agent


class Detail:
    """A card's Markdown detail: lines with numbered citations, and the sources at the end."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.index = CitationIndex(default_knowledge().references)

    def cite(self, citations: Iterable[str]) -> str:
        marks = marker_text(self.index.mark(dict.fromkeys(citations)))
        return f" {marks}" if marks else ""

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def text(self) -> str:
        sources = self.index.listing()
        if sources:
            self.add("", "**Sources**", *(f"{ref.number}. {ref.text}" for ref in sources))
        return "\n".join(self.lines)


def regimen_text(item: RegimenItem) -> str:
    loading = f"loading dose {item.loading_dose_mg:g} mg, then " if item.loading_dose_mg else ""
    return f"{agent_name(item.agent)} {item.route} {loading}{item.dose}"


def option_text(option: Option) -> str:
    return " + ".join(regimen_text(item) for item in option.regimen)


# ---- card skeleton ---------------------------------------------------------------------------


def _coding(ctx: CardContext, path_key: str, code: str, display: str) -> dict[str, str]:
    return {"system": ctx.base_url + card_settings()[path_key], "code": code, "display": display}


def card(ctx: CardContext, card_type: str, indicator: str, text: str, detail: str,
         suggestions: list[dict[str, Any]] | None = None, link_label: str | None = None) -> dict[str, Any]:
    """A card with every required field and only the optional fields that have a value."""
    settings = card_settings()
    built: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary(text),
        "indicator": indicator,
        "detail": detail,
        "source": {
            "label": settings["source"]["label"],
            "url": ctx.base_url + settings["source"]["path"],
            "topic": _coding(ctx, "topic_system_path", card_type, settings["card_types"][card_type]),
        },
        "overrideReasons": [_coding(ctx, "override_system_path", r["code"], r["display"]) for r in settings["override_reasons"]],
    }
    if suggestions:
        built["suggestions"] = suggestions
        built["selectionBehavior"] = "at-most-one"  # alternatives to one draft: never apply two
    url = ctx.plan_url or (ctx.base_url + "/")
    built["links"] = [{"label": link_label or "Full plan in the CRE advisor", "url": url, "type": "absolute"}]
    if ctx.smart_launch_url and ctx.plan_url:
        built["links"].append({"label": "Full plan in the CRE advisor (launch in the EHR)", "url": ctx.smart_launch_url,
                               "type": "smart", "appContext": app_context(ctx.plan_url)})
    return built


def app_context(plan_url: str) -> str:
    """A smart link's appContext: the saved case the plan link opens, as {"case": id} (the
    launch checks the id when it comes back)."""
    return json.dumps({"case": plan_url.rstrip("/").rsplit("/", 1)[-1]})


def card_type(built: dict[str, Any]) -> str:
    return built["source"]["topic"]["code"]


# ---- suggestions ---------------------------------------------------------------------------------


def medication_request(ctx: CardContext, item: RegimenItem) -> dict[str, Any]:
    """A draft R4 MedicationRequest carrying the plan's dose, interval, infusion time and route.

    The medication is coded with RxNorm and the route with SNOMED CT where codes.yaml has
    confirmed codes (else text only); doses are UCUM quantities in `doseAndRate`.
    """
    concept: dict[str, Any] = {"text": agent_name(item.agent)}
    codes = ctx.codes.suggestion_codes.get((item.agent, item.route), ())
    if codes:
        concept["coding"] = [{"system": ctx.codes.rxnorm, "code": code} for code in codes]
    route: dict[str, Any] = {"text": item.route}
    if item.route in ctx.codes.routes:
        code, display = ctx.codes.routes[item.route]
        route["coding"] = [{"system": ctx.codes.systems["snomed"], "code": code, "display": display}]
    dosages = []
    if item.loading_dose_mg:
        dosages.append({
            "sequence": 1, "text": f"Loading dose {item.loading_dose_mg:g} mg {item.route} once",
            "route": route, "timing": {"repeat": {"count": 1}},
            "doseAndRate": [{"doseQuantity": _mg(item.loading_dose_mg)}],
        })
    dosage: dict[str, Any] = {"text": f"{item.dose} {item.route}", "route": route}
    if dosages:
        dosage["sequence"] = 2
    repeat: dict[str, Any] = {"count": 1}
    if item.interval_h:
        repeat = {"frequency": 1, "period": item.interval_h, "periodUnit": "h"}
    if item.infusion_h:
        repeat.update(duration=item.infusion_h, durationUnit="h")
    dosage["timing"] = {"repeat": repeat}
    if item.dose_mg:
        dosage["doseAndRate"] = [{"doseQuantity": _mg(item.dose_mg)}]
    dosages.append(dosage)
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
        "medicationCodeableConcept": concept, "subject": {"reference": f"Patient/{ctx.patient_id}"},
        "dosageInstruction": dosages,
    }
    if ctx.encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{ctx.encounter_id}"}
    return resource


def _mg(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "mg", "system": UCUM, "code": "mg"}


def replacement(ctx: CardContext, finding: OrderFinding, option: Option, label: str, recommended: bool) -> dict[str, Any]:
    """Remove the draft and order the option's regimen, as one suggestion.

    An agent of the option that another draft or an active order already gives is not ordered
    again (no duplicate therapy); the label says which.
    """
    actions = [_delete(finding)]
    already = []
    for item in option.regimen:
        existing = ctx.ordered.get(item.agent)
        if existing is not None and existing.resource_id != finding.order.resource_id:
            already.append(f"{existing.name} is already ordered")
            continue
        actions.append({
            "type": "create", "description": f"Order {regimen_text(item)}",
            "resource": medication_request(ctx, item),
        })
    if already:
        label = f"{label} ({'; '.join(already)})"
    built = {"label": summary(label), "uuid": str(uuid.uuid4()), "actions": actions}
    if recommended:
        built["isRecommended"] = True
    return built


def _delete(finding: OrderFinding) -> dict[str, Any]:
    return {"type": "delete", "description": f"Remove the draft order for {finding.order.name}",
            "resourceId": finding.order.resource_id}


def removal(finding: OrderFinding, label: str) -> dict[str, Any]:
    """Remove the draft, and nothing else."""
    return {"label": summary(label), "uuid": str(uuid.uuid4()), "isRecommended": True, "actions": [_delete(finding)]}


def susceptible_first(options: list[Option], reading: SusceptibilityReading | None) -> list[Option]:
    """Within a tier, options whose every agent tested susceptible come before untested ones.

    The engine's tier order stands (a tested last-resort agent never jumps a preferred one);
    only options of equal tier are reordered, each group keeping the engine's rank.
    """
    def tested(option: Option) -> bool:
        results = [reading.get(i.agent) if reading is not None else None for i in option.regimen]
        return all(r is not None and r.category == "S" and r.source != "intrinsic" for r in results)

    tiers = list(dict.fromkeys(o.tier for o in options))
    return sorted(options, key=lambda o: (tiers.index(o.tier), not tested(o)))


# ---- the cards -----------------------------------------------------------------------------------


def _plan_detail(detail: Detail, plan: Recommendation, found: FhirCase, limit: int = 3) -> None:
    renal = plan.renal
    if renal.crcl_ml_min is not None:
        weight = f", {renal.weight_basis} weight {renal.weight_kg:g} kg" if renal.weight_basis and renal.weight_kg else ""
        kidney = f"CrCl {renal.crcl_ml_min:g} mL/min ({renal.method.replace('_', '-')}{weight})"
    else:
        kidney = f"renal function: {renal.method.replace('_', ' ')}"
    detail.add(f"**{found.organism}**: {plan.mechanism.explanation}. {kidney}.", "", "**Options**")
    for option in plan.options[:limit]:
        detail.add(f"{option.rank}. *{option.tier.replace('_', ' ')}*: {option_text(option)}{detail.cite(option.citations)}")
        detail.add(*(f"   - {caution}" for caution in option.cautions))
    if not plan.options:
        detail.add("No option could be built from the record: see the full plan.")
    if plan.avoid:
        detail.add("", "**Avoid**")
        detail.add(*(f"- {', '.join(agent_name(a) for a in avoid.agents)}: {avoid.reason}{detail.cite(avoid.citations)}"
                     for avoid in plan.avoid))


def _tail(detail: Detail, plan: Recommendation | None, found: FhirCase) -> str:
    missing = [*(plan.missing_data if plan else ()), *found.missing_data]
    if missing:
        detail.add("", "**Missing data**", *(f"- {m}" for m in dict.fromkeys(missing)))
    if found.notes:
        detail.add("", "**Read from the record**", *(f"- {n}" for n in found.notes))
    if plan is not None:
        detail.add("", f"_Content review: {plan.review.status.replace('_', ' ')}; knowledge version "
                   f"{plan.knowledge_version}. {plan.disclaimer}_")
    return detail.text()


def _mechanism_label(plan: Recommendation | None, found: FhirCase) -> str:
    if plan is not None:
        enzymes = list(plan.mechanism.enzymes)
    else:
        enzymes = [e.value for e in (found.isolate.carbapenemase or ())] if found.isolate else []
    return f"{'/'.join(enzymes)} {found.organism}" if enzymes else f"carbapenem-resistant {found.organism}"


def plan_card(ctx: CardContext, plan: Recommendation, found: FhirCase, current: list[OrderFinding]) -> dict[str, Any]:
    """patient-view: the plan, warning when current therapy is not part of it."""
    first = plan.options[0] if plan.options else None
    head = f"CRE ({_mechanism_label(plan, found)}): " + (
        f"{first.tier.replace('_', ' ')} {option_text(first)}" if first else "no option from the record; see plan"
    )
    detail = Detail()
    _plan_detail(detail, plan, found)
    wrong = [f for f in current if f.kind in ("harmful", "discordant")]
    if wrong:
        detail.add("", "**Current antibiotics**", *(f"- {f.order.name}: {f.reason}{detail.cite(f.citations)}" for f in wrong))
        head = f"Current {wrong[0].order.name} does not fit the CRE plan ({_mechanism_label(plan, found)}); see options"
    return card(ctx, "plan", "warning" if wrong else "info", head, _tail(detail, plan, found))


def needs_input_card(ctx: CardContext, found: FhirCase) -> dict[str, Any]:
    """The record lacks what the plan needs: say what was found and ask for the rest."""
    asks = {"infection.site": "the infection site", "infection.severity": "the severity (septic shock, severe, non-severe)",
            "patient.age_years": "the patient's age"}
    wanted = " and ".join(asks[n] for n in found.needs)
    results = ", ".join(
        " ".join(part for part in (agent_name(agent), result.interpretation and result.interpretation.value,
                                   result.mic_mg_l is not None and f"MIC {_mic(result.mic_mg_l)} mg/L") if part)
        for agent, result in (found.isolate.susceptibility.items() if found.isolate else ())
    )
    detail = Detail()
    label = _mechanism_label(None, found)
    suffix = "" if label.startswith("carbapenem-resistant") else ", carbapenem-resistant"
    detail.add(f"{label[:1].upper()}{label[1:]}{suffix}.",
               f"Results: {results or 'none'}.", "",
               f"The plan (agents and renally adjusted doses) needs {wanted}; the record has no Condition that "
               "states it. Enter it in the advisor to see the full plan.")
    return card(ctx, "needs-input", "info", f"CRE ({label}): record {wanted} to get a dosed plan",
                _tail(detail, None, found), link_label="Open the CRE advisor")


def refusal_card(ctx: CardContext, found: FhirCase) -> dict[str, Any]:
    return card(ctx, "out-of-scope", "info", f"CRE advisor cannot assess this {found.organism} isolate for this patient",
                f"The record gives values outside what the advisor covers: {found.refusal}.", link_label="Open the CRE advisor")


def order_card(ctx: CardContext, finding: OrderFinding, plan: Recommendation | None, found: FhirCase) -> dict[str, Any]:
    """A card for one draft order, with replacements taken from the plan's options."""
    order, kind = finding.order, finding.kind
    name = order.name
    label = _mechanism_label(plan, found)
    suggestions: list[dict[str, Any]] = []
    detail = Detail()
    if kind in ("misdosed", "dose-info") and finding.option is not None and finding.item is not None:
        drafted = _drafted(finding)
        text = (f"{agent_name(finding.item.agent)} dose: plan gives {finding.item.dose} ({finding.item.adjusted_for})"
                + (f"; draft {drafted}" if drafted else ""))
        detail.add(f"**{name}**: draft {drafted or 'without a dose yet'}.",
                   f"Plan for this patient: {regimen_text(finding.item)} ({finding.item.adjusted_for})"
                   f"{detail.cite(finding.item.citations)}.")
        suggestions.append(replacement(ctx, finding, finding.option, f"Use the plan's dose: {finding.item.dose}", True))
    elif kind == "concordant":
        text = f"{name} matches the CRE plan ({label})"
        detail.add(f"**{name}**: {finding.reason}{detail.cite(finding.citations)}.")
    else:
        detail.add(f"**{name}**: {finding.reason}{detail.cite(finding.citations)}.")
        verb = "Do not give" if kind == "harmful" else "Not in the CRE plan:"
        text = f"{verb} {name} for {label}: {finding.reason}"
        candidates = [o for o in (plan.options if plan else ()) if order.agent not in {i.agent for i in o.regimen}]
        alternatives = susceptible_first(candidates, ctx.reading)[:2]
        if finding.missing_partners and finding.option is not None:
            alternatives = [finding.option, *alternatives[:1]]
        covered = covered_option(plan, ctx.ordered, order.resource_id)
        if covered is not None:  # the plan is already ordered: only this draft goes
            detail.add("", f"The plan's option {covered.rank} ({option_text(covered)}) is already ordered at the plan's dose.")
            suggestions.append(removal(finding, f"Remove {name}: {option_text(covered)} is already ordered"))
        elif alternatives:  # one suggestion: the first option; the other is in the detail
            detail.add("", "**Plan options**", *(f"{o.rank}. {option_text(o)}{detail.cite(o.citations)}" for o in alternatives))
            suggestions.append(replacement(ctx, finding, alternatives[0], f"Replace with {option_text(alternatives[0])}", True))
    return card(ctx, CARD_TYPE[kind], INDICATOR[kind], text, _tail(detail, plan, found), suggestions)


def _mic(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:g}"


def _drafted(finding: OrderFinding) -> str:
    order = finding.order
    parts = []
    if order.dose_mg is not None:
        parts.append(f"{order.dose_mg:g} mg")
    if order.interval_h is not None:
        parts.append(f"q{order.interval_h:g}h")
    return " ".join(parts)
