"""The workflow table against the issue's rules, for every action from every state and role."""

from __future__ import annotations

import itertools

import pytest

from cre_advisor.review.workflow import (
    Action,
    CommentRequired,
    FourEyes,
    IllegalTransition,
    NotPermitted,
    Role,
    Status,
    parse_action,
    parse_role,
    target_of,
)

# The issue: submitted -> under review -> approved, or changes requested -> submitted.
LEGAL = {
    (Action.start_review, Status.submitted): Status.under_review,
    (Action.approve, Status.under_review): Status.approved,
    (Action.request_changes, Status.under_review): Status.changes_requested,
    (Action.resubmit, Status.changes_requested): Status.submitted,
}
# Reviewers review, authors resubmit, admins may do both.
ROLES = {
    Action.start_review: {Role.reviewer, Role.admin},
    Action.approve: {Role.reviewer, Role.admin},
    Action.request_changes: {Role.reviewer, Role.admin},
    Action.resubmit: {Role.author, Role.admin},
}


@pytest.mark.parametrize(("action", "status", "role"), list(itertools.product(Action, Status, Role)))
def test_every_action_from_every_state_by_every_role(action: Action, status: Status, role: Role) -> None:
    def attempt() -> Status:
        return target_of(action, status, role=role, actor="rita", submitted_by="sam", comment="reason given")

    if role not in ROLES[action]:
        with pytest.raises(NotPermitted, match=action.value):
            attempt()
    elif (action, status) not in LEGAL:
        with pytest.raises(IllegalTransition, match=status.value):
            attempt()
    else:
        assert attempt() is LEGAL[(action, status)]


def test_approved_is_only_left_by_a_content_change() -> None:
    for action, role in itertools.product(Action, Role):
        with pytest.raises((IllegalTransition, NotPermitted)):
            target_of(action, Status.approved, role=role, actor="rita", submitted_by=None, comment="x")


@pytest.mark.parametrize("role", [Role.reviewer, Role.admin])
def test_four_eyes_nobody_approves_their_own_submission(role: Role) -> None:
    with pytest.raises(FourEyes, match="another reviewer"):
        target_of(Action.approve, Status.under_review, role=role, actor="sam", submitted_by="sam", comment="")
    assert target_of(Action.approve, Status.under_review, role=role, actor="rita", submitted_by="sam",
                     comment="") is Status.approved


def test_content_from_the_release_may_be_approved_by_any_reviewer() -> None:
    assert target_of(Action.approve, Status.under_review, role=Role.reviewer, actor="rita", submitted_by=None,
                     comment="") is Status.approved


@pytest.mark.parametrize(("action", "status", "role"), [
    (Action.request_changes, Status.under_review, Role.reviewer),
    (Action.resubmit, Status.changes_requested, Role.author),
])
def test_requesting_changes_and_resubmitting_need_a_reason(action: Action, status: Status, role: Role) -> None:
    with pytest.raises(CommentRequired, match="comment"):
        target_of(action, status, role=role, actor="rita", submitted_by=None, comment="   ")


def test_unknown_names_are_refused_with_the_allowed_values() -> None:
    with pytest.raises(ValueError, match="start_review, approve, request_changes, resubmit"):
        parse_action("publish")
    with pytest.raises(ValueError, match="author, reviewer, admin"):
        parse_role("boss")
