"""What a rendered answer holds, whatever the audience: the data HTML templates and Markdown read.

Audience modules fill a `View`; the Markdown writer and the Jinja2 templates only lay it out.
The helpers here format what every audience shows the same way (review banner, numbers,
routes, agent names); none of them decides anything clinical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache

from cre_advisor.knowledge.loader import Knowledge
from cre_advisor.recommendation import Recommendation, Review
from cre_advisor.render.citations import CitationIndex, Marker, NumberedReference

AUDIENCES: dict[str, str] = {
    "clinician": "Clinician",
    "pharmacist": "Pharmacist",
    "nurse": "Nurse",
    "patient": "Patient or family",
}


def check_audience(audience: str) -> str:
    """The audience name, or ValueError naming the allowed ones."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience '{audience}'; allowed: {', '.join(AUDIENCES)}")
    return audience


@dataclass(frozen=True)
class Cited:
    """A sentence with its citation markers."""

    text: str
    markers: tuple[Marker, ...] = ()


@dataclass(frozen=True)
class OptionView:
    rank: int
    tier: str
    tier_label: str
    title: str
    lines: tuple[Cited, ...]
    rationale: Cited | None
    cautions: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    items: tuple[Cited, ...]
    empty_text: str = ""


@dataclass(frozen=True)
class TraceStep:
    step: str
    finding: Cited


@dataclass(frozen=True)
class ReviewBanner:
    status: str
    label: str
    explanation: str
    last_updated: str
    steps: tuple[tuple[str, bool], ...]


@dataclass
class View:
    audience: str
    heading: str
    lead: str
    review: ReviewBanner
    summary: list[Cited] = field(default_factory=list)
    options_title: str = ""
    options: list[OptionView] = field(default_factory=list)
    no_options_text: str = ""
    sections: list[Section] = field(default_factory=list)
    trace: list[TraceStep] = field(default_factory=list)
    references: list[NumberedReference] = field(default_factory=list)
    disclaimer: str = ""
    knowledge_version: str = ""
    shows_doses: bool = True

    @property
    def audience_label(self) -> str:
        return AUDIENCES[self.audience]


@dataclass
class RenderContext:
    """One answer being rendered: the recommendation, the knowledge base and the numbering."""

    rec: Recommendation
    knowledge: Knowledge
    cite: CitationIndex

    def agent_name(self, agent_id: str) -> str:
        agent = self.knowledge.agents.get(agent_id)
        return agent.name if agent is not None else agent_id

    def agents_title(self, agent_ids: list[str]) -> str:
        """A regimen's name: its agents joined by '+'."""
        return " + ".join(self.agent_name(a) for a in agent_ids)

    def agent_list(self, agent_ids: list[str]) -> str:
        return ", ".join(self.agent_name(a) for a in agent_ids)

    def variant(self, text: str, audience: str) -> str | None:
        """The knowledge base's own wording of a shipped statement for `audience`, if it has one."""
        statement = _statements_by_text(self.knowledge).get(text.strip())
        return statement.text.get(audience) if statement is not None else None  # type: ignore[attr-defined]


@cache
def _statements_by_text(knowledge: Knowledge) -> dict[str, object]:
    return {s.text["clinician"].strip(): s for s in knowledge.statements.values() if "clinician" in s.text}


_REVIEW_LABELS = {
    "pending_review": (
        "Pending review by your advisory board",
        "This content ships with the software; your hospital's own advisory board has not approved it yet.",
    ),
    "under_review": (
        "Under review by your advisory board",
        "Your hospital's advisory board is reviewing this content and has not approved it yet.",
    ),
    "changes_requested": (
        "Changes requested by your advisory board",
        "Your hospital's advisory board asked for changes to content this answer uses.",
    ),
    "approved": (
        "Approved by your advisory board",
        "Every content item this answer uses was approved by your hospital's advisory board.",
    ),
}
_REVIEW_STEP = {"pending_review": 0, "changes_requested": 0, "under_review": 1, "approved": 2}


def review_banner(review: Review) -> ReviewBanner:
    label, explanation = _REVIEW_LABELS[review.status]
    current = _REVIEW_STEP[review.status]
    steps = tuple((name, i == current) for i, name in enumerate(("Submitted", "Under review", "Approved")))
    return ReviewBanner(review.status, label, explanation, long_date(review.last_updated), steps)


def long_date(iso: str) -> str:
    """'2026-11-24' -> '24 November 2026' (unambiguous in every locale); other text unchanged."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day} {day:%B %Y}"


def number(value: float) -> str:
    """A dose figure without a spurious '.0' and without float noise."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))


def sentences(parts: list[str]) -> str:
    """Join clauses as sentences: 'a. B. C' (each starts upper-case, no doubled full stops)."""
    cleaned = [p.strip().rstrip(".") for p in parts if p.strip()]
    return ". ".join(p[0].upper() + p[1:] for p in cleaned)


def hours(value: float) -> str:
    if value < 1:
        return f"{number(value * 60)} min"
    return f"{number(value)} h"

