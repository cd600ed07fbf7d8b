"""The public request and response models of the REST API, shared by the service and the SDK.

These are the transport's contract, not the tables: the API converts the store's records into
them explicitly (`sweepd_api.convert`), and the SDK validates what it receives with the same classes.
They are strict (`extra="forbid"`, explicit bounds) and import only pydantic, the standard
library and sweepd's light contract modules, so `import sweepd` stays free of server
dependencies.

    SweepCreate   = SweepSpec, the request body of POST /api/v1/sweeps
    SweepPublic   a sweep: state, counts per trial state, progress, spec, timestamps
    SweepsPublic  a page of sweeps
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
    model_config = ConfigDict(extra="forbid", frozen=True)


class SweepPublic(_Public):
    """A sweep as the API shows it."""

    id: int
    name: str
    state: SweepState
    n_trials: NonNegative
    counts: dict[str, NonNegative]  # trials per state; every state is present
    progress: Share
    spec: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    idempotency_key: str | None = None


class _Page(_Public):
    total: NonNegative
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]
    offset: NonNegative


class SweepsPublic(_Page):
    """One page of the caller's sweeps, newest first, with the total count."""

    items: list[SweepPublic]


class ResultPublic(ResultFields):
    """What a completed trial produced. Costs and accuracies are null when not finite."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    created_at: datetime


class TrialPublic(_Public):
    """One grid cell of a sweep: what it trains, where it ran, and its result."""

    id: int
    sweep_id: int
    cell_key: str
    seed: NonNegative
    initializer: dict[str, Any]
    initializer_label: str
    params: dict[str, Any]
    state: TrialState
    attempt: NonNegative
    max_attempts: Annotated[int, Field(ge=1)]
    progress: Share
    node: str | None = None
    device: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    result: ResultPublic | None = None

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


class WeightsJson(BaseModel):
    """A trial's weights as `{tensor name: nested lists, "sha256": hex digest of the file}`.

    The tensor names follow `sweepd.weights`: `layers.{i}.kernel` (fan_in × fan_out) and
    `layers.{i}.bias`. The digest is that of the safetensors file the lists were read from.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    __pydantic_extra__: dict[str, WeightValues] = Field(init=False)  # type: ignore[assignment]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]

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
    state: SweepState
    n_trials: NonNegative
    counts: dict[str, NonNegative]
    progress: Share


class ProblemItem(_Public):
    """One validation error: where (`loc`, e.g. `["body", "training", "learning_rate"]`) and what."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(_Public):
    """An RFC 9457 problem-details body, the shape of every error response."""

    type: str = "about:blank"
    title: str
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str = ""
    instance: str | None = None
    request_id: str | None = None
    errors: list[ProblemItem] = Field(default_factory=list)


class Readiness(_Public):
    """The answer of /readyz: ready only when the database and every component answer."""

    status: Literal["ready", "unavailable"]
    checks: dict[str, Any]


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
