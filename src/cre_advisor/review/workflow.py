"""The editorial workflow as a table: which action moves an item from which state, and who may.

submitted -> under_review -> approved, or under_review -> changes_requested -> submitted.
An approval moves the item to approved only when enough distinct reviewers (the server's
`approvals_required`, at least two) have approved the same version; until then each one is
recorded and the item stays under review. Content changes (a new knowledge release) send any item back to submitted; that move is the
store's, not a person's, so it is not in this table. This module decides and stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    submitted = "submitted"
    under_review = "under_review"
    changes_requested = "changes_requested"
    approved = "approved"


class Role(StrEnum):
    author = "author"
    reviewer = "reviewer"
    admin = "admin"


class Action(StrEnum):
    start_review = "start_review"
    approve = "approve"
    request_changes = "request_changes"
    resubmit = "resubmit"


@dataclass(frozen=True)
class Transition:
    source: Status
    target: Status
    roles: frozenset[Role]
    needs_comment: bool = False


REVIEWERS = frozenset({Role.reviewer, Role.admin})
AUTHORS = frozenset({Role.author, Role.admin})

TRANSITIONS: dict[Action, Transition] = {
    Action.start_review: Transition(Status.submitted, Status.under_review, REVIEWERS),
    Action.approve: Transition(Status.under_review, Status.approved, REVIEWERS),
    Action.request_changes: Transition(Status.under_review, Status.changes_requested, REVIEWERS, needs_comment=True),
    Action.resubmit: Transition(Status.changes_requested, Status.submitted, AUTHORS, needs_comment=True),
}


class Refused(Exception):
    """An action the workflow does not allow; the message says why in words a user can act on."""


class NotPermitted(Refused):
    """The actor's role may not take this action."""


class IllegalTransition(Refused):
    """The action does not start from the item's current state."""


class FourEyes(Refused):
    """A reviewer tried to approve content they submitted themselves."""


class AlreadyApproved(Refused):
    """The reviewer approved this version already; another person's approval is needed."""


class StaleContent(Refused):
    """The item changed since the actor looked at it (another hash or version)."""


class CommentRequired(Refused):
    """The action needs a comment saying why."""


def parse_action(name: str) -> Action:
    try:
        return Action(name)
    except ValueError:
        raise ValueError(f"action must be one of {', '.join(a.value for a in Action)}; got '{name}'") from None


def parse_role(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        raise ValueError(f"role must be one of {', '.join(r.value for r in Role)}; got '{name}'") from None


def target_of(
    action: Action, status: Status, *, role: Role, actor: str, submitted_by: str | None, comment: str
) -> Status:
    """The state `action` leads to, or a `Refused` subclass saying why it may not happen."""
    transition = TRANSITIONS[action]
    if role not in transition.roles:
        allowed = " or ".join(sorted(r.value for r in transition.roles))
        raise NotPermitted(f"{action.value} needs the role {allowed}; {actor} is {role.value}")
    if status is not transition.source:
        raise IllegalTransition(
            f"{action.value} applies to items that are {transition.source.value}; this item is {status.value}"
        )
    if action is Action.approve and submitted_by == actor:
        raise FourEyes(f"{actor} submitted this version and cannot approve it; another reviewer must")
    if transition.needs_comment and not comment.strip():
        raise CommentRequired(f"{action.value} needs a comment saying why")
    return transition.target


def approval_target(actor: str, approvers: frozenset[str], required: int) -> Status:
    """Where an approval by `actor` leads, given who already approved this version in this round.

    Two people, always: the same person approving twice does not count twice.
    """
    if actor in approvers:
        missing = required - len(approvers)
        raise AlreadyApproved(f"{actor} has already approved this version; {missing} more reviewer(s) must approve it")
    return Status.approved if len(approvers) + 1 >= required else Status.under_review
