"""A sweep's trials in id order (issue 19): `ix_trials_sweep` on trials (sweep_id, id). Without
it the first page of a 10⁵-trial sweep sorted every trial of the sweep by id (page@0 grew as
n^0.6 on SQLite and n^0.9 on PostgreSQL while a page by keyset stayed flat).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_trials_sweep", "trials", ["sweep_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_trials_sweep", table_name="trials")
