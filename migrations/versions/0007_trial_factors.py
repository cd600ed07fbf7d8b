"""Separate random factors (issue 16): each trial's data-order seed and data draw,
`trials.order_seed` and `trials.data_seed`. Null is the default (the trial's seed, the spec's
dataset.seed), so every trial stored before keeps training what it trained.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trials") as batch:
        batch.add_column(sa.Column("order_seed", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("data_seed", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trials") as batch:
        batch.drop_column("data_seed")
        batch.drop_column("order_seed")
