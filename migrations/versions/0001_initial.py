"""The initial schema: users, API tokens, sweeps, trials, results and the dispatcher lease.

Revision ID: 0001
Revises:
Create Date: 2025-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Timestamps are timezone-aware; ids of trials are 64-bit except on SQLite, whose rowid is
# already 64-bit and only auto-increments as a plain INTEGER PRIMARY KEY.
Stamp = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    _create_users_and_tokens()
    _create_sweeps()
    _create_trials()
    _create_results()
    op.create_table(
        "dispatcher_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_dispatcher_leases")),
    )


def downgrade() -> None:
    op.drop_table("dispatcher_leases")
    op.drop_table("results")
    op.drop_index(op.f("ix_trials_events"), table_name="trials")
    op.drop_index(op.f("ix_trials_lease"), table_name="trials")
    op.drop_index(op.f("ix_trials_claim"), table_name="trials")
    op.drop_table("trials")
    op.drop_index(op.f("ix_sweeps_state"), table_name="sweeps")
    op.drop_index(op.f("ix_sweeps_owner_id"), table_name="sweeps")
    op.drop_table("sweeps")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")


def _create_users_and_tokens() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("revoked_at", Stamp, nullable=True),
        sa.Column("last_used_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"])


def _create_sweeps() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("n_trials", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("finished_at", Stamp, nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("body_hash", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"],
                                name=op.f("fk_sweeps_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweeps")),
        sa.UniqueConstraint("owner_id", "idempotency_key",
                            name=op.f("uq_sweeps_owner_id_idempotency_key")),
    )
    op.create_index(op.f("ix_sweeps_owner_id"), "sweeps", ["owner_id"])
    op.create_index(op.f("ix_sweeps_state"), "sweeps", ["state"])


def _create_trials() -> None:
    op.create_table(
        "trials",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("sweep_id", sa.Integer(), nullable=False),
        sa.Column("cell_key", sa.String(64), nullable=False),
        sa.Column("batch_key", sa.String(64), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("initializer", sa.JSON(), nullable=False),
        sa.Column("initializer_label", sa.String(255), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("isolate", sa.Boolean(), nullable=False),
        sa.Column("holder", sa.String(255), nullable=True),
        sa.Column("lease_expires_at", Stamp, nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("node", sa.String(255), nullable=True),
        sa.Column("device", sa.String(64), nullable=True),
        sa.Column("started_at", Stamp, nullable=True),
        sa.Column("finished_at", Stamp, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["sweep_id"], ["sweeps.id"], ondelete="CASCADE",
                                name=op.f("fk_trials_sweep_id_sweeps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trials")),
        sa.UniqueConstraint("sweep_id", "cell_key", name=op.f("uq_trials_sweep_id_cell_key")),
    )
    op.create_index(op.f("ix_trials_claim"), "trials", ["state", "sweep_id", "id"])
    op.create_index(op.f("ix_trials_lease"), "trials", ["state", "lease_expires_at"])
    op.create_index(op.f("ix_trials_events"), "trials", ["sweep_id", "finished_at", "id"])


def _create_results() -> None:
    op.create_table(
        "results",
        sa.Column("trial_id", BigId, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("train_cost", sa.Float(), nullable=True),
        sa.Column("train_accuracy", sa.Float(), nullable=True),
        sa.Column("test_cost", sa.Float(), nullable=True),
        sa.Column("test_accuracy", sa.Float(), nullable=True),
        sa.Column("train_cost_tail", sa.Float(), nullable=True),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("diverged_step", sa.Integer(), nullable=True),
        sa.Column("wall_seconds", sa.Float(), nullable=False),
        sa.Column("curve_every", sa.Integer(), nullable=False),
        sa.Column("curve", sa.JSON(), nullable=False),
        sa.Column("final_weights", sa.LargeBinary(), nullable=False),
        sa.Column("final_sha256", sa.String(64), nullable=False),
        sa.Column("initial_weights", sa.LargeBinary(), nullable=True),
        sa.Column("initial_sha256", sa.String(64), nullable=True),
        sa.Column("environment", sa.JSON(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["trial_id"], ["trials.id"], ondelete="CASCADE",
                                name=op.f("fk_results_trial_id_trials")),
        sa.PrimaryKeyConstraint("trial_id", name=op.f("pk_results")),
    )
