"""Renderers: one Recommendation shown to a clinician, pharmacist, nurse or patient and family.

`view(rec, audience)` builds the data the HTML templates lay out; `markdown(rec, audience)` is
what the command line prints. Every audience keeps the numbered citations, the reference list
and the review status; the patient version carries no doses.
"""

from __future__ import annotations

from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.recommendation import Recommendation
from cre_advisor.render import patient, professional
from cre_advisor.render.citations import CitationIndex
from cre_advisor.render.markdown import to_markdown
from cre_advisor.render.view import AUDIENCES, RenderContext, View, check_audience

__all__ = ["AUDIENCES", "View", "markdown", "view"]


def view(rec: Recommendation, audience: str = "clinician") -> View:
    """The recommendation laid out for `audience` (one of AUDIENCES); ValueError names the allowed ones."""
    check_audience(audience)
    knowledge = default_knowledge()
    ctx = RenderContext(rec, knowledge, CitationIndex(knowledge.references))
    built = patient.build(ctx) if audience == "patient" else professional.build(ctx, audience)
    built.references = ctx.cite.listing()
    built.knowledge_version = rec.knowledge_version
    return built


def markdown(rec: Recommendation, audience: str = "clinician") -> str:
    """The recommendation as Markdown for `audience`."""
    return to_markdown(view(rec, audience))
