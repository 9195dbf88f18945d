"""The review store: item states bound to content hashes, and the audit trail of every action.

Every state change runs in one transaction that first takes the item's write lock (SELECT ...
FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite), then checks the workflow, then writes the
new state and its audit entry together; the item's `version` column makes the write a
compare-and-set as a second guard. Two reviewers acting at once are therefore applied one
after the other, and the second sees the first's result. A refused action is written to the
audit trail too. This module knows the database and the workflow, not HTTP.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from cre_advisor.review.accounts import Actor
from cre_advisor.review.content import ContentItem
from cre_advisor.review.diff import FieldChange, diff
from cre_advisor.review.models import Approval, AuditEntry, ContentVersion, ReviewItem, utcnow
from cre_advisor.review.workflow import Action, Refused, StaleContent, Status, approval_target, target_of
from cre_advisor.settings import MIN_APPROVALS

RELEASE_ACTOR = "knowledge-release"
STATES_TTL = 1.0  # seconds another process's review actions may take to reach recommendations here
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula
AUDIT_COLUMNS = ("id", "at", "item_id", "actor", "action", "from_status", "to_status", "hash", "outcome",
                 "comment", "reason")


@dataclass
class _Snapshot:
    """Stored states as read at `read_at`, and the engine mappings computed from them."""

    read_at: float
    stored: dict[str, tuple[Status, str, str | None]]
    states: dict[int, tuple[Mapping[str, ContentItem], Mapping[str, Status]]] = field(default_factory=dict)


class UnknownItem(LookupError):
    """No content item with this id is under review."""


class ApprovalView(BaseModel):
    """Who approved the item's current version, and when."""

    model_config = ConfigDict(frozen=True)

    approver: str
    at: datetime


