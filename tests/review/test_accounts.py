"""Accounts: argon2id password hashes, hashed API tokens, expiring sessions, and the CLI."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from review_helpers import PASSWORD
from sqlalchemy import select
from typer.testing import CliRunner

from cre_advisor.cli import app as cli
from cre_advisor.review.accounts import (
    FAILURES_PER_ACCOUNT,
    FAILURES_PER_ADDRESS,
    LOCKOUT_WINDOW,
    SESSION_IDLE,
    SESSION_LIFETIME,
    AccountError,
    Accounts,
    password_problem,
)
from cre_advisor.review.models import ApiToken, User, WebSession, utcnow
from cre_advisor.review.store import ReviewStore
from cre_advisor.review.workflow import Action, Role
from cre_advisor.settings import Settings
from cre_advisor.store.database import Database


def test_passwords_are_stored_as_argon2id_and_checked(store: ReviewStore, accounts: Accounts) -> None:
    with store.writing() as session:
        accounts.add_user(session, "rita", "reviewer", PASSWORD)
    with store.reading() as session:
        stored = session.scalar(select(User.password_hash).where(User.name == "rita"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with store.writing() as session:
        assert accounts.authenticate(session, "rita", PASSWORD).role is Role.reviewer
        assert accounts.authenticate(session, "rita", PASSWORD + "!") is None
        assert accounts.authenticate(session, "nobody", PASSWORD) is None


@pytest.mark.parametrize(("name", "role", "password", "message"), [
    ("rita", "boss", PASSWORD, "role must be one of author, reviewer, admin"),
    ("rita", "reviewer", "short", "at least 12 characters"),
    ("rita smith", "reviewer", PASSWORD, "name 'rita smith' is not allowed"),
])
def test_bad_accounts_are_refused_with_the_field_named(store: ReviewStore, accounts: Accounts, name, role,
                                                       password, message) -> None:
    with pytest.raises(ValueError, match=message), store.writing() as session:
        accounts.add_user(session, name, role, password)


def test_names_are_unique(store: ReviewStore, accounts: Accounts) -> None:
    with store.writing() as session:
        accounts.add_user(session, "rita", "reviewer", PASSWORD)
    with pytest.raises(AccountError, match="already exists"), store.writing() as session:
        accounts.add_user(session, "rita", "author", PASSWORD)


def test_tokens_are_stored_only_as_their_hash(store: ReviewStore, accounts: Accounts) -> None:
    with store.writing() as session:
        accounts.add_user(session, "bot", "author", PASSWORD)
        token = Accounts.issue_token(session, "bot", "nightly export")
    with store.reading() as session:
        stored = session.scalar(select(ApiToken.token_hash))
        assert stored == hashlib.sha256(token.encode()).hexdigest()
        assert Accounts.token_actor(session, token).name == "bot"
        assert Accounts.token_actor(session, token + "x") is None


def test_sessions_expire(store: ReviewStore, accounts: Accounts) -> None:
    with store.writing() as session:
        rita = accounts.add_user(session, "rita", "reviewer", PASSWORD)
        cookie, csrf = Accounts.open_session(session, rita)
    with store.reading() as session:
        assert Accounts.session_actor(session, cookie)[:2] == (rita, csrf)
        later = utcnow() + SESSION_LIFETIME + timedelta(seconds=1)
        assert Accounts.session_actor(session, cookie, now=later) is None
        assert session.scalar(select(WebSession.id_hash)) == hashlib.sha256(cookie.encode()).hexdigest()
    with store.writing() as session:
        Accounts.open_session(session, rita, now=later)  # signing in again sweeps the expired session
    with store.reading() as session:
        assert hashlib.sha256(cookie.encode()).hexdigest() not in set(session.scalars(select(WebSession.id_hash)))


def test_sessions_end_after_idle_time_unless_used(store: ReviewStore, accounts: Accounts) -> None:
    start = utcnow()
    with store.writing() as session:
        rita = accounts.add_user(session, "rita", "reviewer", PASSWORD)
        cookie, _ = Accounts.open_session(session, rita, now=start)
    idle = start + SESSION_IDLE + timedelta(seconds=1)
    with store.reading() as session:
        assert Accounts.session_actor(session, cookie, now=idle) is None
    with store.writing() as session:  # used shortly before: the idle time counts from that use
        Accounts.touch_session(session, cookie, now=start + timedelta(minutes=10))
    with store.reading() as session:
        assert Accounts.session_actor(session, cookie, now=idle).actor == rita


def test_tokens_expire(store: ReviewStore, accounts: Accounts) -> None:
    start = utcnow()
    with store.writing() as session:
        accounts.add_user(session, "bot", "author", PASSWORD)
        token = Accounts.issue_token(session, "bot", "export", days=7, now=start)
    with store.reading() as session:
        assert Accounts.token_actor(session, token, now=start + timedelta(days=6)).name == "bot"
        assert Accounts.token_actor(session, token, now=start + timedelta(days=7, seconds=1)) is None
    with pytest.raises(AccountError, match="1 to 365 days"), store.writing() as session:
        Accounts.issue_token(session, "bot", "forever", days=10_000)


@pytest.mark.parametrize(("password", "reason"), [
    ("Password123456!", "common passwords"),
    ("qwertyuiop1234", "common passwords"),
    ("monkeymonkeymonkey", "common passwords"),
    ("rita-at-the-bedside", "user's name"),
    ("918273645546372", "digits and symbols only"),
    ("abababababababab", "too few"),
])
def test_trivial_or_common_passwords_are_refused(password: str, reason: str) -> None:
    assert reason in password_problem("rita", password)


def test_a_phrase_of_unrelated_words_is_accepted() -> None:
    assert password_problem("rita", PASSWORD) is None


def test_sign_in_locks_after_repeated_failures_per_account_and_per_address(store: ReviewStore) -> None:
    now = utcnow()
    with store.writing() as session:
        for _ in range(FAILURES_PER_ACCOUNT - 1):
            Accounts.record_attempt(session, "rita", "10.0.0.1", "failed", now)
    with store.reading() as session:
        assert Accounts.locked_until(session, "rita", "10.0.0.2", now) is None
    with store.writing() as session:
        Accounts.record_attempt(session, "rita", "10.0.0.1", "failed", now)
    with store.reading() as session:
        assert Accounts.locked_until(session, "rita", "10.0.0.2", now) == now + LOCKOUT_WINDOW
        assert Accounts.locked_until(session, "rita", "10.0.0.2", now + LOCKOUT_WINDOW + timedelta(seconds=1)) is None
        assert Accounts.locked_until(session, "otto", "10.0.0.2", now) is None
    with store.writing() as session:  # one address trying many names
        for index in range(FAILURES_PER_ADDRESS):
            Accounts.record_attempt(session, f"user{index}", "10.0.0.9", "failed", now)
    with store.reading() as session:
        assert Accounts.locked_until(session, "otto", "10.0.0.9", now) == now + LOCKOUT_WINDOW


def test_a_successful_sign_in_resets_the_account_count(store: ReviewStore) -> None:
    now = utcnow()
    with store.writing() as session:
        for _ in range(FAILURES_PER_ACCOUNT - 1):
            Accounts.record_attempt(session, "rita", "10.0.0.1", "failed", now - timedelta(minutes=2))
        Accounts.record_attempt(session, "rita", "10.0.0.1", "succeeded", now - timedelta(minutes=1))
        Accounts.record_attempt(session, "rita", "10.0.0.1", "failed", now)
    with store.reading() as session:
        assert Accounts.locked_until(session, "rita", "10.0.0.1", now) is None


def test_users_and_review_commands(tmp_path) -> None:
    runner = CliRunner()
    where = ["--data-dir", str(tmp_path)]
    added = runner.invoke(cli, ["users", "add", "rita", "--role", "reviewer", "--password-stdin", *where],
                          input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    refused = runner.invoke(cli, ["users", "add", "bob", "--role", "boss", "--password-stdin", *where],
                            input=PASSWORD + "\n")
    assert refused.exit_code == 2 and "--role" in refused.output
    listed = runner.invoke(cli, ["users", "list", *where])
    assert "rita" in listed.output and "reviewer" in listed.output
    issued = runner.invoke(cli, ["users", "token", "rita", *where])
    assert issued.exit_code == 0 and issued.output.startswith("crea_")
    assert runner.invoke(cli, ["users", "token", "nobody", *where]).exit_code == 2
    status = runner.invoke(cli, ["review", "status", *where])
    assert status.exit_code == 0 and "submitted" in status.output and "approved" in status.output
    exported = runner.invoke(cli, ["review", "export", "--output", str(tmp_path / "audit.csv"), *where])
    assert exported.exit_code == 0
    assert (tmp_path / "audit.csv").read_text().startswith("id,at,item_id,actor,action")


def test_review_show_names_who_approved_and_when(tmp_path, accounts: Accounts) -> None:
    where = ["--data-dir", str(tmp_path)]
    runner = CliRunner()
    item = "idsa-kpc-meropenem-vaborbactam"
    assert runner.invoke(cli, ["review", "show", item, *where]).exit_code == 0  # creates and syncs the store
    store = ReviewStore(Database(Settings.resolve(data_dir=tmp_path).database_url).engine)
    with store.writing() as session:
        rita, rob = (accounts.add_user(session, name, "reviewer", PASSWORD) for name in ("rita", "rob"))
    content_hash = store.item(item).hash
    store.act(item, Action.start_review, rita, expected_hash=content_hash)
    store.act(item, Action.approve, rita, expected_hash=content_hash)
    halfway = runner.invoke(cli, ["review", "show", item, *where])
    assert "under_review" in halfway.output and "1 of 2 distinct approvals" in halfway.output
    store.act(item, Action.approve, rob, expected_hash=content_hash)
    shown = runner.invoke(cli, ["review", "show", item, *where])
    assert shown.exit_code == 0 and f"{item}: approved" in shown.output
    assert re.search(r"approved by rita at \d{4}-\d\d-\d\d \d\d:\d\d UTC", shown.output)
    assert "approved by rob at" in shown.output and "2 of 2 distinct approvals" in shown.output
    unknown = runner.invoke(cli, ["review", "show", "no-such-item", *where])
    assert unknown.exit_code == 2 and "no-such-item" in unknown.output
    refused = runner.invoke(cli, ["review", "status", *where], env={"CRE_ADVISOR_APPROVALS_REQUIRED": "1"})
    assert refused.exit_code == 2 and "CRE_ADVISOR_APPROVALS_REQUIRED=1" in refused.output


def test_the_server_hashes_with_at_least_the_owasp_argon2id_minimum() -> None:
    # OWASP Password Storage Cheat Sheet: argon2id with at least 19 MiB of memory and 2 iterations.
    hasher = Accounts().hasher
    assert hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2
