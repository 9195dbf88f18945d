"""Follow-up questions answered from the knowledge base, with citations and review status.

`answer(question, case=None, audience="clinician")` returns an `Answer`: the knowledge items that
match, in their own words for the audience, each with its sources and review state; with a
case, this patient's dose or plan from the case's own recommendation; for a question outside the
knowledge base, "not covered" with the reason and the nearest covered topics. No medical text
is generated. `to_markdown(answer)` lays it out for the command line.
"""

from cre_advisor.ask.compose import answer
from cre_advisor.ask.markdown import to_markdown
from cre_advisor.ask.models import Answer

__all__ = ["Answer", "answer", "to_markdown"]
