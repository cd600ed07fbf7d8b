"""The domain's read model: plain records the store returns and the use cases, the API and the
workers read. ORM rows never leave `sweepd.storage`; these do."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sweepd.results import ResultFields, TrialResult
from sweepd.spec import TrialSpec
from sweepd.states import SweepState, TrialState


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class UserRecord(_Record):
    id: int
    name: str
    is_admin: bool
    created_at: datetime


class TokenRecord(_Record):
    id: int
    user_id: int
    name: str
    prefix: str  # the first characters of the raw token, for display; never the whole token
    created_at: datetime
    revoked_at: datetime | None = None


class SweepRecord(_Record):
    id: int
    owner_id: int
    name: str
    spec: dict[str, Any]
    state: SweepState
    n_trials: int
    counts: dict[str, int]  # trials per state, every state present
    progress: float  # share of trials in a final state, with running trials' partial progress
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    idempotency_key: str | None = None
    stop_reason: str | None = None  # why an adaptive sweep stopped adding seeds


class GrowthRecord(_Record):
    """One growth of a sweep: seeds a user added, or a block of the adaptive rule."""

    id: int
    sweep_id: int
    source: str  # "request" or "adaptive"
    seeds: list[int]  # the seeds added (to `initializers`, or per arm for a block)
    initializers: list[str] | None  # the labels that got them; None: every initializer
    n_trials: int
    decision: dict[str, Any] | None  # the adaptive rule's state that asked for this block
    created_at: datetime
    idempotency_key: str | None = None


class ResultRecord(ResultFields):
    """A stored result without its weights (they are read only when asked for)."""

    model_config = ConfigDict(frozen=True, extra="ignore", from_attributes=True)

    created_at: datetime


class TrialRecord(_Record):
    id: int
    sweep_id: int
    cell_key: str
    seed: int
    initializer: dict[str, Any]
    initializer_label: str
    order_seed: int | None = None  # None: the seed (issue 16)
    data_seed: int | None = None  # None: the spec's dataset.seed
    params: dict[str, Any]
    state: TrialState
    attempt: int
    max_attempts: int
    progress: float
    node: str | None = None
    device: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    result: ResultRecord | None = None


class ClaimedTrial(_Record):
    trial_id: int
    attempt: int
    spec: TrialSpec


class ClaimedBatch(_Record):
    """Trials of one sweep that share dataset, architecture and training config."""

    sweep_id: int
    batch_key: str
    trials: list[ClaimedTrial]


class ResultItem(_Record):
    """A result as the dispatcher hands it to the store, with the fencing token (attempt)."""

    trial_id: int
    attempt: int
    result: TrialResult
    node: str
    device: str


class Fenced(_Record):
    """Which results were accepted, and which were refused because the claim was stale."""

    accepted: list[int] = Field(default_factory=list)
    rejected: list[int] = Field(default_factory=list)


class DatasetRecord(_Record):
    """An uploaded data set of one owner (the rows themselves stay in the store)."""

    id: int
    owner_id: int
    sha256: str
    name: str
    format: str
    target: str | None
    feature_names: list[str]
    class_names: list[str]
    class_counts: list[int]
    n_rows: int
    n_features: int
    n_classes: int
    size_bytes: int
    created_at: datetime

    @property
    def task(self) -> str:
        """classification, or regression (a numeric target: stored with 0 classes)."""
        return "regression" if self.n_classes == 0 else "classification"
