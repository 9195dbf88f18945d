"""saved cases: shareable links to a case

Revision ID: 5a1d0c0a5e01
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1d0c0a5e01"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("saved_cases",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_cases",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("case_json", sa.Text(), nullable=False),
        sa.Column("knowledge_version", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("saved_cases")
