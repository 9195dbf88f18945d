"""The "CRE in the ICU" topic page: the stepwise approach, laid out from the knowledge base.

It walks the same steps the engine takes (mechanism, agent, site, pitfalls, ICU dosing,
monitoring) but for no particular patient: every line is a knowledge item as written, with its
citations, in the chosen audience's wording where the base has one. Nothing is summarised or
reworded here, so the page can say nothing the sources behind the plan do not say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cre_advisor.knowledge.loader import Knowledge
from cre_advisor.knowledge.schema import Item, RegimenRow, Statement
from cre_advisor.render.citations import CitationIndex, NumberedReference
from cre_advisor.render.dose_table import items_review
from cre_advisor.render.professional import TIER_LABELS
from cre_advisor.render.view import Cited, ReviewBanner, review_banner

GROUPS = {
    "kpc": "KPC (serine carbapenemase)",
    "oxa48": "OXA-48-like (serine carbapenemase)",
    "mbl": "Metallo-beta-lactamase (NDM, VIM, IMP)",
    "non_carbapenemase": "No carbapenemase, carbapenem-resistant",
    "non_carbapenemase_carbapenem_s": "No carbapenemase, meropenem susceptible",
}
DEFAULT_PROFILE = "idsa-2024"
NO_PATIENT_WORDING = "The knowledge base has no wording of this part for patients and families; ask the care team."


@dataclass(frozen=True)
class RegimenLine:
    tier: str
    agents: str
    sites: str
    rationale: Cited


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    intro: str
    lines: tuple[Cited, ...] = ()
    groups: tuple[tuple[str, tuple[RegimenLine, ...]], ...] = ()
    empty_text: str = ""


@dataclass(frozen=True)
class TopicView:
    audience: str
    steps: tuple[Step, ...]
    review: ReviewBanner
    references: list[NumberedReference]
    disclaimer: str
    knowledge_version: str


def _statement_lines(statements: Iterable[Statement], audience: str, cite: CitationIndex) -> tuple[Cited, ...]:
    """Each statement in the audience's wording; for patients only those worded for them."""
    lines = []
    for statement in statements:
        text = statement.text.get(audience) if audience == "patient" else statement.text.get(audience, statement.text["clinician"])
        if text:
            lines.append(Cited(text, cite.mark(statement.citations)))
    return tuple(lines)


def _sites(row: RegimenRow) -> str:
    sites = row.applies.sites
    return "all sites" if not sites else ", ".join(s.replace("_", " ") for s in sites)


def _regimen_groups(knowledge: Knowledge, cite: CitationIndex) -> tuple[tuple[str, tuple[RegimenLine, ...]], ...]:
    """The default profile's regimen rows by mechanism group, best tier first, as written."""
    groups = []
    for group, title in GROUPS.items():
        rows = [r for r in knowledge.regimens
                if group in r.applies.groups and (not r.applies.profiles or DEFAULT_PROFILE in r.applies.profiles)]
        rows.sort(key=lambda r: (list(TIER_LABELS).index(r.tier), r.order))
        lines = tuple(RegimenLine(
            TIER_LABELS[r.tier],
            " + ".join(knowledge.agents[c.agent].name if c.agent in knowledge.agents else c.agent for c in r.components),
            _sites(r),
            Cited(r.rationale, cite.mark(r.citations)),
        ) for r in rows)
        if lines:
            groups.append((title, lines))
    return tuple(groups)


def _by_prefix(knowledge: Knowledge, *prefixes: str, kinds: tuple[str, ...] = ()) -> list[Statement]:
    return [s for s in knowledge.statements.values() if s.id.startswith(prefixes) or s.kind in kinds]


def topic_view(knowledge: Knowledge, audience: str, states: Mapping[str, str] | None) -> TopicView:
    cite = CitationIndex(knowledge.references)
    patient = audience == "patient"
    shown: list[Item] = []

    def statements(*prefixes: str, kinds: tuple[str, ...] = ()) -> tuple[Cited, ...]:
        """Statements not yet shown by an earlier step (each appears once, at its first step)."""
        seen = {item.id for item in shown}
        found = [s for s in _by_prefix(knowledge, *prefixes, kinds=kinds) if s.id not in seen]
        shown.extend(found)
        return _statement_lines(found, audience, cite)

    mechanism = statements("mechanism-")
    groups = () if patient else _regimen_groups(knowledge, cite)
    if not patient:
        shown.extend(r for r in knowledge.regimens if any(g in r.applies.groups for g in GROUPS))
    avoid = () if patient else tuple(
        Cited(f"{', '.join(knowledge.agents[a].name if a in knowledge.agents else a for a in rule.agents)}: {rule.reason}",
              cite.mark(rule.citations))
        for rule in knowledge.avoid_rules
    )
    if not patient:
        shown.extend(knowledge.avoid_rules)
    steps = (
        Step("mechanism", "Find the mechanism",
             "The carbapenemase (or its absence) decides which agents can work; a rapid test or the MICs point to it.",
             mechanism, empty_text=NO_PATIENT_WORDING),
        Step("agent", "Choose the agent for that mechanism",
             f"Regimens of the {DEFAULT_PROFILE} profile, best first within each mechanism; the plan applies them to the isolate's results.",
             groups=groups, empty_text=NO_PATIENT_WORDING),
        Step("site", "Adjust for the site of infection", "What changes with the site and source of infection.",
             statements("site-", "icu-source-control", kinds=("site_note",)), empty_text=NO_PATIENT_WORDING),
        Step("pitfalls", "Avoid the pitfalls", "Agents and habits the guidance warns against.",
             statements("pitfall-", kinds=("pitfall",)) + avoid, empty_text=NO_PATIENT_WORDING),
        Step("dosing", "Dose for the ICU",
             "Critical illness changes drug exposure; each agent's page has its dose table by kidney function.",
             statements("icu-", kinds=("icu_note",)), empty_text=NO_PATIENT_WORDING),
        Step("monitoring", "Monitor", "What to check while treatment runs.",
             statements("monitor-", kinds=("monitoring",)), empty_text=NO_PATIENT_WORDING),
    )
    disclaimer = knowledge.statements["disclaimer"]
    shown.append(disclaimer)
    unique = list({item.id: item for item in shown}.values())
    return TopicView(
        audience=audience,
        steps=steps,
        review=review_banner(items_review(unique, knowledge.released, states)),
        references=cite.listing(),
        disclaimer=disclaimer.text.get(audience, disclaimer.text["clinician"]),
        knowledge_version=knowledge.version,
    )
