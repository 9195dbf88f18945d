"""nonces: single-use values (CDS client token ids, sign-in form tokens) shared by every worker

Revision ID: d9a4c17e5b30
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d9a4c17e5b30"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("nonces",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "used_nonces",
        sa.Column("scope", sa.String(300), primary_key=True),
        sa.Column("value", sa.String(255), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_used_nonces_expires_at", "used_nonces", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_used_nonces_expires_at", table_name="used_nonces")
    op.drop_table("used_nonces")
