"""Draft antibiotic orders held against the engine's plan: concordant, mis-dosed, or not.

The plan (a Recommendation) decides what is right; this module only compares. An order that
completes one of the plan's options (with the session's other orders) is concordant or
mis-dosed; an agent the isolate tests resistant to, or one the plan lists under `avoid`, is
harmful; anything else is discordant. Without a plan (the record lacked the site or severity)
only resistance can be judged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from cre_advisor.fhir.reader import DraftOrder
from cre_advisor.microbiology import SusceptibilityReading, format_mic
from cre_advisor.recommendation import Option, Recommendation, RegimenItem

Kind = Literal["concordant", "misdosed", "dose-info", "discordant", "harmful"]
DOSE_TOLERANCE = 0.10  # a draft within 10% of the plan's dose counts as the plan's dose
INTERVAL_TOLERANCE_H = 0.5


@dataclass(frozen=True)
class OrderFinding:
    order: DraftOrder
    kind: Kind
    reason: str
    citations: tuple[str, ...] = ()
    option: Option | None = None
    item: RegimenItem | None = None
    missing_partners: tuple[str, ...] = field(default=())


def _close(ordered: float, planned: float) -> bool:
    return abs(ordered - planned) <= DOSE_TOLERANCE * planned


def _dose_finding(order: DraftOrder, option: Option, item: RegimenItem) -> OrderFinding:
    if order.dose_mg is None or item.dose_mg is None:
        return OrderFinding(order, "dose-info", f"the plan gives {item.dose}", tuple(item.citations), option, item)
    loading = item.loading_dose_mg is not None and _close(order.dose_mg, item.loading_dose_mg)
    dose_ok = _close(order.dose_mg, item.dose_mg) or loading
    interval_ok = (
        order.interval_h is None or item.interval_h is None or loading
        or abs(order.interval_h - item.interval_h) <= INTERVAL_TOLERANCE_H
    )
    if dose_ok and interval_ok:
        return OrderFinding(order, "concordant", f"matches the plan ({item.dose})", tuple(item.citations), option, item)
    return OrderFinding(
        order, "misdosed", f"the plan gives {item.dose} ({item.adjusted_for})", tuple(item.citations), option, item
    )


def _resistance(order: DraftOrder, reading: SusceptibilityReading | None) -> OrderFinding | None:
    result = reading.get(order.agent) if reading is not None and order.agent else None
    if result is None or result.category != "R":
        return None
    mic = f" (MIC {format_mic(result.mic)} mg/L)" if result.mic is not None else ""
    why = "expected resistant for this organism" if result.source == "intrinsic" else "the isolate tests resistant"
    return OrderFinding(order, "harmful", f"{why} to {order.agent}{mic}", tuple(result.citations))


def assess_order(
    order: DraftOrder,
    plan: Recommendation | None,
    reading: SusceptibilityReading | None,
    session_agents: Iterable[str],
) -> OrderFinding | None:
    """What the plan says about one draft order; None when it is not an agent the plan knows."""
    if order.agent is None:
        return None
    others = set(session_agents) - {order.agent}
    options = [o for o in (plan.options if plan else ()) if any(i.agent == order.agent for i in o.regimen)]
    for option in options:
        partners = {i.agent for i in option.regimen} - {order.agent}
        if partners <= others:
            item = next(i for i in option.regimen if i.agent == order.agent)
            return _dose_finding(order, option, item)
    resistant = _resistance(order, reading)
    if resistant is not None:
        return resistant
    for avoid in plan.avoid if plan else ():
        if order.agent in avoid.agents:
            return OrderFinding(order, "harmful", avoid.reason, tuple(avoid.citations))
    if plan is None:
        return None
    if options:
        option = options[0]
        missing = tuple(sorted({i.agent for i in option.regimen} - others - {order.agent}))
        return OrderFinding(
            order, "discordant", f"{order.agent} belongs to the plan only together with {', '.join(missing)}",
            tuple(option.citations), option, missing_partners=missing,
        )
    return OrderFinding(order, "discordant", f"{order.agent} is not among the plan's options for this isolate and site")


def covered_option(plan: Recommendation | None, ordered: dict[str, DraftOrder], exclude: str) -> Option | None:
    """The first plan option that other orders already give at the plan's dose, if any.

    When one exists, a card about another draft must not suggest a further agent (duplicate
    therapy): removing that draft is the whole suggestion.
    """
    for option in plan.options if plan else ():
        orders = [ordered.get(item.agent) for item in option.regimen]
        if all(o is not None and o.resource_id != exclude for o in orders) and all(
            _dose_finding(o, option, item).kind == "concordant" for o, item in zip(orders, option.regimen, strict=True)
            if o is not None
        ):
            return option
    return None
