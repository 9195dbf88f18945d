"""review safeguards: approvals by distinct reviewers, sign-in attempts, session idle time, token expiry

Revision ID: b61f0d2c8e47
Revises: 7e3c9a41b2d0
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "b61f0d2c8e47"
down_revision: str | Sequence[str] | None = "7e3c9a41b2d0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_TOKEN_LIFETIME = timedelta(days=90)  # tokens issued before expiry existed get the default lifetime


def upgrade() -> None:
    op.create_table(
        "review_approvals",
        sa.Column("item_id", sa.String(200), primary_key=True),
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("approver", sa.String(100), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "review_login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
    )
    op.create_index("ix_review_login_attempts_name_at", "review_login_attempts", ["name", "at"])
    op.create_index("ix_review_login_attempts_address_at", "review_login_attempts", ["address", "at"])
    with op.batch_alter_table("review_sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("review_api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    # Approvals given before this revision were one person's: record them, so item pages show who approved.
    # Their items stay approved (taking content out of strict-mode answers is the board's decision, not an
    # upgrade's); the next content change needs the full number of distinct approvers.
    items = sa.table("review_items", sa.column("item_id", sa.String()), sa.column("status", sa.String()),
                     sa.column("current_hash", sa.String()), sa.column("approved_hash", sa.String()),
                     sa.column("approved_by", sa.String()), sa.column("approved_at", sa.DateTime(True)))
    approvals = sa.table("review_approvals", sa.column("item_id", sa.String()), sa.column("hash", sa.String()),
                         sa.column("approver", sa.String()), sa.column("at", sa.DateTime(True)))
    earlier = op.get_bind().execute(
        sa.select(items.c.item_id, items.c.approved_hash, items.c.approved_by, items.c.approved_at).where(
            items.c.status == "approved", items.c.approved_hash == items.c.current_hash,
            items.c.approved_by.is_not(None), items.c.approved_at.is_not(None))
    ).all()
    if earlier:
        op.bulk_insert(approvals, [{"item_id": i, "hash": h, "approver": who, "at": at} for i, h, who, at in earlier])
    tokens = sa.table("review_api_tokens", sa.column("id", sa.Integer()), sa.column("created_at", sa.DateTime(True)),
                      sa.column("expires_at", sa.DateTime(True)))
    bind = op.get_bind()
    for token_id, created in bind.execute(sa.select(tokens.c.id, tokens.c.created_at)).all():
        created = created or datetime.now(UTC)
        created = created if created.tzinfo else created.replace(tzinfo=UTC)
        bind.execute(tokens.update().where(tokens.c.id == token_id).values(expires_at=created + LEGACY_TOKEN_LIFETIME))


def downgrade() -> None:
    with op.batch_alter_table("review_api_tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("review_sessions") as batch:
        batch.drop_column("last_seen_at")
    op.drop_index("ix_review_login_attempts_address_at", table_name="review_login_attempts")
    op.drop_index("ix_review_login_attempts_name_at", table_name="review_login_attempts")
    op.drop_table("review_login_attempts")
    op.drop_table("review_approvals")
