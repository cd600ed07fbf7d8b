"""Per-sweep trial counters (issue 19): `sweeps.n_<state>` for every trial state, kept by the
store in the same transaction as each state change, so reading a sweep's counts is one row,
whatever its size. Backfilled from the trials.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("pending", "running", "completed", "failed", "cancelled")


def upgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        for state in STATES:
            batch.add_column(sa.Column(f"n_{state}", sa.Integer(), nullable=False,
                                       server_default="0"))
    for state in STATES:
        op.execute(f"UPDATE sweeps SET n_{state} = (SELECT count(*) FROM trials "  # noqa: S608
                   f"WHERE trials.sweep_id = sweeps.id AND trials.state = '{state}')")


def downgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        for state in STATES:
            batch.drop_column(f"n_{state}")
