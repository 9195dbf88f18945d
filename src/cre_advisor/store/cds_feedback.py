"""CDS Hooks cards issued and the feedback EHRs send about them, for the acceptance report.

A card row keeps only what the report and the feedback check need (uuid, service, card type,
indicator, its suggestion uuids, the client it was issued to): no patient identifier and no
clinical content. Feedback rows keep the outcome, the accepted suggestions, the override reason
and the user's comment as sent.

Feedback counts only when it is about a card this service issued to the same client (and names
that card's own suggestions); the same outcome sent again for the same card is not counted
twice, so an EHR that retries cannot inflate the acceptance report.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, func, select, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column

from cre_advisor.store.database import Base


class CdsCard(Base):
    __tablename__ = "cds_cards"

    uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(64))
    card_type: Mapped[str] = mapped_column(String(32), index=True)
    indicator: Mapped[str] = mapped_column(String(16))
    hook_instance: Mapped[str] = mapped_column(String(128))
    suggestions: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    client: Mapped[str | None] = mapped_column(String(256), nullable=True)


class CdsFeedback(Base):
    __tablename__ = "cds_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    card_uuid: Mapped[str] = mapped_column(String(64), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    accepted_suggestions: Mapped[str] = mapped_column(Text, default="[]")
    override_system: Mapped[str | None] = mapped_column(String(256), nullable=True)
    override_code: Mapped[str | None] = mapped_column(String(128), nullable=True)
    override_display: Mapped[str | None] = mapped_column(String(256), nullable=True)
    user_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    client: Mapped[str | None] = mapped_column(String(256), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def record_cards(
    session: Session, service_id: str, hook_instance: str, cards: Iterable[dict[str, Any]], client: str | None = None,
) -> None:
    """Remember each card's type, suggestions and client so later feedback can be checked and counted."""
    now = datetime.now(UTC)
    for card in cards:
        session.add(CdsCard(
            uuid=card["uuid"], service_id=service_id, card_type=card["source"]["topic"]["code"],
            indicator=card["indicator"], hook_instance=hook_instance[:128],
            suggestions=json.dumps([s["uuid"] for s in card.get("suggestions", ())]), created_at=now,
            client=client[:256] if client else None,
        ))


@dataclass(frozen=True)
class Feedback:
    """One feedback item as the spec defines it (already validated by the HTTP layer)."""

    card: str
    outcome: str
    accepted_suggestions: tuple[str, ...]
    override_system: str | None
    override_code: str | None
    override_display: str | None
    user_comment: str | None
    outcome_timestamp: datetime


class FeedbackRejected(ValueError):
    """Feedback about a card this client was not sent, or naming suggestions the card lacks."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class FeedbackResult:
    received: int
    duplicates: int


def record_feedback(session: Session, service_id: str, items: list[Feedback], client: str | None) -> FeedbackResult:
    """Store the feedback; raises FeedbackRejected (nothing stored) when any item is not this client's."""
    uuids = {item.card for item in items}
    cards = {c.uuid: c for c in session.scalars(select(CdsCard).where(CdsCard.uuid.in_(uuids)))}
    for item in items:
        card = cards.get(item.card)
        if card is None or card.service_id != service_id or card.client != client:
            # the same answer for a foreign card as for an unknown one: cards of other clients stay unseen
            raise FeedbackRejected(404, f"card {item.card!r} was not issued by {service_id} to this client")
        unknown = set(item.accepted_suggestions) - set(json.loads(card.suggestions))
        if unknown:
            raise FeedbackRejected(400, f"card {item.card!r} has no suggestion {sorted(unknown)[0]!r}")
    seen = {tuple(row) for row in session.execute(
        select(CdsFeedback.card_uuid, CdsFeedback.outcome)
        .where(tuple_(CdsFeedback.card_uuid, CdsFeedback.outcome).in_([(i.card, i.outcome) for i in items]))
    )}
    now = datetime.now(UTC)
    stored = 0
    for item in items:
        if (item.card, item.outcome) in seen:
            continue
        seen.add((item.card, item.outcome))
        session.add(CdsFeedback(
            card_uuid=item.card, service_id=service_id, outcome=item.outcome,
            accepted_suggestions=json.dumps(list(item.accepted_suggestions)), override_system=item.override_system,
            override_code=item.override_code, override_display=item.override_display, user_comment=item.user_comment,
            outcome_timestamp=item.outcome_timestamp, client=client, received_at=now,
        ))
        stored += 1
    return FeedbackResult(received=stored, duplicates=len(items) - stored)


@dataclass
class CardTypeReport:
    card_type: str
    cards: int = 0
    accepted: int = 0
    overridden: int = 0
    override_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def answered(self) -> int:
        return self.accepted + self.overridden

    @property
    def acceptance(self) -> float | None:
        """Accepted share of the cards that got feedback (ignored cards send none)."""
        return self.accepted / self.answered if self.answered else None


def feedback_report(session: Session, reason_names: dict[str, str] | None = None) -> list[CardTypeReport]:
    """Per card type: cards issued, accepted, overridden, and the override reasons given."""
    names = reason_names or {}
    reports: dict[str, CardTypeReport] = {}
    for card_type, count in session.execute(select(CdsCard.card_type, func.count()).group_by(CdsCard.card_type)):
        reports[card_type] = CardTypeReport(card_type, cards=count)
    rows = session.execute(
        select(CdsCard.card_type, CdsFeedback.outcome, CdsFeedback.override_code, CdsFeedback.override_display,
               CdsFeedback.user_comment)
        .select_from(CdsFeedback).outerjoin(CdsCard, CdsCard.uuid == CdsFeedback.card_uuid)
    )
    for card_type, outcome, code, display, comment in rows:
        report = reports.setdefault(card_type or "unknown card", CardTypeReport(card_type or "unknown card"))
        if outcome == "accepted":
            report.accepted += 1
            continue
        report.overridden += 1
        if code or display:
            report.override_reasons[display or names.get(code or "", code or "")] += 1
        else:
            report.override_reasons["comment only" if comment else "no reason given"] += 1
    return sorted(reports.values(), key=lambda r: r.card_type)
