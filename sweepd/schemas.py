"""The public request and response models of the REST API, shared by the service and the SDK.

These are the transport's contract, not the tables: the API converts the store's records into
them explicitly (`sweepd_api.convert`), and the SDK validates what it receives with the same classes.
They are strict (`extra="forbid"`, explicit bounds) and import only pydantic, the standard
library and sweepd's light contract modules, so `import sweepd` stays free of server
dependencies.

    SweepCreate   = SweepSpec, the request body of POST /api/v1/sweeps
    SweepPublic   a sweep: state, counts per trial state, progress, spec, timestamps
    SweepsPublic  a page of sweeps
    SeedsAdd      the request body of POST /api/v1/sweeps/{id}/seeds
    GrowthPublic  one growth of a sweep (seeds added by a request or by the adaptive rule)
    TrialPublic   a trial, with its ResultPublic once it has one
    TrialsPublic  a page of trials
    WeightsJson   a trial's weights as nested lists (`?format=json`)
    SweepProgress the data of a `progress` server-sent event
    Problem       an RFC 9457 problem-details body (every error response)
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sweepd.results import ResultFields
from sweepd.spec import SweepSpec
from sweepd.spec_seeds import MAX_SEEDS, Seed
from sweepd.states import SweepState, TrialState

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_IDEMPOTENCY_KEY = 255

SweepCreate = SweepSpec  # the request body is the spec itself, validated completely

NonNegative = Annotated[int, Field(ge=0)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
# A non-finite weight (a diverged trial) has no JSON spelling: it is sent as null.
WeightValues = list[float | None] | list[list[float | None]]
_TENSOR_NAME = re.compile(r"^layers\.\d+\.(kernel|bias)$")


class _Public(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class SweepPublic(_Public):
    """A sweep as the API shows it."""

    id: int
    """The sweep's id, unique in this service."""
    name: str
    """The name given in the spec (not unique: `GET /api/v1/sweeps?name=` lists every sweep of that
    name)."""
    state: SweepState
    """pending (nothing started), running, paused (no new trial starts until resumed),
    completed, failed (some trials failed for good) or cancelled."""
    n_trials: NonNegative
    """Trials in the sweep: seeds × initializers × grid points when submitted; more once seeds
    are added (`POST /sweeps/{id}/seeds`, or an adaptive sweep's blocks)."""
    counts: dict[str, NonNegative]
    """Trials per state; every trial state is present, zeros included."""
    progress: Share
    """Share of the sweep's training steps done, 0–1, counting running trials' steps."""
    spec: dict[str, Any]
    """The spec as stored, after validation and defaults (the initializer shorthand expanded)."""
    created_at: datetime
    """When the sweep was submitted (UTC)."""
    updated_at: datetime
    """When the sweep's state or counts last changed (UTC)."""
    finished_at: datetime | None = None
    """When the sweep reached a final state (UTC); null before."""
    idempotency_key: str | None = None
    """The `Idempotency-Key` header it was submitted with, if any: resubmitting with the same key
    returns this sweep."""
    stop_reason: Literal["decided", "equivalent", "max_seeds"] | None = None
    """Why an adaptive sweep stopped adding seeds: every pair that matters decided (`decided`),
    every one practically equivalent (`equivalent`), or the cap reached (`max_seeds`); null
    while it still may add seeds, and for every other sweep."""


class SeedsAdd(_Public):
    """Seeds to add to a sweep: `count` (the next unused ones) or `seeds` (these), not both."""

    count: Annotated[int, Field(ge=1, le=MAX_SEEDS)] | None = None
    """How many seeds to add: the ones after the sweep's largest seed, in order."""
    seeds: Annotated[list[Seed], Field(min_length=1, max_length=MAX_SEEDS)] | None = None
    """These seeds, none of them in the sweep already, each in [0, 2**63)."""
    initializers: Annotated[list[Annotated[str, Field(min_length=1, max_length=255)]],
                            Field(min_length=1, max_length=100)] | None = None
    """Only these initializers (by label) get the seeds; unset: every initializer of the
    sweep. The verdict's command leaves out the initializers that fail."""

    @model_validator(mode="after")
    def _one_of(self) -> SeedsAdd:
        if (self.count is None) == (self.seeds is None):
            raise ValueError("give either count or seeds")
        if self.seeds is not None and len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be unique")
        if self.initializers is not None and len(set(self.initializers)) != len(
                self.initializers):
            raise ValueError("initializers must be unique")
        return self


