"""The answer's review block: the least-reviewed item used decides the status shown.

Paired cases for the shortcut taken when every item is in one state: it must give the same
block as the full count when it applies, and must not hide a board's objection when it does not.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

import pytest

from cre_advisor import recommend
from cre_advisor.case import Case
from cre_advisor.knowledge.loader import default_knowledge

CASE = Case.model_validate(json.loads((Path(__file__).parent.parent / "examples" / "kpc-bacteremia.json").read_text()))
KNOWLEDGE = default_knowledge()
SHIPPED = recommend(CASE)
USED_ROW = SHIPPED.options[0].id  # a knowledge item this answer certainly uses


def states(default: str, **changed: str) -> dict[str, str]:
    return {**dict.fromkeys(KNOWLEDGE.review_index, default), **changed}


def test_shipped_content_is_pending_review_with_the_release_date() -> None:
    assert SHIPPED.review.status == "pending_review"
    assert SHIPPED.review.last_updated == KNOWLEDGE.released
    assert SHIPPED.review.items_used > 1


@pytest.mark.parametrize("view", [states("submitted"), MappingProxyType(states("submitted"))])
def test_states_that_agree_with_the_shipped_ones_change_nothing(view: dict[str, str]) -> None:
    assert recommend(CASE, review_states=view).review == SHIPPED.review


@pytest.mark.parametrize("wrap", [dict, MappingProxyType])
def test_one_used_item_sent_back_shows_on_the_answer(wrap: type) -> None:
    view = wrap(states("approved", **{USED_ROW: "changes_requested"}))
    assert recommend(CASE, review_states=view).review.status == "changes_requested"


def test_all_approved_shows_approved() -> None:
    assert recommend(CASE, review_states=MappingProxyType(states("approved"))).review.status == "approved"


def test_a_mapping_changed_between_calls_is_read_again() -> None:
    mutable = states("submitted")
    assert recommend(CASE, review_states=mutable).review.status == "pending_review"
    mutable[USED_ROW] = "changes_requested"
    assert recommend(CASE, review_states=mutable).review.status == "changes_requested"


def test_a_new_view_after_an_agreeing_one_is_read_again() -> None:
    assert recommend(CASE, review_states=MappingProxyType(states("submitted"))).review.status == "pending_review"
    sent_back = MappingProxyType(states("submitted", **{USED_ROW: "changes_requested"}))
    assert recommend(CASE, review_states=sent_back).review.status == "changes_requested"
