"""Compact curves (issue 19, item 4): `results.curve` from JSON text to packed little-endian
floats (`sweepd.storage.packed`: b"c4" + float32, or b"c8" + float64 where float32 would lose a
value; NaN for a missing point). Every stored curve is converted in place, in chunks.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5_000


# The format as of this revision, frozen here (the application's module may move on).
def _pack(curve: Sequence[float | None]) -> bytes:
    values = np.array([np.nan if v is None else v for v in curve], dtype=np.float64)
    narrow = values.astype("<f4")
    if np.array_equal(narrow.astype(np.float64), values, equal_nan=True):
        return b"c4" + narrow.tobytes()
    return b"c8" + values.astype("<f8").tobytes()


def _unpack(data: bytes) -> list[float | None]:
    tag, body = bytes(data[:2]), bytes(data[2:])
    values = np.frombuffer(body, dtype="<f4" if tag == b"c4" else "<f8").astype(np.float64)
    return [None if np.isnan(v) else float(v) for v in values]


def _convert(source: sa.Column, target: sa.Column, how: Callable[[Any], Any]) -> None:
    conn = op.get_bind()
    results = sa.table("results", sa.column("trial_id", sa.BigInteger()), source, target)
    change = (results.update().where(results.c.trial_id == sa.bindparam("tid"))
              .values({target.name: sa.bindparam("value")}))
    last = -1
    while True:
        rows = conn.execute(sa.select(results.c.trial_id, results.c[source.name])
                            .where(results.c.trial_id > last).order_by(results.c.trial_id)
                            .limit(CHUNK)).fetchall()
        if not rows:
            return
        conn.execute(change, [{"tid": tid, "value": how(value)} for tid, value in rows])
        last = rows[-1][0]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def upgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("curve_packed", sa.LargeBinary(), nullable=True))
    _convert(sa.column("curve", sa.JSON()), sa.column("curve_packed", sa.LargeBinary()),
             lambda value: _pack(_json(value)))
    with op.batch_alter_table("results") as batch:
        batch.drop_column("curve")
        batch.alter_column("curve_packed", new_column_name="curve", nullable=False,
                           existing_type=sa.LargeBinary())


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("curve_json", sa.JSON(), nullable=True))
    _convert(sa.column("curve", sa.LargeBinary()), sa.column("curve_json", sa.JSON()),
             lambda value: _unpack(value))
    with op.batch_alter_table("results") as batch:
        batch.drop_column("curve")
        batch.alter_column("curve_json", new_column_name="curve", nullable=False,
                           existing_type=sa.JSON())
