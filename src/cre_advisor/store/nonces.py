"""Single-use values kept in the database, so every worker and every host sees the same ones.

A CDS client's token id (`jti`) and a sign-in form's token may each be used once while they are
valid. Keeping them in a table (not in a process's memory) makes a replay fail whichever worker
or host it reaches. The primary key makes the first insert win; a row whose time has passed
no longer counts and is removed by later calls.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import DateTime, String, delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from cre_advisor.store.database import Base, Database

SWEEP_EVERY = 256  # delete expired rows once per this many uses (cheap, and keeps the table small)


class UsedNonce(Base):
    __tablename__ = "used_nonces"

    scope: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def _stored(value: str) -> str:
    """Long or secret values are kept as their SHA-256 (a form token must not sit in the database)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def consume(session: Session, scope: str, value: str, expires_at: datetime, now: datetime) -> bool:
    """Record `value` as used in `scope` until `expires_at`; False when it was already used and still valid.

    Runs inside the caller's transaction, so a sign-in can consume its form token in the same
    transaction that opens the session. `INSERT ... ON CONFLICT DO NOTHING` (SQLite and
    PostgreSQL) lets the first of two concurrent uses win without an error in either.
    """
    key = {"scope": scope[:300], "value": _stored(value)}
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # RETURNING says whether a row was written (a driver's rowcount may be -1 here).
    added = session.execute(
        insert(UsedNonce).values(**key, expires_at=expires_at).on_conflict_do_nothing().returning(UsedNonce.value)
    )
    if added.first() is not None:
        return True
    # Taken before: usable again only if that use has expired (compare-and-set on the expiry).
    renewed = session.execute(
        update(UsedNonce).where(UsedNonce.scope == key["scope"], UsedNonce.value == key["value"],
                                UsedNonce.expires_at <= now).values(expires_at=expires_at).returning(UsedNonce.value)
    )
    return renewed.first() is not None


def sweep(session: Session, now: datetime) -> int:
    """Delete every nonce whose validity has passed; returns how many."""
    return session.execute(delete(UsedNonce).where(UsedNonce.expires_at <= now)).rowcount  # type: ignore[attr-defined]


class DatabaseReplayStore:
    """The CDS token verifier's replay store (`first_use`), in the server's database.

    Same contract as `security.client_tokens.ReplayCache`, with times in epoch seconds.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self._uses = 0

    def first_use(self, iss: str, jti: str, keep_until: float, now: float) -> bool:
        moment = datetime.fromtimestamp(now, UTC)
        with self.database.session() as session:
            fresh = consume(session, f"cds-jti:{iss}", jti, datetime.fromtimestamp(keep_until, UTC), moment)
            self._uses += 1
            if self._uses % SWEEP_EVERY == 0:
                sweep(session, moment)
        return fresh

