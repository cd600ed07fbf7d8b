"""Uploaded data sets (issue 17): `dataset_blobs` holds each data set's canonical bytes once
per sha256, `datasets` one row per owner and blob (names, classes), unique per (owner, sha256).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dataset_blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("n_features", sa.Integer(), nullable=False),
        sa.Column("n_classes", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_dataset_blobs")),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("classes", sa.JSON(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_datasets_owner_id_users")),
        sa.ForeignKeyConstraint(["sha256"], ["dataset_blobs.sha256"],
                                name=op.f("fk_datasets_sha256_dataset_blobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("owner_id", "sha256", name=op.f("uq_datasets_owner_id_sha256")),
    )
    op.create_index(op.f("ix_datasets_owner_id"), "datasets", ["owner_id"])
    op.create_index(op.f("ix_datasets_sha256"), "datasets", ["sha256"])


def downgrade() -> None:
    op.drop_index(op.f("ix_datasets_sha256"), table_name="datasets")
    op.drop_index(op.f("ix_datasets_owner_id"), table_name="datasets")
    op.drop_table("datasets")
    op.drop_table("dataset_blobs")
