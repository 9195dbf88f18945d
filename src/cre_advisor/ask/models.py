"""The answer to a follow-up question, as `cre-advisor ask --json` prints it and POST /v1/ask returns it.

Every line carries the citations of the knowledge item field it came from; every item its
review status. These models hold results; they decide nothing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cre_advisor.recommendation import Review

ItemKind = Literal["statement", "dose_table", "regimen", "avoid_rule", "agent", "combination", "reference", "tool"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CitedLine(_Out):
    text: str
    citations: list[str] = Field(default_factory=list)


class AnswerItem(_Out):
    """One knowledge item quoted in the answer, in its own words for the audience."""

    rank: int
    id: str = Field(description="Knowledge item id (or reference id for a reference title).")
    kind: ItemKind
    title: str
    lines: list[CitedLine]
    review_status: Literal["submitted", "under_review", "changes_requested", "approved"] | None = Field(
        description="The item's review state; null for a reference (a source) or a fact about the tool itself, neither of which is reviewed content."
    )
    updated: str | None
    score: float = Field(description="Retrieval score after weighting (higher is closer).")


class Topic(_Out):
    id: str
    title: str


class Answer(_Out):
    question: str
    audience: Literal["clinician", "pharmacist", "nurse", "patient"]
    covered: bool
    not_covered_reason: str | None = None
    understood: list[str] = Field(default_factory=list, description="Abbreviations, brands and synonyms recognised.")
    corrections: list[str] = Field(default_factory=list, description="Misspellings read as a known word.")
    not_in_knowledge_base: list[str] = Field(default_factory=list, description="Words of the question no item holds.")
    for_this_patient: list[CitedLine] = Field(default_factory=list, description="From the case's own recommendation.")
    items: list[AnswerItem] = Field(default_factory=list)
    nearest_topics: list[Topic] = Field(default_factory=list, description="For a question not covered.")
    left_out_unapproved: list[str] = Field(
        default_factory=list, description="Strict review mode: matching items left out because not yet approved."
    )
    review: Review
    knowledge_version: str
    disclaimer: str
