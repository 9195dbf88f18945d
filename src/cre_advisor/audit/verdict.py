"""The verdict of one episode: the engine's plan for the case held against what was prescribed.

Exactly one verdict per episode: the first rule below that applies, in this order.

1. not_assessable: the case fails the Case contract (an out-of-scope organism included), a
   prescribed agent is unknown, nothing was prescribed, or a FHIR record gave no case.
2. never_for_cre: an agent the knowledge base marks never for CRE (third/fourth-generation
   cephalosporins, piperacillin-tazobactam, ertapenem, ceftolozane-tazobactam).
3. resistant_agent: an agent the isolate tests (or is intrinsically) resistant to. For a
   metallo-beta-lactamase producer, aztreonam given with the serine-inhibitor partner the
   regimen table pairs it with is judged as the pair, by the product that stands for the pair
   (aztreonam-avibactam): resistant only when that product tests resistant.
4. no_active_agent: no prescribed agent tests active or, untested, is expected to overcome
   every enzyme of the mechanism (the engine's own expectation), and the agents are not an
   offered option.
5. unneeded_combination: not an offered option, and a newer agent that tests susceptible is
   given with an aminoglycoside, polymyxin, tetracycline or fosfomycin.
6. dose_high / dose_low: the agents are exactly an offered option and an agent's daily dose is
   more than 10% above / below the engine's daily dose for this patient's renal state (above
   the top of a dose range, for ranged doses). An unknown prescribed dose or interval, or
   unknown renal function, leaves the dose unjudged (a `dose_not_judged` reason).
7. concordant: the agents are exactly those of an offered option of tier preferred.
8. concordant_alternative: exactly those of any other offered option.
9. other_discordant: anything else; the reasons list the options offered and the knowledge
   base's avoid entries that name a prescribed agent.

`reasons` keeps every finding, not only the deciding one. Each reads `<kind>: <subject>`,
optionally followed by ` (<detail>)`; the part before ` (` is the key the report counts, so
per-patient numbers never split one reason into many.

Nothing here picks a drug or a dose: the options and doses are the engine's (`recommend`),
activity is the microbiology module's reading, and the never list and drug classes are the
knowledge base's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cre_advisor.case import Case
from cre_advisor.dosing import dose_for
from cre_advisor.engine import EXPECTATION_BY_GROUP, recommend
from cre_advisor.input_words import describe_validation_error
from cre_advisor.knowledge.loader import Knowledge
from cre_advisor.microbiology import SusceptibilityReading, read_susceptibility
from cre_advisor.patient import assess_renal_function
from cre_advisor.recommendation import Option, Recommendation, RegimenItem

from cre_advisor.audit.episodes import Prescription

VERDICTS = (
    "not_assessable",
    "never_for_cre",
    "resistant_agent",
    "no_active_agent",
    "unneeded_combination",
    "dose_high",
    "dose_low",
    "concordant",
    "concordant_alternative",
    "other_discordant",
)
"""Every verdict, in precedence order: an episode gets the first that applies."""

CONCORDANT = frozenset({"concordant", "concordant_alternative"})
OLDER_COMPANION_CLASSES = frozenset({"aminoglycoside", "polymyxin", "tetracycline", "phosphonic_acid"})
"""Older agents whose addition to a susceptible newer agent the guidelines do not suggest."""
DOSE_TOLERANCE = 0.10
"""A daily dose within 10% of the engine's counts as the engine's (the CDS door uses the same 10%)."""
MBL = "metallo_beta_lactamase"
_validate_case = Case.__pydantic_validator__.validate_python
"""Full validation without `model_validate`'s Python layer, as the engine does it: audits run millions."""


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: str
    reasons: tuple[str, ...]
    top_regimen: str | None
    knowledge_version: str


def reason_key(reason: str) -> str:
    """The countable part of a reason: its kind and subject, without the episode's numbers."""
    return reason.split(" (", 1)[0]


def judge(case_data: dict[str, Any], prescribed: Sequence[Prescription], knowledge: Knowledge) -> Judgement:
    """The verdict for one episode; never raises for a bad case (that is `not_assessable`)."""
    try:
        case = _validate_case(case_data)
    except ValidationError as error:
        return not_assessable(knowledge, f"case invalid ({describe_validation_error(error)})")
    unknown = [p.agent for p in prescribed if knowledge.agent_id(p.agent) is None]
    if unknown:
        return not_assessable(knowledge, f"unknown prescribed agent ({', '.join(unknown)})")
    doses = _by_agent(prescribed, knowledge)
    if not doses:
        return not_assessable(knowledge, "no prescription")
    plan = recommend(case, knowledge=knowledge)
    reading = read_susceptibility(case.isolate, case.infection.site.value, knowledge)
    top = " + ".join(item.agent for item in plan.options[0].regimen) if plan.options else None
    reasons, verdicts = _findings(case, plan, reading, doses, knowledge)
    verdict = next(v for v in VERDICTS if v in verdicts)
    return Judgement(verdict, tuple(dict.fromkeys(reasons)), top, plan.knowledge_version)


