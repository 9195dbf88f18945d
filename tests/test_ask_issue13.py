"""Issue 13 item 8: each topic clinicians asked about is answered from the follow-up box by a cited item.

The questions are worded as a clinician would type them; the expected item ids are the knowledge
items written for those topics. Each must be covered, rank in the top three and carry citations
that name a reference of the knowledge base.
"""

from __future__ import annotations

import pytest

from cre_advisor.ask import answer
from cre_advisor.knowledge.loader import default_knowledge

QUESTIONS = [
    ("How many days should I treat a CRE bloodstream infection?", "topic-duration-by-site"),
    ("How long to treat CRE pyelonephritis?", "topic-duration-by-site"),
    ("What does EUCAST I mean?", "topic-eucast-i"),
    ("What does susceptible, increased exposure mean?", "topic-eucast-i"),
    ("How is creatinine clearance estimated?", "topic-crcl-estimation"),
    ("Which weight goes into Cockcroft-Gault?", "renal-crcl-body-weight"),
    ("Why not add an aminoglycoside to ceftazidime-avibactam?", "topic-no-aminoglycoside-with-newer-agent"),
    ("Should we do beta-lactam TDM?", "topic-beta-lactam-tdm"),
    ("Patient had penicillin anaphylaxis, can we give ceftazidime-avibactam?",
     "topic-penicillin-anaphylaxis-ceftazidime-avibactam"),
    ("Allergy to PCN: can we use CZA?", "topic-penicillin-anaphylaxis-ceftazidime-avibactam"),
    ("KPC isolate resistant to ceftazidime-avibactam but meropenem susceptible: what does it mean?",
     "warning-kpc-variant-meropenem-restored"),
]


@pytest.mark.parametrize(("question", "item_id"), QUESTIONS)
def test_topic_answered_by_a_cited_item_in_the_top_three(question: str, item_id: str) -> None:
    result = answer(question)
    assert result.covered, f"{question!r} not covered: {result.not_covered_reason}"
    top = [item.id for item in result.items[:3]]
    assert item_id in top, f"{question!r}: top three {top}"
    item = result.items[top.index(item_id)]
    cited = {c.split(":", 1)[0] for line in item.lines for c in line.citations}
    assert cited and cited <= set(default_knowledge().references), f"{item_id} cites {cited}"


def test_a_question_outside_the_base_is_still_not_covered() -> None:
    """The new topics do not make the follow-up box answer everything."""
    assert not answer("What is the dose of vancomycin for MRSA endocarditis?").covered
