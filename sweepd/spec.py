"""The sweep specification: what users write, validated completely before anything is stored.

A `SweepSpec` names a dataset, an architecture, a training configuration, a set of seeds, a set of
kernel initializers and optional extra grid axes. `SweepSpec.trials()` expands it into one
`TrialSpec` per (seed, initializer, grid point) cell; each cell has a `cell_key` that depends only
on what the cell trains, so the same spec gives the same keys in any process.

Every model here is strict: unknown fields are rejected, numbers are bounded and NaN/inf refused.
This module imports neither torch nor any server dependency, so the light client can use it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sweepd import batching
from sweepd.spec_base import _Strict
from sweepd.spec_initializers import (  # noqa: F401  (re-exported: they are part of the spec)
    INITIALIZER_NAMES,
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Identity,
    Initializer,
    InitializerInput,
    LecunNormal,
    LecunUniform,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TorchDefault,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
    _name_to_mapping,
    initializer_label,
)

MAX_TRIALS_DEFAULT = 100_000
SEED_LIMIT = 2**63  # seeds are non-negative signed 64-bit integers
MAX_SEEDS = 100_000

SafeName = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
]


# ---------------------------------------------------------------------------------------------
# Dataset, model, training, seeds, storage options.
# ---------------------------------------------------------------------------------------------

GENERATED_DATASETS = ("moons", "circles", "blobs", "xor", "spiral", "flower")
BUILTIN_DATASETS = ("iris", "wine", "breast_cancer", "digits")
DatasetName = Literal[
    "moons", "circles", "blobs", "xor", "spiral", "flower", "iris", "wine", "breast_cancer",
    "digits",
]


class DatasetSpec(_Strict):
    """A dataset: generated from `seed`, or one that ships inside scikit-learn.

    `n_samples`, `noise`, `n_classes` and `factor` apply to generated datasets only; leaving
    them unset takes each generator's default. The split into train and test is drawn from
    `seed` too, so every trial of a sweep sees the same data.
    """

    name: DatasetName
    n_samples: int | None = Field(None, ge=4, le=1_000_000)
    noise: float | None = Field(None, ge=0, le=10)
    n_classes: int | None = Field(None, ge=2, le=10)
    factor: float | None = Field(None, gt=0, lt=1)
    test_fraction: float = Field(0.2, ge=0, lt=1)
    seed: int = Field(0, ge=0, lt=2**32)
    standardize: bool = False

    @model_validator(mode="after")
    def _generator_options(self) -> DatasetSpec:
        if self.name in BUILTIN_DATASETS:
            given = [f for f in ("n_samples", "noise", "n_classes", "factor")
                     if getattr(self, f) is not None]
            if given:
                raise ValueError(f"{', '.join(given)} apply to generated datasets only, "
                                 f"not to the fixed dataset {self.name!r}")
        if self.n_classes is not None and self.name not in ("blobs", "spiral"):
            raise ValueError("n_classes applies to blobs and spiral only")
        if self.factor is not None and self.name != "circles":
            raise ValueError("factor applies to circles only")
        return self


Activation = Literal["tanh", "relu", "leaky_relu", "sigmoid", "gelu", "linear"]


class ModelSpec(_Strict):
    """An MLP: hidden widths, their activation, and the output layer.

    `output: auto` is sigmoid with one output unit for two classes, softmax otherwise.
    """

    hidden: list[Annotated[int, Field(ge=1, le=4096)]] = Field(
        default_factory=lambda: [4], min_length=1, max_length=16
    )
    activation: Activation = "tanh"
    output: Literal["auto", "sigmoid", "softmax"] = "auto"


class TrainingSpec(_Strict):
    """How every trial is trained.

    `gd` is full-batch gradient descent; `sgd`, `momentum` and `adam` draw minibatches of
    `batch_size` (full batch when unset) from each trial's own data-order stream. Give `steps`
    or `epochs`, not both.
    """

    optimizer: Literal["gd", "sgd", "momentum", "adam"] = "gd"
    learning_rate: float = Field(0.1, gt=0, le=1e3)
    steps: int | None = Field(None, ge=0, le=10_000_000)
    epochs: int | None = Field(None, ge=1, le=1_000_000)
    batch_size: int | None = Field(None, ge=1, le=1_000_000)
    loss: Literal["auto", "bce", "ce", "mse"] = "auto"
    momentum: float = Field(0.9, ge=0, lt=1)
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    eps: float = Field(1e-8, gt=0, le=1)
    l2: float = Field(0.0, ge=0, le=1e3)
    dtype: Literal["float32", "float64"] = "float32"

    @model_validator(mode="after")
    def _length(self) -> TrainingSpec:
        if self.steps is not None and self.epochs is not None:
            raise ValueError("give steps or epochs, not both")
        if self.optimizer == "gd" and self.batch_size is not None:
            raise ValueError("gd is full-batch gradient descent: use sgd, momentum or adam "
                             "for minibatches")
        return self


class SeedRange(_Strict):
    start: int = Field(0, ge=0, lt=SEED_LIMIT)
    count: int = Field(..., ge=1, le=MAX_SEEDS)

    @model_validator(mode="after")
    def _in_range(self) -> SeedRange:
        if self.start + self.count > SEED_LIMIT:
            raise ValueError(f"seeds must stay below 2**63 (start + count ≤ {SEED_LIMIT})")
        return self

    def values(self) -> list[int]:
        return list(range(self.start, self.start + self.count))


Seed = Annotated[int, Field(ge=0, lt=SEED_LIMIT)]


def _seeds_kind(value: Any) -> str:
    return "range" if isinstance(value, (dict, SeedRange)) else "list"


class StoreSpec(_Strict):
    initial_weights: bool = True
    curve_every: int = Field(100, ge=1, le=10_000_000)


GridValue = Union[bool, int, float, str, list[int]]
GRID_SECTIONS = {"dataset": DatasetSpec, "model": ModelSpec, "training": TrainingSpec}
MAX_GRID_VALUES = 1_000


# ---------------------------------------------------------------------------------------------
# The sweep and its cells.
# ---------------------------------------------------------------------------------------------


class TrialSpec(_Strict):
    """One cell of a sweep: everything a worker needs to train it, and nothing else."""

    cell_key: str
    batch_key: str
    seed: int
    initializer: Initializer
    bias_initializer: Initializer | None = None
    params: dict[str, GridValue] = Field(default_factory=dict)
    dataset: DatasetSpec
    model: ModelSpec
    training: TrainingSpec
    store: StoreSpec = Field(default_factory=StoreSpec)

    @property
    def initializer_label(self) -> str:
        return initializer_label(self.initializer)


class SweepSpec(_Strict):
    """A seed × initializer (× grid) sweep. See the README for an annotated example."""

    name: SafeName
    description: str = Field("", max_length=10_000, pattern=r"^[^\x00]*$")
    dataset: DatasetSpec
    model: ModelSpec = Field(default_factory=ModelSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    seeds: Annotated[
        Union[Annotated[SeedRange, Tag("range")],
              Annotated[list[Seed], Field(min_length=1, max_length=MAX_SEEDS), Tag("list")]],
        Discriminator(_seeds_kind),
    ]
    initializers: list[InitializerInput] = Field(min_length=1, max_length=100)
    bias_initializer: InitializerInput | None = None
    grid: dict[str, Annotated[list[GridValue], Field(min_length=1, max_length=MAX_GRID_VALUES)]] = (
        Field(default_factory=dict, max_length=8)
    )
    store: StoreSpec = Field(default_factory=StoreSpec)
    max_attempts: int = Field(3, ge=1, le=20)

    @field_validator("bias_initializer")
    @classmethod
    def _bias_is_one_dimensional(cls, value: Any) -> Any:
        if value is not None and value.name in ("orthogonal", "identity"):
            raise ValueError(f"{value.name} needs a 2-D kernel and cannot initialize a bias")
        return value

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, value: Any) -> Any:
        if isinstance(value, list) and len(set(value)) != len(value):
            raise ValueError("seeds must be unique")
        return value

    @field_validator("initializers")
    @classmethod
    def _unique_initializers(cls, value: list[Any]) -> list[Any]:
        labels = [initializer_label(v) for v in value]
        repeated = sorted({x for x in labels if labels.count(x) > 1})
        if repeated:
            raise ValueError(f"initializers listed more than once: {', '.join(repeated)}")
        return value

    @field_validator("grid")
    @classmethod
    def _valid_grid(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for path, values in grid.items():
            section, _, field = path.partition(".")
            model = GRID_SECTIONS.get(section)
            if model is None or field not in model.model_fields or "." in field:
                allowed = ", ".join(sorted(
                    f"{s}.{f}" for s, m in GRID_SECTIONS.items() for f in m.model_fields))
                raise ValueError(f"unknown grid axis {path!r}; axes are any of: {allowed}")
            if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
                raise ValueError(f"grid axis {path!r} repeats a value")
        return grid

    @model_validator(mode="after")
    def _grid_points_and_size(self, info: ValidationInfo) -> SweepSpec:
        for path, values in self.grid.items():
            section, _, field = path.partition(".")
            base = getattr(self, section)
            for value in values:
                try:
                    _apply(base, {field: value})
                except ValidationError as exc:
                    first = exc.errors()[0]
                    raise ValueError(f"grid axis {path!r}: value {value!r} is invalid: "
                                     f"{first['msg']}") from None
        limit = (info.context or {}).get("max_trials", MAX_TRIALS_DEFAULT)
        if self.n_trials > limit:
            raise ValueError(
                f"this sweep expands to {self.n_trials} trials "
                f"({self.n_seeds} seeds × {len(self.initializers)} initializers × "
                f"{self.n_grid_points} grid points), over the limit of {limit}"
            )
        return self

    # -- size -----------------------------------------------------------------------------

    @property
    def seed_values(self) -> list[int]:
        return self.seeds.values() if isinstance(self.seeds, SeedRange) else list(self.seeds)

    @property
    def n_seeds(self) -> int:
        return self.seeds.count if isinstance(self.seeds, SeedRange) else len(self.seeds)

    @property
    def n_grid_points(self) -> int:
        return math.prod(len(v) for v in self.grid.values())

    @property
    def n_trials(self) -> int:
        return self.n_seeds * len(self.initializers) * self.n_grid_points

    # -- expansion ------------------------------------------------------------------------

    def grid_points(self) -> list[dict[str, Any]]:
        """Every grid point, in a fixed order (axes sorted by name)."""
        axes = sorted(self.grid)
        return [dict(zip(axes, combo)) for combo in itertools.product(*(self.grid[a] for a in axes))]

    def trials(self) -> list[TrialSpec]:
        """Expand into one `TrialSpec` per (grid point, seed, initializer) cell."""
        out: list[TrialSpec] = []
        for point in self.grid_points():
            sections = self._resolved_sections(point)
            batch_key = self._batch_key(sections)
            for seed in self.seed_values:
                for init in self.initializers:
                    out.append(self._cell(seed, init, point, sections, batch_key))
        return out

    def trial_for(self, seed: int, initializer: dict[str, Any] | BaseModel,
                  params: dict[str, Any]) -> TrialSpec:
        """Rebuild the `TrialSpec` of one stored cell (what a dispatcher sends to a worker)."""
        init = next((i for i in self.initializers if _dump(i) == _dump(initializer)), None)
        if init is None:
            raise ValueError(f"initializer {initializer!r} is not part of this sweep")
        sections = self._resolved_sections(params)
        return self._cell(seed, init, params, sections, self._batch_key(sections))

    def _batch_key(self, sections: dict[str, BaseModel]) -> str:
        return batching.batch_key({k: v.model_dump(mode="json") for k, v in sections.items()},
                                  self.store.model_dump(mode="json"),
                                  _dump(self.bias_initializer))

    def _resolved_sections(self, point: dict[str, Any]) -> dict[str, BaseModel]:
        sections: dict[str, BaseModel] = {s: getattr(self, s) for s in GRID_SECTIONS}
        for section in GRID_SECTIONS:
            changes = {p.partition(".")[2]: v for p, v in point.items()
                       if p.partition(".")[0] == section}
            if changes:
                sections[section] = _apply(sections[section], changes)
        return sections

    def _cell(self, seed: int, init: Any, point: dict[str, Any],
              sections: dict[str, BaseModel], batch_key: str) -> TrialSpec:
        key = cell_key(seed, init, point)
        return TrialSpec.model_construct(
            cell_key=key, batch_key=batch_key, seed=seed, initializer=init,
            bias_initializer=self.bias_initializer, params=dict(point),
            dataset=sections["dataset"], model=sections["model"],
            training=sections["training"], store=self.store,
        )

    # -- files ------------------------------------------------------------------------------

    @classmethod
    def from_yaml(cls, text: str, *, max_trials: int = MAX_TRIALS_DEFAULT) -> SweepSpec:
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ValueError("a sweep spec is a YAML mapping")
        return cls.model_validate(data, context={"max_trials": max_trials})

    @classmethod
    def from_file(cls, path: str | Path, *, max_trials: int = MAX_TRIALS_DEFAULT) -> SweepSpec:
        return cls.from_yaml(Path(path).read_text(encoding="utf-8"), max_trials=max_trials)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json", exclude_defaults=True),
                              sort_keys=False)


def _apply(model: BaseModel, changes: dict[str, Any]) -> BaseModel:
    """Re-validate `model` with some fields replaced (grid points go through full validation)."""
    data = model.model_dump(mode="json")
    data.update(changes)
    return type(model).model_validate(data)


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return value
    return value


def _digest(payload: Any) -> str:
    return _digest_hex(payload)[:32]


def _digest_hex(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def spec_hash(spec: SweepSpec) -> str:
    """sha256 of the canonical JSON of a validated spec: what an Idempotency-Key is bound to.

    Hashing the validated spec rather than the raw bytes makes key order, whitespace and the
    shorthand `"he_normal"` for `{"name": "he_normal"}` irrelevant to idempotency. Every
    submission path (the API, the store, the SDK's `SweepSpec`) uses this one function.
    """
    return _digest_hex(spec.model_dump(mode="json"))


def cell_key(seed: int, initializer: Any, params: dict[str, Any]) -> str:
    """The stable key of one grid cell: sha256 of its seed, full initializer and grid point."""
    init = initializer.model_dump(mode="json") if isinstance(initializer, BaseModel) else initializer
    return _digest({"seed": seed, "initializer": init, "params": params})


def resolved_steps(training: TrainingSpec, n_train: int) -> int:
    """Total optimisation steps: `steps`, or `epochs` × batches per epoch (1000 if neither)."""
    if training.steps is not None:
        return training.steps
    if training.epochs is None:
        return 1000
    batch = training.batch_size or n_train
    return training.epochs * max(1, math.ceil(n_train / batch))
