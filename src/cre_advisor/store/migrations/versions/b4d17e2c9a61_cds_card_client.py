"""cds feedback: remember which client each card was issued to

Feedback is accepted only from the client a card was sent to, so the card row keeps that
client's issuer (null for unsigned development calls, and for cards issued before this
revision, which therefore accept feedback only from unsigned development calls).

Revision ID: b4d17e2c9a61
Revises: 7c2e94d1b3a0
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4d17e2c9a61"
down_revision: str | Sequence[str] | None = "7c2e94d1b3a0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cds_cards") as batch:
        batch.add_column(sa.Column("client", sa.String(256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cds_cards") as batch:
        batch.drop_column("client")
