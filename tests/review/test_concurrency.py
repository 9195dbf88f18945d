"""Two reviewers acting on one item at the same moment, on SQLite and on PostgreSQL.

Each round starts both actions from threads released by one barrier. Whatever the order,
exactly one action may apply, the other must be refused (never a lost update, never a
database error), the item's state must be the applied action's target, and the audit trail
must hold both attempts with the refused one having seen the applied one's result.
"""

from __future__ import annotations

import threading

import pytest
from review_helpers import actor, catalogue, statement

from cre_advisor.review.accounts import Accounts
from cre_advisor.review.store import ReviewStore
from cre_advisor.review.workflow import Action, IllegalTransition, Role, Status

ROUNDS = 12


def race(store: ReviewStore, item_id: str, attempts: list[tuple[object, Action, str]], content_hash: str) -> list:
    barrier = threading.Barrier(len(attempts))
    results: list = [None] * len(attempts)

    def run(index: int, who, action: Action, comment: str) -> None:
        barrier.wait()
        try:
            results[index] = store.act(item_id, action, who, expected_hash=content_hash, comment=comment)
        except Exception as error:  # noqa: BLE001 - the test inspects whatever happened
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, *attempt)) for i, attempt in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.parametrize("kind", ["approve_vs_request_changes", "both_start_review"])
def test_two_reviewers_at_once_end_in_one_consistent_state(store: ReviewStore, accounts: Accounts, kind: str) -> None:
    rita = actor(store, accounts, "rita", Role.reviewer)
    rob = actor(store, accounts, "rob", Role.reviewer)
    rae = actor(store, accounts, "rae", Role.reviewer)
    items = [statement(f"item-{n}", f"text {n}") for n in range(ROUNDS)]
    store.sync(catalogue(*items))
    for item in items:
        if kind == "approve_vs_request_changes":  # rita's approval would be the second, completing one
            store.act(item.id, Action.start_review, rae, expected_hash=item.hash)
            store.act(item.id, Action.approve, rae, expected_hash=item.hash)
            attempts = [(rita, Action.approve, ""), (rob, Action.request_changes, "dose is wrong")]
            start = Status.under_review
        else:
            attempts = [(rita, Action.start_review, ""), (rob, Action.start_review, "")]
            start = Status.submitted
        version_before = store.item(item.id).version

        results = race(store, item.id, attempts, item.hash)

        applied = [r for r in results if not isinstance(r, Exception)]
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(applied) == 1 and len(refused) == 1, results
        assert isinstance(refused[0], IllegalTransition), refused[0]
        final = store.item(item.id)
        assert final.status is applied[0].status
        assert final.version == version_before + 1
        racing = store.history(item.id)[-2:]
        assert sorted(e.actor for e in racing) == ["rita", "rob"]
        first, second = racing
        assert (first.outcome, first.from_status, first.to_status) == ("applied", start.value, final.status.value)
        assert (second.outcome, second.from_status, second.to_status) == ("refused", final.status.value,
                                                                          final.status.value)
