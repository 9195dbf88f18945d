"""The review store on SQLite and on PostgreSQL: transitions, four-eyes, lapse, audit trail."""

from __future__ import annotations

import csv
import io

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from review_helpers import actor, catalogue, statement
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cre_advisor.review.accounts import Accounts
from cre_advisor.review.models import AppendOnly, AuditEntry
from cre_advisor.review.store import RELEASE_ACTOR, ReviewStore, UnknownItem
from cre_advisor.review.workflow import (
    Action,
    AlreadyApproved,
    FourEyes,
    IllegalTransition,
    NotPermitted,
    Role,
    StaleContent,
    Status,
)
from cre_advisor.store.database import Base, Database, alembic_config

ORIGINAL = statement("warn-qt", "Check the QT interval before starting.")
CHANGED = statement("warn-qt", "Check the QT interval before and during treatment.")
OTHER = statement("warn-renal", "Check creatinine every day.")


@pytest.fixture
def people(store: ReviewStore, accounts: Accounts) -> dict[str, object]:
    return {
        "rita": actor(store, accounts, "rita", Role.reviewer),
        "rob": actor(store, accounts, "rob", Role.reviewer),
        "ann": actor(store, accounts, "ann", Role.author),
        "ada": actor(store, accounts, "ada", Role.admin),
    }


def approve(store: ReviewStore, reviewer, second, item=ORIGINAL) -> None:
    """Start the review and approve it by two distinct reviewers."""
    store.act(item.id, Action.start_review, reviewer, expected_hash=item.hash)
    store.act(item.id, Action.approve, reviewer, expected_hash=item.hash)
    store.act(item.id, Action.approve, second, expected_hash=item.hash)


def test_the_migration_creates_exactly_the_mapped_tables(database: Database) -> None:
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    review_differences = [d for d in differences if "review_" in repr(d)]
    assert review_differences == []


def test_a_release_registers_every_item_as_submitted(store: ReviewStore) -> None:
    assert sorted(store.sync(catalogue(ORIGINAL, OTHER))) == ["warn-qt", "warn-renal"]
    assert {v.item_id: v.status for v in store.items()} == {"warn-qt": Status.submitted, "warn-renal": Status.submitted}
    entries = store.history("warn-qt")
    assert [(e.actor, e.action, e.from_status, e.to_status, e.hash) for e in entries] == [
        (RELEASE_ACTOR, "released", None, "submitted", ORIGINAL.hash)
    ]
    assert store.sync(catalogue(ORIGINAL, OTHER)) == []  # the same release again changes nothing


def test_full_cycle_with_changes_requested_and_resubmission(store: ReviewStore, people) -> None:
    store.sync(catalogue(ORIGINAL))
    h = ORIGINAL.hash
    assert store.act("warn-qt", Action.start_review, people["rita"], expected_hash=h).status is Status.under_review
    changed = store.act("warn-qt", Action.request_changes, people["rita"], expected_hash=h, comment="cite the label")
    assert changed.status is Status.changes_requested
    resubmitted = store.act("warn-qt", Action.resubmit, people["ann"], expected_hash=h, comment="label cited now")
    assert (resubmitted.status, resubmitted.submitted_by) == (Status.submitted, "ann")
    store.act("warn-qt", Action.start_review, people["rob"], expected_hash=h)
    assert store.act("warn-qt", Action.approve, people["rob"], expected_hash=h).status is Status.under_review
    approved = store.act("warn-qt", Action.approve, people["rita"], expected_hash=h)
    assert (approved.status, approved.approved_hash, approved.approved_by) == (Status.approved, h, "rita")
    assert [a.approver for a in approved.approvals] == ["rob", "rita"]
    trail = [(e.actor, e.action, e.from_status, e.to_status, e.outcome) for e in store.history("warn-qt")]
    assert trail == [
        (RELEASE_ACTOR, "released", None, "submitted", "applied"),
        ("rita", "start_review", "submitted", "under_review", "applied"),
        ("rita", "request_changes", "under_review", "changes_requested", "applied"),
        ("ann", "resubmit", "changes_requested", "submitted", "applied"),
        ("rob", "start_review", "submitted", "under_review", "applied"),
        ("rob", "approve", "under_review", "under_review", "applied"),
        ("rita", "approve", "under_review", "approved", "applied"),
    ]
    assert store.history("warn-qt")[2].comment == "cite the label"


