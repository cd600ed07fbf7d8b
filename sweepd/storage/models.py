"""The SQL tables, as SQLAlchemy 2.x typed ORM classes (`SqlSweep`, `SqlTrial`, ...).

These rows never leave `sweepd.storage`: the store converts them into the plain records of
`sweepd.records`. The schema itself only changes through Alembic (`migrations/`); a test
checks that these classes and the migrated schema agree on both SQLite and PostgreSQL.

The invariants of docs/design.md live in the schema where a database can hold them: one trial per
grid cell (`UNIQUE(sweep_id, cell_key)`), one sweep per idempotency key and owner, one result per
trial (primary key `results.trial_id`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column
from sqlalchemy.types import TypeDecorator

from sweepd.storage.packed import pack_curve, unpack_curve

# Stable constraint names, so that Alembic emits the same names on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Trial ids may outgrow 32 bits on a long-lived PostgreSQL server; SQLite's rowid is already
# 64-bit and only auto-increments when the column is spelt exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, always handed back in UTC.

    PostgreSQL stores `timestamptz`; SQLite has no time zone type and returns naive values, so
    values are converted to UTC on the way in and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class PackedCurve(TypeDecorator[list]):
    """A cost curve stored as packed floats (`sweepd.storage.packed`), a list in Python."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: list | None, dialect: Dialect) -> bytes | None:
        return None if value is None else pack_curve(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> list | None:
        return None if value is None else unpack_curve(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), bytes: LargeBinary()}


class SqlUser(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class SqlApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    # sha256 hex of the raw token: the raw token is shown once and never stored (invariant 7).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class SqlWebSession(Base):
    """A web page session, or a one-time sign-in link not yet used (`kind`).

    The browser's cookie holds a random session id, never an API token; only its sha256 is
    stored, as for tokens. A session belongs to the token it was started with: revoking that
    token ends it too. `csrf_hash` is the sha256 of the page's per-session CSRF token.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"),
                                          index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "link" until used, then "session"
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SqlSweep(Base):
    __tablename__ = "sweeps"
    __table_args__ = (UniqueConstraint("owner_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    spec: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16), index=True)
    n_trials: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    # Why an adaptive sweep stopped adding seeds (sweepd.analysis.sequential.STOP_REASONS).
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    # Trials per state, moved with every state change (sweepd.storage.counters; 0006).
    n_pending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    n_running: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    n_completed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    n_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    n_cancelled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SqlSweepGrowth(Base):
    """One growth of a sweep: seeds a user added (`source` "request", under an optional
    Idempotency-Key) or a block the adaptive rule added ("adaptive", with the decision state
    that asked for it, or the final one with `n_trials` 0)."""

    __tablename__ = "sweep_growths"
    __table_args__ = (UniqueConstraint("sweep_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweeps.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    added: Mapped[dict[str, Any]]  # {"seeds": [...]} or, adaptive, {"arms": {label: [...]}}
    n_trials: Mapped[int] = mapped_column(Integer)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class SqlTrial(Base):
    __tablename__ = "trials"
    __table_args__ = (
        UniqueConstraint("sweep_id", "cell_key"),
        # The claim scans pending trials in FIFO order (sweep id, trial id).
        Index("ix_trials_claim", "state", "sweep_id", "id"),
        # The reaper looks for running trials whose lease has expired.
        Index("ix_trials_lease", "state", "lease_expires_at"),
        # Server-sent events follow finished trials by (finished_at, id).
        Index("ix_trials_events", "sweep_id", "finished_at", "id"),
        # A sweep's trials in id order: trial pages (at offset 0 and by keyset) and the
        # comparison's reads seek here instead of sorting every trial of the sweep (0011).
        Index("ix_trials_sweep", "sweep_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweeps.id", ondelete="CASCADE"))
    cell_key: Mapped[str] = mapped_column(String(64))
    batch_key: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(BigInteger)
    # The data-order seed and the data draw (issue 16); null: the default (seed, dataset.seed).
    order_seed: Mapped[int | None] = mapped_column(BigInteger)
    data_seed: Mapped[int | None] = mapped_column(BigInteger)
    initializer: Mapped[dict[str, Any]]
    initializer_label: Mapped[str] = mapped_column(String(255))
    params: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    isolate: Mapped[bool] = mapped_column(Boolean, default=False)
    holder: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None]
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    node: Mapped[str | None] = mapped_column(String(255))
    device: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class SqlResult(Base):
    __tablename__ = "results"

    # The primary key is the trial: a second result for one trial cannot be stored (invariant 3).
    trial_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("trials.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    train_cost: Mapped[float | None] = mapped_column(Float)
    train_accuracy: Mapped[float | None] = mapped_column(Float)
    test_cost: Mapped[float | None] = mapped_column(Float)
    test_accuracy: Mapped[float | None] = mapped_column(Float)
    train_r2: Mapped[float | None] = mapped_column(Float)  # regression targets only (0008)
    test_r2: Mapped[float | None] = mapped_column(Float)
    train_cost_tail: Mapped[float | None] = mapped_column(Float)
    steps: Mapped[int] = mapped_column(Integer)
    diverged_step: Mapped[int | None] = mapped_column(Integer)
    wall_seconds: Mapped[float] = mapped_column(Float)
    curve_every: Mapped[int] = mapped_column(Integer)
    curve: Mapped[list[float | None]] = mapped_column(PackedCurve)  # bytes since 0009
    # The weights themselves live once per sha256 in `weight_blobs` (0010); `final_weights`
    # and `initial_weights` below read them from there.
    final_sha256: Mapped[str] = mapped_column(String(64))
    initial_sha256: Mapped[str | None] = mapped_column(String(64))
    environment: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    tail: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # TailMetrics; None before 0002


class SqlWeightBlob(Base):
    """A weights file (safetensors) stored once by its sha256 (issue 19, item 4): degenerate
    initializers end in identical weights across seeds, and a rerun of the same cell too."""

    __tablename__ = "weight_blobs"
    # Keyed by the hash itself on SQLite (no rowid): the sha256 is stored once, not twice.
    __table_args__ = {"sqlite_with_rowid": False}

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


def _blob_of(digest: Any) -> Any:
    return (select(SqlWeightBlob.data).where(SqlWeightBlob.sha256 == digest)
            .correlate_except(SqlWeightBlob).scalar_subquery())


# Read-only, deferred (only the weights download, exports and the comparison read them): the
# row's weights from the blob table, so every reader keeps `SqlResult.final_weights`.
SqlResult.final_weights = column_property(_blob_of(SqlResult.final_sha256), deferred=True)
SqlResult.initial_weights = column_property(_blob_of(SqlResult.initial_sha256), deferred=True)


class SqlDispatcherLease(Base):
    """The one active dispatcher: a named lease with a holder and an expiry."""

    __tablename__ = "dispatcher_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime]


class SqlDatasetBlob(Base):
    """An uploaded data set's canonical bytes (`sweepd.uploaded`), stored once per sha256
    however many users uploaded the same data (issue 17)."""

    __tablename__ = "dataset_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    n_rows: Mapped[int] = mapped_column(Integer)
    n_features: Mapped[int] = mapped_column(Integer)
    n_classes: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    # Read by the dispatcher only: keep the rows out of every listing.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime]


class SqlDataset(Base):
    """One user's data set: a name and column and class names over a shared blob."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("owner_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("dataset_blobs.sha256"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(255))
    columns: Mapped[dict[str, Any]]  # {"features": [...]}
    classes: Mapped[dict[str, Any]]  # {"names": [...], "counts": [...]}
    created_at: Mapped[datetime]
