"""One hook call, start to finish: FHIR data in, cards out (the HTTP layer only wraps this).

patient-view shows the plan when the record holds a CRE isolate; order-select and order-sign
compare the draft antibiotic orders with the plan. No CRE isolate, no card. A record that
lacks the site, severity or age gets a card that asks for them; an isolate resistant to a
draft agent is flagged even then.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

from cre_advisor.case import Case
from cre_advisor.cds import cards
from cre_advisor.fhir.codes import CodeMaps
from cre_advisor.cds.orders import OrderFinding, assess_order
from cre_advisor.cds.services import Service
from cre_advisor.fhir.reader import (
    FhirRecord,
    case_from_fhir,
    draft_order,
    draft_orders,
    read_resources,
)
from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.microbiology import read_susceptibility
from cre_advisor.recommendation import Recommendation

PlanLink = Callable[[Case], str | None]
Planner = Callable[[Case], Recommendation]


def advise(
    service: Service,
    context: dict[str, Any],
    prefetch: dict[str, Any],
    codes: CodeMaps,
    *,
    base_url: str,
    today: date,
    plan_link: PlanLink,
    recommend: Planner,
    unavailable: tuple[str, ...] = (),
    concordant_cards: bool = False,
    smart_launch_url: str | None = None,
) -> list[dict[str, Any]]:
    """The cards for one call; raises FhirInputError for invalid FHIR.

    `recommend` is the door's call into the engine (with the board's review states);
    `plan_link` saves the case and returns the absolute URL of its full plan; `unavailable`
    names the prefetch keys neither the EHR nor this service could fetch; with
    `smart_launch_url`, cards that link a saved plan also get a SMART launch link to it.
    """
    resources = [r for value in prefetch.values() if value is not None for r in read_resources(value)]
    record = FhirRecord.from_resources(resources)
    found = case_from_fhir(record, codes, today)
    found.missing_data[:0] = [f"{key}: not available from the EHR (not prefetched, no FHIR access)" for key in unavailable]
    drafts, session_drafts = [], []
    if service.hook != "patient-view":
        bundle = read_resources(context["draftOrders"])
        selections = context.get("selections") if service.hook == "order-select" else None
        drafts = draft_orders(bundle, codes, selections)
        session_drafts = draft_orders(bundle, codes)
    if not found.is_cre:
        return []

    ctx = cards.CardContext(
        base_url=base_url, patient_id=str(context["patientId"]), encounter_id=context.get("encounterId"),
        plan_url=None, codes=codes, smart_launch_url=smart_launch_url,
    )
    if found.refusal is not None:
        return [cards.refusal_card(ctx, found)]

    plan = None
    if found.case is not None:
        plan = recommend(found.case)
        if found.missing_data:
            plan = plan.model_copy(update={"missing_data": [*plan.missing_data, *found.missing_data]})
    site = found.case.infection.site.value if found.case else None
    assert found.isolate is not None
    reading = read_susceptibility(found.isolate, site or "other", default_knowledge())

    active = [draft_order(m, codes) for m in record.medications if m.status == "active"]
    ordered = {o.agent: o for o in [*active, *session_drafts] if o.agent}
    ctx = dataclasses.replace(ctx, reading=reading, ordered=ordered)
    if service.hook == "patient-view":
        if plan is None:
            return [cards.needs_input_card(ctx, found)]
        agents = {o.agent for o in active if o.agent}
        current = [f for o in active if (f := assess_order(o, plan, reading, agents)) is not None]
        ctx = _with_link(ctx, found.case, plan_link)
        return [cards.plan_card(ctx, plan, found, current)]

    agents = {o.agent for o in [*session_drafts, *active] if o.agent}
    findings: list[OrderFinding] = [f for o in drafts if (f := assess_order(o, plan, reading, agents)) is not None]
    shown = [f for f in findings if f.kind != "concordant" or concordant_cards]
    out = []
    if plan is None:
        out.append(cards.needs_input_card(ctx, found))
    elif shown:
        ctx = _with_link(ctx, found.case, plan_link)
    return out + [cards.order_card(ctx, f, plan, found) for f in shown]


def _with_link(ctx: cards.CardContext, case: Case | None, plan_link: PlanLink) -> cards.CardContext:
    url = plan_link(case) if case is not None else None
    return dataclasses.replace(ctx, plan_url=url)