class GrowthPublic(_Public):
    """One growth of a sweep: seeds its owner added, or a block of the adaptive rule (with the
    decision state that asked for it; the rule's last row, with no trials, says why it
    stopped)."""

    id: int
    """The growth's id."""
    sweep_id: int
    """The sweep that grew."""
    source: Literal["request", "adaptive"]
    """Who added the seeds: a request (`POST /sweeps/{id}/seeds`) or the adaptive rule."""
    seeds: list[int]
    """The seeds added."""
    initializers: list[str] | None
    """The initializers that got them; null: every initializer."""
    n_trials: NonNegative
    """Trials added."""
    decision: dict[str, Any] | None
    """The adaptive rule's state at this look: per grid point the best initializer and, for
    each pair, its state (winner, equivalent, undecided, max_seeds) and confidence bounds."""
    created_at: datetime
    """When the seeds were added (UTC)."""
    idempotency_key: str | None = None
    """The `Idempotency-Key` of the request, if any."""


class SeedsAdded(_Public):
    """The answer to adding seeds: the grown sweep and the growth."""

    sweep: SweepPublic
    """The sweep after it grew (running again if it had finished)."""
    growth: GrowthPublic
    """What was added."""


class GrowthsPublic(_Public):
    """Every growth of a sweep, oldest first."""

    items: list[GrowthPublic]
    """The growths, oldest first."""


class _Page(_Public):
    total: NonNegative
    """Items matching the filters, over all pages."""
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]
    """Page size asked for (at most 1000)."""
    offset: NonNegative
    """Items skipped before this page."""


class SweepsPublic(_Page):
    """One page of the caller's sweeps, newest first, with the total count."""

    items: list[SweepPublic]
    """This page's sweeps, newest first."""


class ResultPublic(ResultFields):
    """What a completed trial produced. Costs and accuracies are null when not finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    created_at: datetime
    """When the result was stored (UTC)."""


class TrialPublic(_Public):
    """One grid cell of a sweep: what it trains, where it ran, and its result."""

    id: int
    """The trial's id, unique in this service."""
    sweep_id: int
    """The sweep the trial belongs to."""
    cell_key: str
    """Stable key of the grid cell (seed, initializer, grid values): the same in every sweep with
    the same cell."""
    seed: NonNegative
    """The seed that draws the initial weights (and the batch order, without order_seeds)."""
    order_seed: NonNegative | None = None
    """The seed of the minibatch order, where the sweep gives order_seeds and it is not `seed`;
    null: `seed` draws the order."""
    data_seed: NonNegative | None = None
    """The data draw (a generated set's seed, a fixed set's stratified split), where the sweep
    gives data_seeds and it is not dataset.seed; null: dataset.seed."""
    initializer: dict[str, Any]
    """The kernel initializer, as an object with its parameters, e.g. {"name": "glorot_uniform"}."""
    initializer_label: str
    """The initializer in words, with non-default parameters, e.g. `random_normal(stddev=0.01)`."""
    params: dict[str, Any]
    """This trial's grid values, by dotted spec path, e.g. {"training.learning_rate": 0.1}; empty
    without a grid."""
    state: TrialState
    """pending, leased (claimed by the dispatcher), running, completed, failed or cancelled."""
    attempt: NonNegative
    """Attempts started so far (a trial is retried after a worker failure)."""
    max_attempts: Annotated[int, Field(ge=1)]
    """Attempts allowed before the trial fails for good."""
    progress: Share
    """Share of the trial's steps done, 0–1."""
    node: str | None = None
    """The Ray node that ran the last attempt."""
    device: str | None = None
    """The device it trained on, e.g. `cpu` or `cuda:0`."""
    started_at: datetime | None = None
    """When the last attempt started (UTC)."""
    finished_at: datetime | None = None
    """When the trial reached a final state (UTC)."""
    error: str | None = None
    """Why the trial failed, when it did."""
    result: ResultPublic | None = None
    """What the trial produced; null until it completes."""

    def history(self) -> Any:
        """The training-cost curve as a pandas DataFrame with columns `step`, `train_cost`
        (as Ray Tune's `result.metrics_dataframe`); empty before the trial has a result.

        Raises:
            ImportError: pandas is not installed (`pip install 'sweepd[pandas]'`).
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("history() needs pandas: pip install 'sweepd[pandas]'") from None
        if self.result is None:
            return pd.DataFrame({"step": [], "train_cost": []})
        r = self.result
        steps = [i * r.curve_every for i in range(len(r.curve) - 1)] + [r.steps]
        return pd.DataFrame({"step": steps[:len(r.curve)], "train_cost": r.curve})


class TrialsPublic(_Page):
    """One page of a sweep's trials, in id order, with the total matching the filters."""

    items: list[TrialPublic]
    """This page's trials, in id order."""
    next_after: int | None = None
    """Pass as `after` for the next page (keyset paging: as fast at any depth and stable while
    trials change state); null on the last page."""


