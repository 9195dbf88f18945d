"""Saved cases: a case kept under an unguessable id so its link can be shared.

Only what the user chose to save is stored (the case JSON, never the rendered answer): opening
the link re-runs the engine on today's knowledge and says when that differs from the version
the case was saved under. Saved cases are kept for the server's retention period
(settings.retention_days) and then purged; anyone holding the link may delete one sooner.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, String, Text, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from cre_advisor.case import Case
from cre_advisor.store.database import Base, Database

ID_BYTES = 24  # 192 random bits -> 32 URL-safe characters
ID_PATTERN = r"^[A-Za-z0-9_-]{32}$"


class SavedCase(Base):
    __tablename__ = "saved_cases"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_json: Mapped[str] = mapped_column(Text)
    knowledge_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def case(self) -> Case:
        return Case.model_validate_json(self.case_json)


def save_case(session: Session, case: Case, knowledge_version: str) -> SavedCase:
    """Store `case` under a fresh random id and return the row."""
    row = SavedCase(
        id=secrets.token_urlsafe(ID_BYTES),
        case_json=json.dumps(case.model_dump(mode="json"), separators=(",", ":")),
        knowledge_version=knowledge_version,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    return row


def load_case(session: Session, case_id: str) -> SavedCase | None:
    return session.get(SavedCase, case_id)


def delete_case(session: Session, case_id: str) -> bool:
    """Remove one saved case; False when there was none with this id."""
    return session.execute(delete(SavedCase).where(SavedCase.id == case_id)).rowcount == 1  # type: ignore[attr-defined]


def purge_expired(database: Database, retention_days: int, now: datetime | None = None) -> int:
    """Delete every saved case older than `retention_days`; returns how many were removed."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    with database.session() as session:
        return session.execute(delete(SavedCase).where(SavedCase.created_at < cutoff)).rowcount  # type: ignore[attr-defined]
