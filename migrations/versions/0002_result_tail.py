"""Results keep the final metrics averaged over the last steps, and the 2-cycle check.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: results stored before this revision have no tail; the comparison then falls
    # back to the final-step values and says so.
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("tail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("tail")