def not_assessable(knowledge: Knowledge, why: str) -> Judgement:
    """The verdict for an episode the engine cannot take; `why` becomes the reason."""
    return Judgement("not_assessable", (f"not_assessable: {why}",), None, knowledge.version)


def _by_agent(prescribed: Sequence[Prescription], knowledge: Knowledge) -> dict[str, Prescription]:
    """Prescriptions by contract agent id; the first line of an agent named twice is the one dosed."""
    found: dict[str, Prescription] = {}
    for item in prescribed:
        found.setdefault(knowledge.agent_id(item.agent) or item.agent, item)
    return found


def _findings(case: Case, plan: Recommendation, reading: SusceptibilityReading, doses: dict[str, Prescription],
              kn: Knowledge) -> tuple[list[str], set[str]]:
    """Every finding as a reason, and the set of verdicts whose rule applies."""
    agents = frozenset(doses)
    reasons: list[str] = []
    applies: set[str] = set()
    label = " + ".join(sorted(agents))

    for agent in sorted(agents):
        if kn.agents[agent].never_for_cre:
            reasons.append(f"never_for_cre: {agent} (not active against CRE)")
            applies.add("never_for_cre")

    pairs = _pairs(kn) if plan.mechanism.class_ == MBL else {}
    paired: set[str] = set()
    pair_active = False
    for pair, surrogate in pairs.items():
        if not pair <= agents:
            continue
        paired |= pair
        result = reading.get(surrogate)
        pair_label = " + ".join(sorted(pair))
        if result is not None and result.active is False:
            reasons.append(f"resistant_agent: {pair_label} ({surrogate}, which stands for the pair, tests resistant)")
            applies.add("resistant_agent")
        else:
            pair_active = pair_active or result is None or result.active is True

    for agent in sorted(agents - paired):
        result = reading.get(agent)
        if result is not None and result.active is False:
            why = "intrinsic resistance" if result.source == "intrinsic" else "isolate not susceptible"
            reasons.append(f"resistant_agent: {agent} ({why})")
            applies.add("resistant_agent")

    matching = [o for o in plan.options if frozenset(i.agent for i in o.regimen) == agents]
    if not matching and not pair_active and not any(_expected_active(plan, reading, kn, a) for a in agents - paired):
        reasons.append(f"no_active_agent: {label} (no prescribed agent tests or is expected to be active)")
        applies.add("no_active_agent")

    if not matching:
        newer = sorted(a for a in agents if kn.agents[a].newer_agent and _active(reading, a))
        older = sorted(a for a in agents if kn.agents[a].drug_class in OLDER_COMPANION_CLASSES)
        if newer and older:
            reasons.append(f"unneeded_combination: {' + '.join(older)} added to {' + '.join(newer)} "
                           f"({', '.join(newer)} tests susceptible; the guideline does not suggest the addition)")
            applies.add("unneeded_combination")
        offered = "; ".join(" + ".join(i.agent for i in o.regimen) for o in plan.options) or "none"
        removed = _why_removed(plan, agents)
        reasons.append(f"not_offered: {label} ({f'{removed}; ' if removed else ''}offered for this case: {offered})")
        reasons.extend(f"avoid: {agent} ({entry.reason})" for entry in plan.avoid for agent in sorted(agents)
                       if agent in entry.agents and not entry.reason.startswith("The isolate tests resistant"))
        applies.add("other_discordant")
        return reasons, applies

    option, dose_reasons = _best_dosed(case, plan, matching, doses, kn)
    reasons.extend(dose_reasons)
    applies.update(r.split(":", 1)[0] for r in dose_reasons if r.startswith(("dose_high", "dose_low")))
    applies.add("concordant" if option.tier == "preferred" else "concordant_alternative")
    return reasons, applies


REMOVED_MARKERS = {"apply_filters": " Removed: ", "dose_regimens": " Not dosable: "}