class WeightsJson(BaseModel):
    """A trial's weights as `{tensor name: nested lists, "sha256": hex digest of the file}`.

    The tensor names follow `sweepd.weights`: `layers.{i}.kernel` (fan_in × fan_out) and
    `layers.{i}.bias`. The digest is that of the safetensors file the lists were read from.
    """

    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)

    __pydantic_extra__: dict[str, WeightValues] = Field(init=False)  # type: ignore[assignment]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    """Hex SHA-256 of the safetensors file the tensors were read from."""

    @model_validator(mode="after")
    def _tensor_names(self) -> WeightsJson:
        wrong = [k for k in self.__pydantic_extra__ or {} if not _TENSOR_NAME.match(k)]
        if wrong:
            raise ValueError(f"not a tensor name: {wrong[0][:80]!r}")
        return self

    @property
    def tensors(self) -> dict[str, WeightValues]:
        return dict(self.__pydantic_extra__ or {})


class SweepProgress(_Public):
    """The data of a `progress` event on a sweep's event stream."""

    sweep_id: int
    """The sweep the event is about."""
    state: SweepState
    """The sweep's state (pending, running, paused, completed, failed or cancelled)."""
    n_trials: NonNegative
    """Trials in the grid."""
    counts: dict[str, NonNegative]
    """Trials per state; every state is present."""
    progress: Share
    """Share of the sweep's training steps done, 0–1."""


class ProblemItem(_Public):
    """One validation error: where (`loc`, e.g. `["body", "training", "learning_rate"]`) and what."""

    loc: list[str | int]
    """Where the error is: path of keys and list indices into the request, e.g. ["body",
    "training", "steps"]."""
    msg: str
    """What is wrong, in words."""
    type: str
    """A machine-readable error kind, e.g. `missing` or `greater_than_equal`."""


class Problem(_Public):
    """An RFC 9457 problem-details body, the shape of every error response."""

    type: str = "about:blank"
    """A URI naming the problem kind; `about:blank` when the status says it all."""
    title: str
    """The status in words, e.g. `Unprocessable Content`."""
    status: Annotated[int, Field(ge=400, le=599)]
    """The HTTP status code."""
    detail: str = ""
    """What went wrong in this request, in a sentence a person can act on."""
    instance: str | None = None
    """The request path."""
    request_id: str | None = None
    """The request's `X-Request-ID`, to find it in the service's logs."""
    errors: list[ProblemItem] = Field(default_factory=list)
    """Every invalid field, for validation errors (422)."""


class Readiness(_Public):
    """The answer of /readyz: ready only when the database and every component answer."""

    status: Literal["ready", "unavailable"]
    """`ready` when the database and every component answer, else `unavailable` (with status 503)."""
    checks: dict[str, Any]
    """Per component (database, dispatcher, ray): its state and details."""


__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_IDEMPOTENCY_KEY",
    "MAX_PAGE_SIZE",
    "Problem",
    "ProblemItem",
    "Readiness",
    "ResultPublic",
    "SweepCreate",
    "SweepProgress",
    "SweepPublic",
    "SweepsPublic",
    "TrialPublic",
    "TrialsPublic",
    "WeightsJson",
]
