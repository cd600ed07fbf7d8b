"""Regression targets (issue 17): a result's R² beside its cost, `results.train_r2` and
`results.test_r2`. Null for every result of a classification data set, so every row stored
before stays as it was.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("train_r2", sa.Float(), nullable=True))
        batch.add_column(sa.Column("test_r2", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("test_r2")
        batch.drop_column("train_r2")
