"""People and their credentials: argon2 passwords, API tokens for scripts, browser sessions.

Secrets are never stored: passwords as argon2id hashes, tokens and session ids as SHA-256 of
high-entropy random values (a fast hash is enough for 256 random bits). Every function takes
an open Session; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cre_advisor.review.models import ApiToken, User, WebSession, utcnow
from cre_advisor.review.workflow import Role, parse_role

TOKEN_PREFIX = "crea_"
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 12
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


@dataclass(frozen=True)
class Actor:
    """Who is acting, detached from any database session."""

    id: int
    name: str
    role: Role


class AccountError(ValueError):
    """A user could not be created or changed; the message names the field."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _actor(user: User) -> Actor:
    return Actor(id=user.id, name=user.name, role=Role(user.role))


def _user_named(session: Session, name: str) -> User:
    """The user called `name`; an AccountError naming it if there is none."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise AccountError(f"no user named '{name}'")
    return user


class Accounts:
    """Users, tokens and sessions; the password hasher is injectable so tests can make it cheap."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()

    @cached_property
    def _decoy(self) -> str:
        """Verified against when the name is unknown, so a wrong name costs as long as a wrong password."""
        return self.hasher.hash(secrets.token_hex(16))

    def add_user(self, session: Session, name: str, role: str, password: str) -> Actor:
        if not NAME_PATTERN.match(name):
            raise AccountError(
                f"name '{name}' is not allowed: use 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
            )
        parsed_role = parse_role(role)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise AccountError(f"a user named '{name}' already exists")
        user = User(name=name, role=parsed_role.value, password_hash=self.hasher.hash(password), active=True)
        session.add(user)
        session.flush()
        return _actor(user)

    @staticmethod
    def set_active(session: Session, name: str, active: bool) -> None:
        user = _user_named(session, name)
        user.active = active

    @staticmethod
    def users(session: Session) -> list[User]:
        return list(session.scalars(select(User).order_by(User.name)))

    def authenticate(self, session: Session, name: str, password: str) -> Actor | None:
        """The user if the name and password match an active account, else None."""
        user = session.scalar(select(User).where(User.name == name)) if NAME_PATTERN.match(name) else None
        try:
            self.hasher.verify(user.password_hash if user else self._decoy, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        if self.hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(password)
        return _actor(user)

    @staticmethod
    def issue_token(session: Session, name: str, label: str) -> str:
        """A new API token for `name`; returned once, only its hash is kept."""
        user = _user_named(session, name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        session.add(ApiToken(user_id=user.id, token_hash=_digest(token), label=label))
        return token

    @staticmethod
    def revoke_tokens(session: Session, name: str) -> int:
        """Revoke every live token of `name`; returns how many."""
        user = _user_named(session, name)
        live = list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))))
        for token in live:
            token.revoked_at = utcnow()
        return len(live)

    @staticmethod
    def token_actor(session: Session, token: str) -> Actor | None:
        row = session.execute(
            select(User)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None), User.active.is_(True))
        ).scalar_one_or_none()
        return _actor(row) if row else None

    @staticmethod
    def open_session(session: Session, actor: Actor, now: datetime | None = None) -> tuple[str, str]:
        """A new browser session for `actor`: (cookie value, CSRF token); expired sessions are removed."""
        now = now or utcnow()
        session.execute(delete(WebSession).where(WebSession.expires_at <= now))
        cookie = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        session.add(
            WebSession(id_hash=_digest(cookie), user_id=actor.id, csrf_token=csrf, created_at=now,
                       expires_at=now + SESSION_LIFETIME)
        )
        return cookie, csrf

    @staticmethod
    def session_actor(session: Session, cookie: str, now: datetime | None = None) -> tuple[Actor, str] | None:
        """The signed-in actor and the session's CSRF token, or None if unknown or expired."""
        row = session.execute(
            select(User, WebSession.csrf_token)
            .join(WebSession, WebSession.user_id == User.id)
            .where(WebSession.id_hash == _digest(cookie), WebSession.expires_at > (now or utcnow()),
                   User.active.is_(True))
        ).one_or_none()
        return (_actor(row[0]), row[1]) if row else None

    @staticmethod
    def close_session(session: Session, cookie: str) -> None:
        row = session.get(WebSession, _digest(cookie))
        if row is not None:
            session.delete(row)