@pytest.mark.parametrize(("setup", "action", "who"), [
    ([], Action.approve, "rita"),  # approve straight from submitted
    ([], Action.request_changes, "rita"),
    ([], Action.resubmit, "ann"),
    ([Action.start_review], Action.start_review, "rob"),
    ([Action.start_review], Action.resubmit, "ann"),
    ([Action.start_review, Action.approve], Action.approve, "rob"),
    ([Action.start_review, Action.approve], Action.start_review, "rob"),
    ([Action.start_review, Action.approve], Action.request_changes, "rob"),
    ([Action.start_review, Action.approve], Action.resubmit, "ann"),
    ([Action.start_review, Action.request_changes], Action.approve, "rob"),
    ([Action.start_review, Action.request_changes], Action.start_review, "rob"),
    ([Action.start_review, Action.request_changes], Action.request_changes, "rob"),
])
def test_illegal_transitions_are_refused_and_recorded(store: ReviewStore, people, setup, action, who) -> None:
    store.sync(catalogue(ORIGINAL))
    for step in setup:
        store.act("warn-qt", step, people["rita"], expected_hash=ORIGINAL.hash, comment="because")
        if step is Action.approve:  # the second approval that completes it
            store.act("warn-qt", step, people["ada"], expected_hash=ORIGINAL.hash)
    before = store.item("warn-qt")
    with pytest.raises(IllegalTransition):
        store.act("warn-qt", action, people[who], expected_hash=ORIGINAL.hash, comment="because")
    after = store.item("warn-qt")
    assert (after.status, after.version) == (before.status, before.version)
    last = store.history("warn-qt")[-1]
    assert (last.actor, last.action, last.outcome, last.from_status, last.to_status) == (
        who, action.value, "refused", before.status.value, before.status.value)
    assert "applies to items that are" in last.reason


def test_wrong_role_is_refused(store: ReviewStore, people) -> None:
    store.sync(catalogue(ORIGINAL))
    with pytest.raises(NotPermitted):
        store.act("warn-qt", Action.start_review, people["ann"], expected_hash=ORIGINAL.hash)
    assert store.item("warn-qt").status is Status.submitted


def test_four_eyes_the_resubmitting_admin_cannot_approve(store: ReviewStore, people) -> None:
    store.sync(catalogue(ORIGINAL))
    h = ORIGINAL.hash
    store.act("warn-qt", Action.start_review, people["rita"], expected_hash=h)
    store.act("warn-qt", Action.request_changes, people["rita"], expected_hash=h, comment="unclear")
    store.act("warn-qt", Action.resubmit, people["ada"], expected_hash=h, comment="clarified")
    store.act("warn-qt", Action.start_review, people["ada"], expected_hash=h)
    with pytest.raises(FourEyes):
        store.act("warn-qt", Action.approve, people["ada"], expected_hash=h)
    assert store.item("warn-qt").status is Status.under_review
    assert store.history("warn-qt")[-1].outcome == "refused"
    assert store.act("warn-qt", Action.approve, people["rita"], expected_hash=h).status is Status.under_review
    assert store.act("warn-qt", Action.approve, people["rob"], expected_hash=h).status is Status.approved


def test_a_changed_hash_lapses_the_approval_and_shows_the_diff(store: ReviewStore, people) -> None:
    store.sync(catalogue(ORIGINAL, OTHER))
    approve(store, people["rita"], people["rob"])
    approve(store, people["rita"], people["rob"], OTHER)
    assert store.review_states(catalogue(ORIGINAL, OTHER)) == {"warn-qt": "approved", "warn-renal": "approved"}

    # A new release changes one sentence of one item: before any sync the engine already
    # stops counting the approval, and the untouched item keeps its own.
    assert store.review_states(catalogue(CHANGED, OTHER)) == {"warn-qt": "submitted", "warn-renal": "approved"}
    assert store.sync(catalogue(CHANGED, OTHER)) == ["warn-qt"]
    lapsed = store.item("warn-qt")
    assert (lapsed.status, lapsed.hash, lapsed.approved_hash) == (Status.submitted, CHANGED.hash, ORIGINAL.hash)
    assert store.item("warn-renal").status is Status.approved
    last = store.history("warn-qt")[-1]
    assert (last.actor, last.action, last.from_status, last.to_status, last.hash) == (
        RELEASE_ACTOR, "content_changed", "approved", "submitted", CHANGED.hash)
    changes = store.changes_since_approval("warn-qt")
    assert [(c.path, c.change, c.before, c.after) for c in changes] == [(
        "text.clinician", "changed",
        "Check the QT interval before starting.", "Check the QT interval before and during treatment.")]

    # Re-approval binds to the new hash; shipping the old text again lapses it again.
    approve(store, people["rob"], people["ada"], CHANGED)
    assert store.review_states(catalogue(CHANGED, OTHER))["warn-qt"] == "approved"
    assert store.review_states(catalogue(ORIGINAL, OTHER))["warn-qt"] == "submitted"


