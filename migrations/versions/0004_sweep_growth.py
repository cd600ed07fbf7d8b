"""Growing sweeps: each growth of a sweep (seeds a user added, a block the adaptive rule added)
is a row of `sweep_growths`; an adaptive sweep records why it stopped in `sweeps.stop_reason`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sweep_growths",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sweep_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("body_hash", sa.String(64), nullable=True),
        sa.Column("added", sa.JSON(), nullable=False),
        sa.Column("n_trials", sa.Integer(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["sweep_id"], ["sweeps.id"], ondelete="CASCADE",
                                name=op.f("fk_sweep_growths_sweep_id_sweeps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_growths")),
        sa.UniqueConstraint("sweep_id", "idempotency_key",
                            name=op.f("uq_sweep_growths_sweep_id_idempotency_key")),
    )
    with op.batch_alter_table("sweeps") as batch:
        batch.add_column(sa.Column("stop_reason", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        batch.drop_column("stop_reason")
    op.drop_table("sweep_growths")
