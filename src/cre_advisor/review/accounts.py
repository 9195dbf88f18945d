"""People and their credentials: argon2 passwords, API tokens for scripts, browser sessions.

Secrets are never stored: passwords as argon2id hashes, tokens and session ids as SHA-256 of
high-entropy random values (a fast hash is enough for 256 random bits). Every function takes
an open Session; the caller owns the transaction. Checking a password only reads, so a caller
can do it outside any write transaction (argon2 is slow on purpose; a write lock held meanwhile
would stall every other writer on SQLite).

Sign-in is throttled from the attempts table: after FAILURES_PER_ACCOUNT failures for one name
(since its last success) or FAILURES_PER_ADDRESS from one address within LOCKOUT_WINDOW, further
attempts are refused until the window after the last failure has passed. Sessions end after
SESSION_IDLE without a request and after SESSION_LIFETIME in any case; API tokens expire.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cre_advisor.review.models import ApiToken, LoginAttempt, User, WebSession, utcnow
from cre_advisor.review.workflow import Role, parse_role

TOKEN_PREFIX = "crea_"
SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(minutes=30)
SESSION_TOUCH = timedelta(minutes=1)  # last-seen is written at most this often per session
TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 365
MIN_PASSWORD_LENGTH = 12
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_ADDRESS = 20
LOCKOUT_WINDOW = timedelta(minutes=15)
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


@dataclass(frozen=True)
class Actor:
    """Who is acting, detached from any database session."""

    id: int
    name: str
    role: Role


class AccountError(ValueError):
    """A user could not be created or changed; the message names the field."""


class SignedIn(NamedTuple):
    """A live browser session: who, the CSRF token of its forms, and when it was last used."""

    actor: Actor
    csrf: str
    last_seen: datetime


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(name: str, password: str) -> str | None:
    """Why `password` is too easy to guess for `name`, or None when it is acceptable.

    Length first, then the bundled list of common passwords (also with digits and symbols
    dropped, and repeated), the user's own name, digits only, and too few distinct characters.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must have at least {MIN_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    letters = "".join(c for c in lowered if c.isalpha())
    if not letters:
        return "password must not be digits and symbols only"
    common = _common_passwords()
    if lowered in common or letters in common or any(
        letters == word * (len(letters) // len(word)) for word in common if word and len(letters) % len(word) == 0
    ):
        return "password is on the list of common passwords; choose a longer phrase of unrelated words"
    if len(name) >= 3 and name.lower() in lowered:
        return "password must not contain the user's name"
    if len(set(lowered)) < 5:
        return "password repeats too few characters; choose a longer phrase of unrelated words"
    return None


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
        problem = password_problem(name, password)
        if problem is not None:
            raise AccountError(problem)
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
        """The user if the name and password match an active account, else None. Only reads."""
        user = session.scalar(select(User).where(User.name == name)) if NAME_PATTERN.match(name) else None
        try:
            self.hasher.verify(user.password_hash if user else self._decoy, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        return _actor(user)

    def refresh_hash(self, session: Session, actor: Actor, password: str) -> None:
        """Re-hash a verified password when the hasher's parameters have grown since it was stored."""
        user = session.get(User, actor.id)
        if user is not None and self.hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(password)

    @staticmethod
    def locked_until(session: Session, name: str, address: str, now: datetime | None = None) -> datetime | None:
        """When sign-in for this name or from this address opens again, or None when it is open now."""
        now = now or utcnow()
        window_start = now - LOCKOUT_WINDOW
        last_success = session.scalar(select(func.max(LoginAttempt.at)).where(
            LoginAttempt.name == name, LoginAttempt.outcome == "succeeded"))
        since = max(window_start, last_success) if last_success else window_start
        for column, value, limit, start in ((LoginAttempt.name, name, FAILURES_PER_ACCOUNT, since),
                                            (LoginAttempt.address, address, FAILURES_PER_ADDRESS, window_start)):
            count, latest = session.execute(select(func.count(), func.max(LoginAttempt.at)).where(
                column == value, LoginAttempt.outcome == "failed", LoginAttempt.at > start)).one()
            if count >= limit:
                latest = latest if latest.tzinfo else latest.replace(tzinfo=now.tzinfo)
                return latest + LOCKOUT_WINDOW
        return None

    @staticmethod
    def record_attempt(session: Session, name: str, address: str, outcome: str, now: datetime | None = None) -> None:
        """Audit one sign-in attempt (succeeded, failed or locked); failures feed the throttle."""
        session.add(LoginAttempt(at=now or utcnow(), name=name[:100], address=address[:64], outcome=outcome))

    @staticmethod
    def issue_token(session: Session, name: str, label: str, days: int = TOKEN_DAYS,
                    now: datetime | None = None) -> str:
        """A new API token for `name`, valid for `days`; returned once, only its hash is kept."""
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise AccountError(f"token lifetime must be 1 to {MAX_TOKEN_DAYS} days; got {days}")
        user = _user_named(session, name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = now or utcnow()
        session.add(ApiToken(user_id=user.id, token_hash=_digest(token), label=label, created_at=now,
                             expires_at=now + timedelta(days=days)))
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
    def token_actor(session: Session, token: str, now: datetime | None = None) -> Actor | None:
        """The token's user while the token is live: not revoked, not expired, user active."""
        row = session.execute(
            select(User)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None), User.active.is_(True),
                   ApiToken.expires_at > (now or utcnow()))
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
                       expires_at=now + SESSION_LIFETIME, last_seen_at=now)
        )
        return cookie, csrf

    @staticmethod
    def session_actor(session: Session, cookie: str, now: datetime | None = None) -> SignedIn | None:
        """The signed-in actor, the session's CSRF token and last use; None if unknown, expired or idle too long."""
        now = now or utcnow()
        row = session.execute(
            select(User, WebSession.csrf_token, func.coalesce(WebSession.last_seen_at, WebSession.created_at))
            .join(WebSession, WebSession.user_id == User.id)
            .where(WebSession.id_hash == _digest(cookie), WebSession.expires_at > now, User.active.is_(True))
        ).one_or_none()
        if row is None:
            return None
        last_seen = row[2] if row[2].tzinfo else row[2].replace(tzinfo=now.tzinfo)
        if now - last_seen >= SESSION_IDLE:
            return None
        return SignedIn(_actor(row[0]), row[1], last_seen)

    @staticmethod
    def touch_session(session: Session, cookie: str, now: datetime | None = None) -> None:
        """Mark the session as used now (callers skip this when it was marked within SESSION_TOUCH)."""
        row = session.get(WebSession, _digest(cookie))
        if row is not None:
            row.last_seen_at = now or utcnow()

    @staticmethod
    def close_session(session: Session, cookie: str) -> None:
        row = session.get(WebSession, _digest(cookie))
        if row is not None:
            session.delete(row)