def test_an_item_under_review_restarts_when_its_content_changes(store: ReviewStore, people) -> None:
    store.sync(catalogue(ORIGINAL))
    store.act("warn-qt", Action.start_review, people["rita"], expected_hash=ORIGINAL.hash)
    store.sync(catalogue(CHANGED))
    assert store.item("warn-qt").status is Status.submitted
    assert store.changes_since_approval("warn-qt") is None  # never approved: nothing to compare with


def test_approving_content_other_than_the_one_shown_is_refused(store: ReviewStore, people) -> None:
    store.sync(catalogue(ORIGINAL))
    store.act("warn-qt", Action.start_review, people["rita"], expected_hash=ORIGINAL.hash)
    seen = store.item("warn-qt")
    with pytest.raises(StaleContent):
        store.act("warn-qt", Action.approve, people["rita"], expected_hash=CHANGED.hash)
    store.act("warn-qt", Action.request_changes, people["rob"], expected_hash=ORIGINAL.hash, comment="no")
    store.act("warn-qt", Action.resubmit, people["ann"], expected_hash=ORIGINAL.hash, comment="kept")
    store.act("warn-qt", Action.start_review, people["rob"], expected_hash=ORIGINAL.hash)
    with pytest.raises(StaleContent, match="since it was shown"):  # rita's page is three actions old
        store.act("warn-qt", Action.approve, people["rita"], expected_hash=ORIGINAL.hash,
                  expected_version=seen.version)
    assert store.item("warn-qt").status is Status.under_review


def test_unknown_items_are_named(store: ReviewStore, people) -> None:
    with pytest.raises(UnknownItem, match="no-such-item"):
        store.act("no-such-item", Action.start_review, people["rita"], expected_hash="0" * 64)


def test_items_the_store_has_not_seen_count_as_submitted(store: ReviewStore) -> None:
    assert store.review_states(catalogue(ORIGINAL)) == {"warn-qt": Status.submitted}


def test_the_audit_trail_cannot_be_changed(store: ReviewStore, database: Database, people) -> None:
    store.sync(catalogue(ORIGINAL))
    approve(store, people["rita"], people["rob"])
    for statement_sql in ("UPDATE review_audit SET actor = 'mallory'", "DELETE FROM review_audit"):
        with database.engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement_sql))
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text("TRUNCATE review_audit"))
    with pytest.raises(AppendOnly), store.writing() as session:
        entry = session.get(AuditEntry, 1)
        entry.comment = "edited"
        session.flush()
    with pytest.raises(AppendOnly), store.writing() as session:
        session.delete(session.get(AuditEntry, 1))
        session.flush()
    assert [e.actor for e in store.history("warn-qt")] == [RELEASE_ACTOR, "rita", "rita", "rob"]


def test_csv_export_has_one_row_per_action(store: ReviewStore, people) -> None:
    store.sync(catalogue(ORIGINAL))
    store.act("warn-qt", Action.start_review, people["rita"], expected_hash=ORIGINAL.hash)
    store.act("warn-qt", Action.request_changes, people["rita"], expected_hash=ORIGINAL.hash,
              comment='dose "per kg", not flat')
    rows = list(csv.DictReader(io.StringIO(store.export_csv())))
    assert [r["action"] for r in rows] == ["released", "start_review", "request_changes"]
    last = rows[-1]
    assert (last["actor"], last["from_status"], last["to_status"], last["hash"], last["comment"], last["outcome"]) == (
        "rita", "under_review", "changes_requested", ORIGINAL.hash, 'dose "per kg", not flat', "applied")
    assert last["at"].endswith("+00:00")