class ItemView(BaseModel):
    """An item's review state as a page or the API shows it (web.ItemOut only renames `item_id`)."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    kind: str
    status: Status
    hash: str
    version: int
    updated: str
    submitted_by: str | None
    approved_hash: str | None
    approved_by: str | None
    approved_at: datetime | None
    changed_at: datetime
    approvals: tuple[ApprovalView, ...] = ()
    approvals_required: int = MIN_APPROVALS

    @classmethod
    def of(cls, row: ReviewItem, approvals: list[Approval], required: int) -> ItemView:
        return cls(item_id=row.item_id, kind=row.kind, status=Status(row.status), hash=row.current_hash,
                   version=row.version, updated=row.content_updated, submitted_by=row.submitted_by,
                   approved_hash=row.approved_hash, approved_by=row.approved_by, approved_at=row.approved_at,
                   changed_at=row.changed_at, approvals_required=required,
                   approvals=tuple(ApprovalView(approver=a.approver, at=a.at)
                                   for a in sorted(approvals, key=lambda a: a.at) if a.hash == row.current_hash))


class ReviewStore:
    """Review states and audit trail in one database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, approvals_required: int = MIN_APPROVALS) -> None:
        if approvals_required < MIN_APPROVALS:
            raise ValueError(f"approvals_required must be at least {MIN_APPROVALS}: two people, always")
        self.engine = engine
        self.approvals_required = approvals_required
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._snapshot: _Snapshot | None = None

    # ---- transactions ----------------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A transaction that holds the database's write lock from its first statement on SQLite."""
        with self._sessions() as session:
            if self.engine.dialect.name == "sqlite":
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield session
                session.commit()
                self._snapshot = None
            except BaseException:
                session.rollback()
                raise

    # ---- content releases ------------------------------------------------------------------
    def sync(self, items: Mapping[str, ContentItem]) -> list[str]:
        """Register new items and send changed ones back to submitted; returns the ids that changed.

        Safe to run from several processes at once: a lost insert race is retried once.
        """
        try:
            return self._sync(items)
        except IntegrityError:
            return self._sync(items)

    def _sync(self, items: Mapping[str, ContentItem]) -> list[str]:
        now = utcnow()
        changed: list[str] = []
        versions: list[dict] = []
        new_items: list[dict] = []
        entries: list[dict] = []
        with self.writing() as session:
            rows = {row.item_id: row for row in session.scalars(select(ReviewItem).with_for_update())}
            known = {(i, h) for i, h in session.execute(select(ContentVersion.item_id, ContentVersion.hash))}
            for item in items.values():
                if (item.id, item.hash) not in known:
                    versions.append({"item_id": item.id, "hash": item.hash, "first_seen": now,
                                     "payload": json.dumps(item.payload, sort_keys=True)})
                row = rows.get(item.id)
                if row is None:
                    new_items.append({"item_id": item.id, "kind": item.kind, "status": Status.submitted.value,
                                      "current_hash": item.hash, "content_updated": item.updated,
                                      "changed_at": now, "version": 1})
                    entries.append(self._entry(item.id, RELEASE_ACTOR, "released", None, Status.submitted,
                                               item.hash, now))
                    changed.append(item.id)
                elif row.current_hash != item.hash:
                    entries.append(self._entry(item.id, RELEASE_ACTOR, "content_changed", Status(row.status),
                                               Status.submitted, item.hash, now,
                                               comment=f"content hash changed from {row.current_hash[:12]}"))
                    row.status = Status.submitted.value
                    row.current_hash = item.hash
                    row.content_updated = item.updated
                    row.submitted_by = None
                    row.changed_at = now
                    changed.append(item.id)
                elif row.content_updated != item.updated:
                    row.content_updated = item.updated
            session.flush()
            for model, values in ((ContentVersion, versions), (ReviewItem, new_items), (AuditEntry, entries)):
                if values:
                    session.execute(insert(model), values)
        return changed

    # ---- people acting ---------------------------------------------------------------------
    def act(self, item_id: str, action: Action, actor: Actor, *, expected_hash: str,
            comment: str = "", expected_version: int | None = None) -> ItemView:
        """Apply `action` by `actor` to the item as it was seen (`expected_hash`, optionally `version`).

        Raises UnknownItem, or a workflow.Refused subclass after writing the refusal to the audit trail.
        """
        try:
            return self._act(item_id, action, actor, expected_hash, comment, expected_version)
        except StaleDataError:
            # Only reachable if a write slipped past the row lock; the version column caught it.
            raise StaleContent(f"someone acted on '{item_id}' at the same moment; reload it") from None

    def _act(self, item_id: str, action: Action, actor: Actor, expected_hash: str, comment: str,
             expected_version: int | None) -> ItemView:
        refusal: Refused | None = None
        with self.writing() as session:
            row = session.scalars(select(ReviewItem).where(ReviewItem.item_id == item_id).with_for_update()).first()
            if row is None:
                raise UnknownItem(f"no content item '{item_id}' is under review")
            status, now = Status(row.status), utcnow()
            try:
                if expected_hash != row.current_hash:
                    raise StaleContent(f"the content changed since it was shown to {actor.name}: "
                                       f"it is now {row.current_hash[:12]}, not {expected_hash[:12]}; reload it")
                if expected_version is not None and expected_version != row.version:
                    raise StaleContent(f"someone acted on this item since it was shown to {actor.name}; reload it")
                target = target_of(action, status, role=actor.role, actor=actor.name,
                                   submitted_by=row.submitted_by, comment=comment)
                approvers = self._approvers(session, row) if action is Action.approve else frozenset()
                if action is Action.approve:
                    target = approval_target(actor.name, approvers, self.approvals_required)
            except Refused as refused:
                refusal = refused
                session.add(AuditEntry(**self._entry(item_id, actor.name, action.value, status, status,
                                                     row.current_hash, now, comment=comment, outcome="refused",
                                                     reason=str(refused))))
            else:
                reason = ""
                if action is Action.approve:  # recorded whether or not it completes the approval
                    session.add(Approval(item_id=item_id, hash=row.current_hash, approver=actor.name, at=now))
                    reason = f"approval {len(approvers) + 1} of {self.approvals_required} for this version"
                session.add(AuditEntry(**self._entry(item_id, actor.name, action.value, status, target,
                                                     row.current_hash, now, comment=comment, reason=reason)))
                row.status = target.value
                row.changed_at = now
                if target is Status.approved:
                    row.approved_hash, row.approved_by, row.approved_at = row.current_hash, actor.name, now
                if action is Action.start_review:  # a new round: approvals of an earlier round do not carry over
                    session.execute(delete(Approval).where(Approval.item_id == item_id))
                if action is Action.resubmit:
                    row.submitted_by = actor.name
            session.flush()
            view = self._view(session, row)
        if refusal is not None:
            raise refusal
        return view

    @staticmethod
    def _approvers(session: Session, row: ReviewItem) -> frozenset[str]:
        """Who approved the item's current version in this review round."""
        return frozenset(session.scalars(select(Approval.approver).where(
            Approval.item_id == row.item_id, Approval.hash == row.current_hash)))

    def _view(self, session: Session, row: ReviewItem) -> ItemView:
        approvals = list(session.scalars(select(Approval).where(Approval.item_id == row.item_id)))
        return ItemView.of(row, approvals, self.approvals_required)

    @staticmethod
    def _entry(item_id: str, actor: str, action: str, source: Status | None, target: Status, content_hash: str,
               now: datetime, *, comment: str = "", outcome: str = "applied", reason: str = "") -> dict:
        """One audit row: who, when, which action, from which state to which, on which content."""
        return {"item_id": item_id, "at": now, "actor": actor, "action": action,
                "from_status": source.value if source else None, "to_status": target.value,
                "hash": content_hash, "comment": comment, "outcome": outcome, "reason": reason}

    # ---- reading ---------------------------------------------------------------------------
    def item(self, item_id: str) -> ItemView:
        with self.reading() as session:
            row = session.get(ReviewItem, item_id)
            if row is None:
                raise UnknownItem(f"no content item '{item_id}' is under review")
            return self._view(session, row)

    def items(self, ids: set[str] | None = None) -> list[ItemView]:
        """Items in queue order: waiting for a reviewer first, approved last."""
        order = {Status.submitted: 0, Status.under_review: 1, Status.changes_requested: 2, Status.approved: 3}
        with self.reading() as session:
            approvals: dict[str, list[Approval]] = {}
            for approval in session.scalars(select(Approval)):
                approvals.setdefault(approval.item_id, []).append(approval)
            views = [ItemView.of(row, approvals.get(row.item_id, []), self.approvals_required)
                     for row in session.scalars(select(ReviewItem))]
        return sorted((v for v in views if ids is None or v.item_id in ids),
                      key=lambda v: (order[v.status], v.kind, v.item_id))

    def history(self, item_id: str | None = None) -> list[AuditEntry]:
        """Audit entries, oldest first, for one item or for all."""
        with self.reading() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if item_id is not None:
                query = query.where(AuditEntry.item_id == item_id)
            return list(session.scalars(query))

    def payload(self, item_id: str, content_hash: str) -> dict | None:
        with self.reading() as session:
            row = session.get(ContentVersion, (item_id, content_hash))
            return json.loads(row.payload) if row else None

    def changes_since_approval(self, item_id: str) -> list[FieldChange] | None:
        """What changed between the last approved version and the current one (None if never approved)."""
        view = self.item(item_id)
        if view.approved_hash is None:
            return None
        approved = self.payload(item_id, view.approved_hash)
        current = self.payload(item_id, view.hash)
        return diff(approved, current)

    def review_states(self, items: Mapping[str, ContentItem]) -> Mapping[str, Status]:
        """The engine's view: each item's state, counting an approval only for the hash it approved.

        An item the store has not seen yet, or whose content differs from the stored hash, is
        `submitted`. The stored states are read at most once per STATES_TTL seconds (and again
        after any write through this store), because every recommendation asks. A lag can only
        show an item as less reviewed than it is: approval is left only by a content change,
        and content is compared here, against `items`, on every call.
        """
        snapshot = self._snapshot
        if snapshot is None or time.monotonic() - snapshot.read_at >= STATES_TTL:
            with self.reading() as session:
                rows = session.execute(
                    select(ReviewItem.item_id, ReviewItem.status, ReviewItem.current_hash, ReviewItem.approved_hash)
                )
                stored = {item_id: (Status(status), current, approved) for item_id, status, current, approved in rows}
            snapshot = self._snapshot = _Snapshot(time.monotonic(), stored)
        cached = snapshot.states.get(id(items))
        if cached is not None and cached[0] is items:
            return cached[1]
        states: dict[str, Status] = {}
        for item in items.values():
            status, current, approved = snapshot.stored.get(item.id, (Status.submitted, item.hash, None))
            if current != item.hash or (status is Status.approved and approved != item.hash):
                status = Status.submitted
            states[item.id] = status
        view = MappingProxyType(states)
        snapshot.states[id(items)] = (items, view)
        return view

    def export_csv(self) -> str:
        """The whole audit trail as CSV, oldest first, one row per action.

        Text a person typed (comments, names) may start like a spreadsheet formula; such cells
        get a leading apostrophe so a spreadsheet shows them as text instead of running them.
        """
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(AUDIT_COLUMNS)
        for entry in self.history():
            writer.writerow([_inert(str(cell)) for cell in (
                entry.id, entry.at.isoformat(), entry.item_id, entry.actor, entry.action, entry.from_status or "",
                entry.to_status, entry.hash, entry.outcome, entry.comment, entry.reason)])
        return out.getvalue()


def _inert(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
