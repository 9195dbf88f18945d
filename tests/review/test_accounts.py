"""Accounts: argon2id password hashes, hashed API tokens, expiring sessions, and the CLI."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from review_helpers import PASSWORD
from sqlalchemy import select
from typer.testing import CliRunner

from cre_advisor.cli import app as cli
from cre_advisor.review.accounts import SESSION_LIFETIME, AccountError, Accounts
from cre_advisor.review.models import ApiToken, User, WebSession, utcnow
from cre_advisor.review.store import ReviewStore
from cre_advisor.review.workflow import Role


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
        assert Accounts.session_actor(session, cookie) == (rita, csrf)
        later = utcnow() + SESSION_LIFETIME + timedelta(seconds=1)
        assert Accounts.session_actor(session, cookie, now=later) is None
        assert session.scalar(select(WebSession.id_hash)) == hashlib.sha256(cookie.encode()).hexdigest()
    with store.writing() as session:
        Accounts.open_session(session, rita, now=later)  # signing in again sweeps the expired session
    with store.reading() as session:
        assert hashlib.sha256(cookie.encode()).hexdigest() not in set(session.scalars(select(WebSession.id_hash)))


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


def test_the_server_hashes_with_at_least_the_owasp_argon2id_minimum() -> None:
    # OWASP Password Storage Cheat Sheet: argon2id with at least 19 MiB of memory and 2 iterations.
    hasher = Accounts().hasher
    assert hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2
