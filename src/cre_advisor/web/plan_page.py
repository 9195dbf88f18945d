"""What the plan page shows beside the rendered answer: the isolate's read results, the dose facts
of each option, each option's own review state, the allergies entered.

None of it decides anything: the results are the same reading the engine made
(`read_susceptibility`), the dose facts are fields of the engine's regimen items, and the review
states are the board's. They sit here, not in the renderers, because only the page has the
case and the review store at hand; the Markdown and FHIR doors show the engine's answer alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cre_advisor.case import Case
from cre_advisor.knowledge.loader import Knowledge
from cre_advisor.microbiology import AgentResult, format_mic, read_susceptibility
from cre_advisor.recommendation import Option, RegimenItem
from cre_advisor.render.citations import Marker, NumberedReference
from cre_advisor.render.dose_table import items_review
from cre_advisor.render.view import View, hours, long_date, number, review_banner

CATEGORY_WORDS = {
    "S": "susceptible",
    "I": "susceptible, increased exposure",
    "R": "resistant",
}
CLSI_I = "intermediate"  # CLSI's "I" is not EUCAST's: the letter means "not active" there
SOURCE_WORDS = {"reported": "reported by the laboratory", "interpreted": "read from the MIC", "intrinsic": "expected resistance"}


@dataclass(frozen=True)
class MicRow:
    """One line of the interpreted-MIC table: what was entered and how it was read."""

    agent_id: str
    agent: str
    mic: str
    category: str
    meaning: str
    how: str
    breakpoint: str
    markers: tuple[Marker, ...]


@dataclass(frozen=True)
class DoseFacts:
    """A regimen item's interval, infusion time and loading dose, each on its own for a quick read."""

    every: str
    infusion: str
    loading: str


@dataclass(frozen=True)
class OptionReview:
    status: str
    label: str
    detail: str
    approved: bool = False
    """Whether the detail names an approval (who and when)."""


def cite_into(view: View, knowledge: Knowledge, citations: Iterable[str]) -> tuple[Marker, ...]:
    """Markers numbered as the page's reference list numbers them; a source it lacks is appended.

    The renderer numbered the answer's sources; citations shown beside it (the breakpoint rows)
    must point at the same numbers, or the list would cite one source twice.
    """
    numbers = {ref.ref_id: ref for ref in view.references}
    markers: list[Marker] = []
    for citation in citations:
        ref_id, _, locator = citation.partition(":")
        ref_id, locator = ref_id.strip(), locator.strip() or None
        ref = numbers.get(ref_id)
        if ref is None:
            ref = numbers[ref_id] = NumberedReference(len(view.references) + 1, ref_id, knowledge.references.get(ref_id), ())
            view.references.append(ref)
        if locator and locator not in ref.locators:
            index = view.references.index(ref)
            ref = numbers[ref_id] = view.references[index] = NumberedReference(
                ref.number, ref.ref_id, ref.reference, (*ref.locators, locator)
            )
        marker = Marker(ref.number, ref_id, locator)
        if marker not in markers:
            markers.append(marker)
    return tuple(markers)


def _breakpoint(result: AgentResult) -> str:
    if result.source == "intrinsic":
        return result.note or "expected resistance for this organism"
    if result.breakpoint_s is not None and result.breakpoint_r is not None:
        return f"{result.table}: S ≤ {number(result.breakpoint_s)}, R > {number(result.breakpoint_r)}"
    if result.table is not None:
        return f"{result.table}: {result.note or 'no breakpoint for this agent'}"
    if result.source == "reported":
        return result.note or "laboratory's category"
    return result.note or "—"


def mic_rows(case: Case, view: View, knowledge: Knowledge) -> list[MicRow]:
    """The entered results as the engine read them, in the order the laboratory gave them,
    then agents the organism is expected to resist."""
    reading = read_susceptibility(case.isolate, case.infection.site.value, knowledge)
    tested = list(case.isolate.susceptibility)
    order = tested + [a for a, r in reading.results.items() if a not in tested and r.source == "intrinsic"]
    rows = []
    for agent_id in order:
        result = reading.results.get(agent_id)
        if result is None:
            continue
        agent = knowledge.agents.get(agent_id)
        letter = result.category or "—"
        meaning = CLSI_I if letter == "I" and result.scheme == "CLSI" else CATEGORY_WORDS.get(letter, "not categorised")
        rows.append(MicRow(
            agent_id=agent_id,
            agent=agent.name if agent else agent_id,
            mic=format_mic(result.mic) if result.mic is not None else "—",
            category=letter,
            meaning=meaning,
            how=SOURCE_WORDS[result.source],
            breakpoint=_breakpoint(result),
            markers=cite_into(view, knowledge, result.citations),
        ))
    return rows


def dose_facts(item: RegimenItem) -> DoseFacts:
    """The three numbers a nurse sets up a pump with, from the regimen item's own fields."""
    every = f"every {hours(item.interval_h)}" if item.interval_h else "see dose"
    infusion = f"over {hours(item.infusion_h)}" if item.infusion_h else "—"
    loading = f"{number(item.loading_dose_mg)} mg first" if item.loading_dose_mg else "none listed"
    return DoseFacts(every, infusion, loading)


def option_item_ids(options: Iterable[Option], knowledge: Knowledge) -> dict[int, list[str]]:
    """The knowledge items behind each option: its regimen row, its agents and their dose tables."""
    found = {}
    for option in options:
        agents = [item.agent for item in option.regimen]
        ids = [option.id, *agents, *(knowledge.dosing.agents[a].id for a in agents if a in knowledge.dosing.agents)]
        found[option.rank] = [i for i in dict.fromkeys(ids) if i in knowledge.items]
    return found


def option_reviews(
    option_ids: Mapping[int, list[str]], knowledge: Knowledge, states: Mapping[str, str] | None,
    approvals: Mapping[str, tuple[str, str]],
) -> dict[int, OptionReview]:
    """Each option's own review state: the least-reviewed of its items, their newest change.

    `approvals` maps an item id to (who, ISO date) of the approval of its current version,
    when the review store has one; an approved option names the latest of them.
    """
    reviews = {}
    for rank, ids in option_ids.items():
        items = [knowledge.items[i] for i in ids]
        banner = review_banner(items_review(items, knowledge.released, states))
        detail = f"content updated {banner.last_updated}"
        approved = [approvals[i] for i in ids if i in approvals] if banner.status == "approved" else []
        if approved:
            detail = f"approved by {latest_approval(approved)}; {detail}"
        reviews[rank] = OptionReview(banner.status, banner.label, detail, bool(approved))
    return reviews


def latest_approval(approvals: Iterable[tuple[str, str]]) -> str | None:
    """'rita on 4 December 2026': the newest of these (who, ISO date) approvals, if any."""
    found = list(approvals)
    if not found:
        return None
    who, when = max(found, key=lambda a: a[1])
    return f"{who} on {long_date(when)}"


def allergy_line(case: Case, knowledge: Knowledge) -> str:
    """The allergies as entered, so a reader can see the plan took them into account."""
    allergies = case.patient.allergies
    if not allergies:
        return "none entered"
    parts = []
    for allergy in allergies:
        agent = knowledge.agents.get(allergy.agent)
        name = agent.name if agent is not None else allergy.agent
        parts.append(f"{name} ({allergy.reaction.value.replace('_', ' ')})")
    return "; ".join(parts)
