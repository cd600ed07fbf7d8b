"""Weights stored once by content (issue 19, item 4): `weight_blobs` (sha256 → safetensors
bytes) replaces `results.final_weights` and `results.initial_weights`; a result names its
weights by the sha256 it already had. Degenerate initializers (zeros, ones, constants) end
identical across seeds, and their weights were stored once per trial. Existing weights move
over in chunks, each file once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 2_000
_RESULTS = sa.table("results", sa.column("trial_id", sa.BigInteger()),
                    sa.column("final_sha256", sa.String()), sa.column("initial_sha256", sa.String()),
                    sa.column("final_weights", sa.LargeBinary()),
                    sa.column("initial_weights", sa.LargeBinary()))
_BLOBS = sa.table("weight_blobs", sa.column("sha256", sa.String()),
                  sa.column("data", sa.LargeBinary()))


def upgrade() -> None:
    op.create_table(
        "weight_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_weight_blobs")),
        sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    seen: set[str] = set()
    last = -1
    while True:
        rows = conn.execute(sa.select(_RESULTS.c.trial_id, _RESULTS.c.final_sha256,
                                      _RESULTS.c.final_weights, _RESULTS.c.initial_sha256,
                                      _RESULTS.c.initial_weights)
                            .where(_RESULTS.c.trial_id > last).order_by(_RESULTS.c.trial_id)
                            .limit(CHUNK)).fetchall()
        if not rows:
            break
        new = {}
        for _, final_sha, final, initial_sha, initial in rows:
            for sha, data in ((final_sha, final), (initial_sha, initial)):
                if sha is not None and data is not None and sha not in seen:
                    seen.add(sha)
                    new[sha] = bytes(data)
        if new:
            conn.execute(_BLOBS.insert(), [{"sha256": k, "data": v} for k, v in new.items()])
        last = rows[-1][0]
    with op.batch_alter_table("results") as batch:
        batch.drop_column("initial_weights")
        batch.drop_column("final_weights")


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("final_weights", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("initial_weights", sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    for column in ("final", "initial"):
        digest = _RESULTS.c[f"{column}_sha256"]
        data = (sa.select(_BLOBS.c.data).where(_BLOBS.c.sha256 == digest).scalar_subquery())
        conn.execute(_RESULTS.update().where(digest.is_not(None))
                     .values({f"{column}_weights": data}))
    with op.batch_alter_table("results") as batch:
        batch.alter_column("final_weights", nullable=False, existing_type=sa.LargeBinary())
    op.drop_table("weight_blobs")