def _why_removed(plan: Recommendation, agents: frozenset[str]) -> str | None:
    """Why the engine dropped this very regimen for this case (unavailable, allergy, not dosable...),
    read from its trace, whose filter and dosing steps list each dropped regimen as 'label: reason'."""
    for entry in plan.trace:
        marker = REMOVED_MARKERS.get(entry.step)
        if marker is None or marker not in entry.finding:
            continue
        for dropped in entry.finding.split(marker, 1)[1].rstrip(".").split("; "):
            label, _, why = dropped.partition(": ")
            if frozenset(label.split(" + ")) == agents:
                return why
    return None


def _pairs(kn: Knowledge) -> dict[frozenset[str], str]:
    """Regimens the engine judges as a pair (aztreonam with a serine inhibitor) and the product whose
    result stands for the pair: read from the regimen rows, memoised per knowledge base."""
    memo: dict[str, dict[frozenset[str], str]] = kn.memos["audit.pairs"]
    if "pairs" not in memo:
        memo["pairs"] = {
            frozenset(c.agent for c in row.components): row.activity_surrogate
            for row in kn.regimens if row.activity_surrogate is not None
        }
    return memo["pairs"]


def _active(reading: SusceptibilityReading, agent: str) -> bool:
    result = reading.get(agent)
    return result is not None and result.active is True


def _expected_active(plan: Recommendation, reading: SusceptibilityReading, kn: Knowledge, agent: str) -> bool:
    """Tested active, or untested and expected to overcome every enzyme of this mechanism (the engine's
    own expectation table), as the engine would offer it pending a result."""
    result = reading.get(agent)
    if result is not None:
        return result.active is True
    expected = set(plan.mechanism.enzymes) or set(EXPECTATION_BY_GROUP[plan.mechanism.group])
    return bool(expected) and expected <= set(kn.agents[agent].expected_active_against)


def _best_dosed(case: Case, plan: Recommendation, matching: list[Option], doses: dict[str, Prescription],
                kn: Knowledge) -> tuple[Option, list[str]]:
    """The matching option the doses fit best: the first without a dose finding, else the first."""
    judged = [(option, _dose_reasons(case, plan, option, doses, kn)) for option in matching]
    for option, reasons in judged:
        if not any(r.startswith(("dose_high", "dose_low")) for r in reasons):
            return option, reasons
    return judged[0]


def _dose_reasons(case: Case, plan: Recommendation, option: Option, doses: dict[str, Prescription],
                  kn: Knowledge) -> list[str]:
    reasons = []
    for item in option.regimen:
        given = doses[item.agent]
        if plan.renal.method == "unknown":
            reasons.append(f"dose_not_judged: {item.agent} (renal function unknown)")
        elif given.dose_mg is None or given.interval_h is None:
            reasons.append(f"dose_not_judged: {item.agent} (prescribed dose or interval unknown)")
        elif item.dose_mg is None or item.interval_h is None:
            reasons.append(f"dose_not_judged: {item.agent} (no daily dose to compare: {item.dose})")
        else:
            reasons.extend(_daily_dose(case, item, given.dose_mg * 24 / given.interval_h, kn))
    return reasons


def _daily_dose(case: Case, item: RegimenItem, daily: float, kn: Knowledge) -> list[str]:
    """Prescribed mg per day against the engine's for this renal state, with the 10% tolerance."""
    assert item.dose_mg is not None and item.interval_h is not None
    low = item.dose_mg * 24 / item.interval_h
    detail = f"{daily:g} mg/day prescribed, {item.dose} for this patient ({item.adjusted_for})"
    if daily < low * (1 - DOSE_TOLERANCE):
        return [f"dose_low: {item.agent} ({detail})"]
    if daily > low * (1 + DOSE_TOLERANCE) and daily > _top_of_range(case, item, kn) * 24 / item.interval_h * (1 + DOSE_TOLERANCE):
        return [f"dose_high: {item.agent} ({detail})"]
    return []


def _top_of_range(case: Case, item: RegimenItem, kn: Knowledge) -> float:
    """The upper end of a dose range (polymyxin B per kg, for one): the answer's item holds only the
    lower end, so the same dose is asked of the dosing module again, only for a dose above that end."""
    assert item.dose_mg is not None
    try:
        dose = dose_for(item.agent, renal=assess_renal_function(case.patient), patient=case.patient,
                        site=case.infection.site.value, knowledge=kn)
    except ValueError:
        return item.dose_mg
    if dose.dose_mg == item.dose_mg and dose.interval_h == item.interval_h and dose.dose_mg_max is not None:
        return dose.dose_mg_max
    return item.dose_mg