@pytest.mark.parametrize("formula", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)"])
def test_csv_cells_that_look_like_formulas_are_made_inert(store: ReviewStore, people, formula: str) -> None:
    store.sync(catalogue(ORIGINAL))
    store.act("warn-qt", Action.start_review, people["rita"], expected_hash=ORIGINAL.hash)
    store.act("warn-qt", Action.request_changes, people["rita"], expected_hash=ORIGINAL.hash, comment=formula)
    last = list(csv.DictReader(io.StringIO(store.export_csv())))[-1]
    assert last["comment"] == "'" + formula


def test_one_reviewer_alone_cannot_approve(store: ReviewStore, people) -> None:
    store.sync(catalogue(ORIGINAL))
    h = ORIGINAL.hash
    store.act("warn-qt", Action.start_review, people["rita"], expected_hash=h)
    first = store.act("warn-qt", Action.approve, people["rita"], expected_hash=h)
    assert (first.status, [a.approver for a in first.approvals], first.approved_hash) == (
        Status.under_review, ["rita"], None)
    with pytest.raises(AlreadyApproved, match="1 more reviewer"):
        store.act("warn-qt", Action.approve, people["rita"], expected_hash=h)
    assert store.item("warn-qt").status is Status.under_review
    assert store.review_states(catalogue(ORIGINAL))["warn-qt"] is Status.under_review  # not approved for the engine
    refused = store.history("warn-qt")[-1]
    assert (refused.actor, refused.action, refused.outcome) == ("rita", "approve", "refused")
    second = store.act("warn-qt", Action.approve, people["rob"], expected_hash=h)
    assert second.status is Status.approved
    assert [(a.approver, a.at.tzinfo is not None) for a in second.approvals] == [("rita", True), ("rob", True)]
    assert store.history("warn-qt")[-1].reason == "approval 2 of 2 for this version"


def test_a_board_may_require_more_approvers(database: Database, accounts: Accounts) -> None:
    store = ReviewStore(database.engine, approvals_required=3)
    reviewers = [actor(store, accounts, name, Role.reviewer) for name in ("rita", "rob", "rae")]
    store.sync(catalogue(ORIGINAL))
    store.act("warn-qt", Action.start_review, reviewers[0], expected_hash=ORIGINAL.hash)
    states = [store.act("warn-qt", Action.approve, who, expected_hash=ORIGINAL.hash).status for who in reviewers]
    assert states == [Status.under_review, Status.under_review, Status.approved]


def test_fewer_than_two_approvers_cannot_be_configured(database: Database) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        ReviewStore(database.engine, approvals_required=1)


def test_approvals_of_an_earlier_round_do_not_count(store: ReviewStore, people) -> None:
    store.sync(catalogue(ORIGINAL))
    h = ORIGINAL.hash
    store.act("warn-qt", Action.start_review, people["rita"], expected_hash=h)
    store.act("warn-qt", Action.approve, people["rita"], expected_hash=h)
    store.act("warn-qt", Action.request_changes, people["rob"], expected_hash=h, comment="cite the label")
    store.act("warn-qt", Action.resubmit, people["ann"], expected_hash=h, comment="cited")
    store.act("warn-qt", Action.start_review, people["rob"], expected_hash=h)
    assert store.item("warn-qt").approvals == ()
    assert store.act("warn-qt", Action.approve, people["rob"], expected_hash=h).status is Status.under_review


def test_upgrading_keeps_earlier_approvals_visible_and_gives_old_tokens_an_expiry(tmp_path) -> None:
    database = Database(f"sqlite+pysqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(database.engine), "7e3c9a41b2d0")  # the review schema before this change
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO review_items VALUES ('warn-qt', 'statement', 'approved', 'h1', '2026-11-24', NULL, 'h1', "
            "'rita', '2026-11-30 10:00:00.000000', '2026-11-30 10:00:00.000000', 3)")
        connection.exec_driver_sql("INSERT INTO review_users VALUES (1, 'bot', 'author', 'x', 1, '2026-11-30 10:00:00')")
        connection.exec_driver_sql("INSERT INTO review_api_tokens VALUES (1, 1, 'h', 'l', '2026-11-30 10:00:00', NULL)")
    database.migrate()
    view = ReviewStore(database.engine).item("warn-qt")
    assert view.status is Status.approved
    assert [(a.approver, a.at.isoformat()) for a in view.approvals] == [("rita", "2026-11-30T10:00:00+00:00")]
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT expires_at FROM review_api_tokens").scalar_one().startswith("2027-02-28")
    database.dispose()
