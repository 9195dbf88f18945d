"""review: people, API tokens, sessions, item states, content versions, append-only audit trail

Revision ID: 7e3c9a41b2d0
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7e3c9a41b2d0"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("review",)
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "review_audit is append-only: entries cannot be changed or removed"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER review_audit_no_update BEFORE UPDATE ON review_audit "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
    f"CREATE TRIGGER review_audit_no_delete BEFORE DELETE ON review_audit "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION review_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$",
    "CREATE TRIGGER review_audit_no_change BEFORE UPDATE OR DELETE ON review_audit "
    "FOR EACH ROW EXECUTE FUNCTION review_audit_append_only()",
    "CREATE TRIGGER review_audit_no_truncate BEFORE TRUNCATE ON review_audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION review_audit_append_only()",
]


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "review_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
    )
    op.create_table(
        "review_api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("review_users.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(100), nullable=False),
        _timestamp("created_at"),
        _timestamp("revoked_at", nullable=True),
    )
    op.create_table(
        "review_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("review_users.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _timestamp("created_at"),
        _timestamp("expires_at"),
    )
    op.create_table(
        "review_items",
        sa.Column("item_id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("current_hash", sa.String(64), nullable=False),
        sa.Column("content_updated", sa.String(32), nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=True),
        sa.Column("approved_hash", sa.String(64), nullable=True),
        sa.Column("approved_by", sa.String(100), nullable=True),
        _timestamp("approved_at", nullable=True),
        _timestamp("changed_at"),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_review_items_status", "review_items", ["status"])
    op.create_table(
        "review_content_versions",
        sa.Column("item_id", sa.String(200), primary_key=True),
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("payload", sa.Text(), nullable=False),
        _timestamp("first_seen"),
    )
    op.create_table(
        "review_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(200), nullable=False),
        _timestamp("at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_review_audit_item_id", "review_audit", ["item_id"])
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRES_TRIGGERS}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS review_audit_no_truncate ON review_audit")
        op.execute("DROP TRIGGER IF EXISTS review_audit_no_change ON review_audit")
        op.execute("DROP FUNCTION IF EXISTS review_audit_append_only()")
    op.drop_index("ix_review_audit_item_id", table_name="review_audit")
    op.drop_table("review_audit")
    op.drop_table("review_content_versions")
    op.drop_index("ix_review_items_status", table_name="review_items")
    op.drop_table("review_items")
    op.drop_table("review_sessions")
    op.drop_table("review_api_tokens")
    op.drop_table("review_users")
