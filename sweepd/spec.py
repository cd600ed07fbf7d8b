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
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from sweepd import batching, models_registry
from sweepd.search_spec import Choices, SearchSpec
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
from sweepd.spec_seeds import (  # noqa: F401  (re-exported: they are part of the spec)
    MAX_SEEDS,
    SEED_LIMIT,
    AdaptiveRule,
    AdaptiveSeeds,
    DataSeeds,
    OrderSeeds,
    Seed,
    SeedRange,
    Seeds,
    factor_values,
)
from sweepd.spec_yaml import MAX_SPEC_BYTES, SpecYamlError, load_yaml

MAX_TRIALS_DEFAULT = 100_000
MAX_CURVE_POINTS = 10_000  # per trial, the final cost included (issue 14: 1e7 points was 5 GiB)

# The README's quick sweep, verbatim as examples/spec.json (a test keeps the two equal): the
# example of the spec's JSON schema, so of the OpenAPI document.
EXAMPLE: dict[str, Any] = {
    "name": "moons-quick",
    "dataset": {"name": "moons", "n_samples": 1000, "noise": 0.2, "test_fraction": 0.2, "seed": 0},
    "model": {"hidden": [4], "activation": "tanh", "output": "sigmoid"},
    "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": 2000, "loss": "bce"},
    "seeds": {"start": 0, "count": 8},
    "initializers": ["glorot_uniform", {"name": "random_normal", "stddev": 0.01}, "zeros"],
}

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
    "digits", "uploaded",
]
UPLOADED = "uploaded"  # a data set the user uploaded (POST /datasets), named by `id`
DatasetRef = Union[Annotated[int, Field(ge=1, lt=2**31)],
                   Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]]


class DatasetSpec(_Strict):
    """A dataset: generated from `seed`, or one that ships inside scikit-learn.

    `n_samples`, `noise`, `n_classes` and `factor` apply to generated datasets only; leaving
    them unset takes each generator's default. The split into train and test is drawn from
    `seed` too, so every trial of a sweep sees the same data.
    """

    name: DatasetName = Field(description="The dataset: generated (moons, circles, blobs, xor, "
                              "spiral, flower), from scikit-learn (iris, wine, breast_cancer, "
                              "digits), or `uploaded` (one of yours, named by `id`).")
    id: DatasetRef | None = Field(None, description=(
        "The uploaded data set (`name: uploaded` only): its id or its sha256. The stored "
        "sweep names it by sha256."))
    n_samples: int | None = Field(None, ge=4, le=1_000_000, description=(
        "Points to generate, train and test together, in [4, 1 000 000] (generated datasets "
        "only; unset: the generator's default, 300-1000)."))
    noise: float | None = Field(None, ge=0, le=10, description=(
        "Noise of the generator, in [0, 10] (blobs: the cluster standard deviation; generated "
        "datasets only)."))
    n_classes: int | None = Field(None, ge=2, le=10, description=(
        "Classes to generate, in [2, 10] (blobs and spiral only; unset: 3)."))
    factor: float | None = Field(None, gt=0, lt=1, description=(
        "Inner to outer circle radius, in (0, 1) (circles only; unset: 0.5)."))
    test_fraction: float = Field(0.2, ge=0, lt=1, description=(
        "Share of the points held out for testing, in [0, 1); 0: no test set."))
    seed: int = Field(0, ge=0, lt=2**32, description=(
        "Seed of the data and of the train/test split, in [0, 2**32); the same for every "
        "trial."))
    standardize: bool = Field(False, description=(
        "Scale features to mean 0 and standard deviation 1 with the training set's statistics."))

    @model_serializer(mode="wrap")
    def _without_unset_id(self, handler):  # type: ignore[no-untyped-def]
        # Built-in data sets dump as before `id` existed, so their specs keep their hashes.
        data = handler(self)
        if self.id is None and isinstance(data, dict):
            data.pop("id", None)
        return data

    @model_validator(mode="after")
    def _generator_options(self) -> DatasetSpec:
        if (self.name == UPLOADED) != (self.id is not None):
            raise ValueError("an uploaded dataset needs its id (or sha256), and only an "
                             "uploaded dataset takes one")
        if self.name in BUILTIN_DATASETS or self.name == UPLOADED:
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
PluginValue = Union[bool, int, float, str, list[Union[bool, int, float, str]]]


class ModelSpec(_Strict):
    """The model: the built-in MLP (hidden widths, their activation), or an installed model
    plugin with its params (issue 18); and the output layer.

    `output: auto` is sigmoid with one output unit for two classes, softmax otherwise.
    """

    hidden: list[Annotated[int, Field(ge=1, le=4096)]] = Field(
        default_factory=lambda: [4], min_length=1, max_length=16,
        description="Width of each hidden layer, input side first: 1 to 16 layers of 1 to 4096 "
                    "units.")
    activation: Activation = Field("tanh", description="Activation of every hidden layer.")
    output: Literal["auto", "sigmoid", "softmax", "linear"] = Field("auto", description=(
        "Output layer: sigmoid (one unit, two classes), softmax (one unit per class), linear "
        "(one unit, for an uploaded regression target) or auto (sigmoid for two classes, "
        "linear for a regression target, else softmax)."))
    plugin: str = Field(models_registry.MLP, pattern=r"^[A-Za-z0-9_.\-]{1,100}$", description=(
        "The model: an installed model plugin's name (GET /api/v1/models lists them); "
        "sweepd.mlp, the default, is the MLP of `hidden` and `activation`."))
    params: dict[str, PluginValue] = Field(default_factory=dict, max_length=64, description=(
        "The plugin's params, validated against its params model (not for sweepd.mlp, "
        "which takes `hidden` and `activation`); stored with every default filled in."))

    @model_serializer(mode="wrap")
    def _plugin_fields(self, handler):  # type: ignore[no-untyped-def]
        # The MLP dumps as before plugins existed (its specs keep their hashes and batch keys);
        # another plugin's dump leaves out the MLP's fields, which it does not take.
        data = handler(self)
        if isinstance(data, dict):
            if self.plugin == models_registry.MLP:
                data.pop("plugin", None)
                data.pop("params", None)
            else:
                data.pop("hidden", None)
                data.pop("activation", None)
        return data

    @model_validator(mode="after")
    def _plugin_params(self, info: ValidationInfo) -> ModelSpec:
        params = models_registry.checked_model(self.plugin, dict(self.params),
                                               self.model_fields_set,
                                               stored=bool((info.context or {}).get("stored")))
        object.__setattr__(self, "params", params)
        return self


class TrainingSpec(_Strict):
    """How every trial is trained.

    `gd` is full-batch gradient descent; `sgd`, `momentum` and `adam` draw minibatches of
    `batch_size` (full batch when unset) from each trial's own data-order stream. Give `steps`
    or `epochs`, not both.
    """

    optimizer: Literal["gd", "sgd", "momentum", "adam"] = Field("gd", description=(
        "gd: full-batch gradient descent; sgd, momentum (heavy ball) and adam: minibatches."))
    learning_rate: float = Field(0.1, gt=0, le=1e3, description="Step size, in (0, 1000].")
    steps: int | None = Field(None, ge=0, le=10_000_000, description=(
        "Optimisation steps per trial, in [0, 10 000 000] (unset, and no epochs: 1000)."))
    epochs: int | None = Field(None, ge=1, le=1_000_000, description=(
        "Passes over the training set, in [1, 1 000 000], instead of steps."))
    batch_size: int | None = Field(None, ge=1, le=1_000_000, description=(
        "Examples per minibatch, in [1, 1 000 000] (sgd, momentum, adam; unset: the whole "
        "training set)."))
    loss: Literal["auto", "bce", "ce", "mse"] = Field("auto", description=(
        "Data loss: bce (sigmoid), ce (softmax), mse, or auto (bce for sigmoid, ce for "
        "softmax)."))
    momentum: float = Field(0.9, ge=0, lt=1, description="Momentum coefficient, in [0, 1) "
                                                         "(momentum only).")
    beta1: float = Field(0.9, ge=0, lt=1, description="Adam's first-moment decay, in [0, 1).")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam's second-moment decay, in [0, 1).")
    eps: float = Field(1e-8, gt=0, le=1, description="Adam's denominator guard, in (0, 1].")
    l2: float = Field(0.0, ge=0, le=1e3, description=(
        "L2 penalty: l2·θ added to the gradient of every parameter (PyTorch's weight_decay), "
        "in [0, 1000]; 0: none."))
    dtype: Literal["float32", "float64"] = Field("float32", description=(
        "Floating-point precision of the parameters and the arithmetic."))

    @model_validator(mode="after")
    def _length(self) -> TrainingSpec:
        if self.steps is not None and self.epochs is not None:
            raise ValueError("give steps or epochs, not both")
        if self.optimizer == "gd" and self.batch_size is not None:
            raise ValueError("gd is full-batch gradient descent: use sgd, momentum or adam "
                             "for minibatches")
        return self


class StoreSpec(_Strict):
    """What each trial keeps besides its final weights and metrics."""

    initial_weights: bool = Field(True, description=(
        "Keep each trial's initial weights too (needed to compare movement from the start)."))
    curve_every: int = Field(100, ge=1, le=10_000_000, description=(
        "Record the training cost every this many steps, in [1, 10 000 000]. A curve keeps at "
        f"most {MAX_CURVE_POINTS} points, the final cost included: where steps / curve_every "
        f"would give more, the trial records every ceil(steps / {MAX_CURVE_POINTS - 1}) steps "
        "instead (evenly thinned; the result's curve_every says which)."))


GridValue = Union[bool, int, float, str, list[int]]
MAX_CHECKED_POINTS = 100_000  # grid points × search corners checked at submission
GRID_SECTIONS = {"dataset": DatasetSpec, "model": ModelSpec, "training": TrainingSpec}
MAX_GRID_VALUES = 1_000


# ---------------------------------------------------------------------------------------------
# The sweep and its cells.
# ---------------------------------------------------------------------------------------------


class TrialSpec(_Strict):
    """One cell of a sweep: everything a worker needs to train it, and nothing else."""

    cell_key: str = Field(description="Stable key of the cell: its seed, initializer and grid "
                                      "point.")
    batch_key: str = Field(description="Key shared by the trials that may train together.")
    seed: int = Field(description="The trial's seed (its init stream).")
    order_seed: int | None = Field(None, description=(
        "The seed of the minibatch order stream; unset: `seed` (a spec without order_seeds)."))
    data_seed: int | None = Field(None, description=(
        "The data draw (a generated set's seed, or a fixed set's train/test split); unset: "
        "`dataset.seed`."))
    initializer: Initializer = Field(description="The kernel initializer.")
    bias_initializer: Initializer | None = Field(None, description=(
        "The bias initializer; unset: zeros, or PyTorch's rule under a torch_default kernel."))
    params: dict[str, GridValue] = Field(default_factory=dict, description=(
        "The grid point: axis → value."))
    dataset: DatasetSpec = Field(description="The dataset, with the grid point applied.")
    model: ModelSpec = Field(description="The model, with the grid point applied.")
    training: TrainingSpec = Field(description="The training, with the grid point applied.")
    store: StoreSpec = Field(default_factory=StoreSpec, description="What the trial keeps.")

    @property
    def initializer_label(self) -> str:
        return initializer_label(self.initializer)


class SweepSpec(_Strict):
    """A seed × initializer (× grid) sweep. See the README for an annotated example."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    name: SafeName = Field(description="A name for people, 1-200 characters, no control "
                                       "characters; need not be unique.")
    description: str = Field("", max_length=10_000, pattern=r"^[^\x00]*$", description=(
        "Free text about the sweep, at most 10 000 characters."))
    dataset: DatasetSpec = Field(description="What every trial trains on.")
    model: ModelSpec = Field(default_factory=ModelSpec, description=(
        "The model every trial trains: the built-in MLP, or an installed model plugin."))
    training: TrainingSpec = Field(default_factory=TrainingSpec, description=(
        "How every trial is trained."))
    seeds: Seeds = Field(description=(
        "The seeds: {start, count}, a list of distinct integers in [0, 2**63) (at most "
        "100 000), or {adaptive: {initial, step, max, alpha}} to add blocks of seeds until the "
        "comparison is decided."))
    order_seeds: OrderSeeds | None = Field(None, description=(
        "Seeds of the minibatch order, crossed with `seeds`: {start, count} or a list of "
        "distinct integers in [0, 2**63); unset: each trial's order comes from its own seed "
        "(init and order move together)."))
    data_seeds: DataSeeds | None = Field(None, description=(
        "Draws of the data set, crossed with `seeds`: {start, count} or a list of distinct "
        "integers in [0, 2**32). A generated data set is generated from the draw (as "
        "dataset.seed would); a fixed one gets a stratified train/test split drawn from it. "
        "Unset: dataset.seed alone."))
    initializers: list[InitializerInput] = Field(min_length=1, max_length=100, description=(
        "Kernel initializers compared, 1 to 100, each an object or its name alone "
        "(\"glorot_uniform\")."))
    bias_initializer: InitializerInput | None = Field(None, description=(
        "Initializer of every bias (not orthogonal or identity); unset: zeros, as in Keras, "
        "or PyTorch's U(±1/√fan_in) under a torch_default kernel."))
    grid: dict[str, Annotated[list[GridValue], Field(min_length=1, max_length=MAX_GRID_VALUES)]] = (
        Field(default_factory=dict, max_length=8, description=(
            "Extra axes: up to 8 fields written section.field (e.g. training.learning_rate), "
            "each with 1 to 1000 distinct values; every combination is a grid point."))
    )
    search: SearchSpec | None = Field(None, description=(
        "A hyperparameter search beside (or instead of) the grid: `points` points sampled from "
        "`space` (random, tpe, cmaes or qmc), each trained over every seed × initializer."))
    store: StoreSpec = Field(default_factory=StoreSpec, description="What each trial keeps.")
    max_attempts: int = Field(3, ge=1, le=20, description=(
        "Tries per trial before it is marked failed, in [1, 20]."))

    @model_serializer(mode="wrap")
    def _without_unset_factors(self, handler):  # type: ignore[no-untyped-def]
        # A spec without order_seeds and data_seeds dumps as before they existed, so its hash
        # (the Idempotency-Key's binding) and its stored JSON are unchanged (issue 16).
        data = handler(self)
        if isinstance(data, dict):
            for name in ("order_seeds", "data_seeds"):
                if getattr(self, name) is None:
                    data.pop(name, None)
        return data

    @field_validator("bias_initializer")
    @classmethod
    def _bias_is_one_dimensional(cls, value: Any) -> Any:
        if value is not None and value.name in ("orthogonal", "identity"):
            raise ValueError(f"{value.name} needs a 2-D kernel and cannot initialize a bias")
        return value

    @field_validator("seeds", "order_seeds", "data_seeds")
    @classmethod
    def _unique_seeds(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, list) and len(set(value)) != len(value):
            raise ValueError(f"{info.field_name} must be unique")
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
        for path in grid:
            section, _, field = path.partition(".")
            model = GRID_SECTIONS.get(section)
            if model is None or field not in model.model_fields or "." in field:
                allowed = ", ".join(sorted(
                    f"{s}.{f}" for s, m in GRID_SECTIONS.items() for f in m.model_fields))
                raise ValueError(f"unknown grid axis {path!r}; axes are any of: {allowed}")
        return grid

    @model_validator(mode="after")
    def _grid_points_and_size(self, info: ValidationInfo) -> SweepSpec:
        for path, values in self.grid.items():
            _check_axis(getattr(self, path.partition(".")[0]), path, values)
        if self.search is not None:
            object.__setattr__(self, "search", self._checked_search(self.search))
        if self.adaptive is not None:
            if self.search is not None:
                raise ValueError("adaptive seeds and a search cannot be combined: give the "
                                 "seeds as {start, count} or a list")
            if len(self.initializers) < 2:
                raise ValueError("adaptive seeds need at least two initializers to compare")
        self._check_factors()
        limit = (info.context or {}).get("max_trials", MAX_TRIALS_DEFAULT)
        if self.adaptive is not None and self.max_trials > limit:
            raise ValueError(
                f"this adaptive sweep can grow to {self.max_trials} trials ({self.adaptive.max} "
                f"seeds × {len(self.initializers)} initializers × {self.n_grid_points} grid "
                f"points), over the limit of {limit}")
        if self.n_trials > limit:
            raise ValueError(
                f"this sweep expands to {self.n_trials} trials "
                f"({self.n_seeds} seeds × "
                + (f"{self.n_order_seeds} order seeds × " if self.order_seeds else "")
                + (f"{self.n_data_seeds} data seeds × " if self.data_seeds else "")
                + f"{len(self.initializers)} initializers × {self.n_grid_points} grid points"
                + (f" × {self.search.points} search points" if self.search else "")
                + f"), over the limit of {limit}"
            )
        return self

    def _check_factors(self) -> None:
        """Order seeds and data draws: not with adaptive seeds, nor beside a grid or search
        over dataset.seed (two names for one factor); a fixed data set's draw is its split."""
        if self.order_seeds is None and self.data_seeds is None:
            return
        if self.adaptive is not None:
            raise ValueError("adaptive seeds cannot be crossed with order_seeds or data_seeds "
                             "yet: give the seeds as {start, count} or a list")
        if self.data_seeds is None:
            return
        searched = self.search.space if self.search is not None else {}
        if "dataset.seed" in self.grid or "dataset.seed" in searched:
            raise ValueError("data_seeds and a grid or search over dataset.seed name the same "
                             "factor: give the draws in data_seeds only")
        if self.dataset.name not in GENERATED_DATASETS and self.dataset.test_fraction == 0:
            raise ValueError(f"data_seeds draw the train/test split of {self.dataset.name!r}; "
                             "with test_fraction 0 every draw is the same data")

    def _checked_search(self, search: SearchSpec) -> SearchSpec:
        """Every path of the space is a searchable field outside the grid; every choice and
        both ends of every range are valid values of it; integer fields get integer ranges."""
        space = {}
        for path, dim in search.space.items():
            section, _, field = path.partition(".")
            model = GRID_SECTIONS.get(section)
            if model is None or field not in model.model_fields or "." in field:
                raise ValueError(f"search: unknown field {path!r}; fields are those of the grid "
                                 "(section.field, e.g. training.learning_rate)")
            if path in self.grid:
                raise ValueError(f"search: {path!r} is also a grid axis; give it in one place")
            base = getattr(self, section)
            if isinstance(dim, Choices):
                _check_axis(base, path, list(dim.choices), kind="search choices")
            else:
                if not isinstance(getattr(base, field), (int, float)) or isinstance(
                        getattr(base, field), bool):
                    raise ValueError(f"search: {path!r} cannot be searched over a range (it is "
                                     "not a number here); give it choices instead")
                integer = _integer_field(base, field)
                if integer and not (float(dim.low).is_integer() and float(dim.high).is_integer()):
                    raise ValueError(f"search: {path!r} takes whole numbers; low and high must be "
                                     "whole numbers")
                ends = [int(dim.low), int(dim.high)] if integer else [dim.low, dim.high]
                _check_axis(base, path, ends, kind="search range")
                dim = dim.model_copy(update={"integer": integer})
            space[path] = dim
        corners = math.prod(len(d.choices) if isinstance(d, Choices) else 2 for d in space.values())
        if corners * self.n_grid_points > MAX_CHECKED_POINTS:
            raise ValueError(f"search: {corners} combinations of choices and range ends × "
                             f"{self.n_grid_points} grid points are more than the "
                             f"{MAX_CHECKED_POINTS} sweepd checks at submission")
        return search.model_copy(update={"space": space})

    # -- size -----------------------------------------------------------------------------

    @property
    def seed_values(self) -> list[int]:
        """The seeds every cell is expanded with (an adaptive sweep's first block)."""
        return list(self.seeds) if isinstance(self.seeds, list) else self.seeds.values()

    @property
    def n_seeds(self) -> int:
        return len(self.seeds) if isinstance(self.seeds, list) else len(self.seeds.values())

    @property
    def n_order_seeds(self) -> int:
        """Order seeds crossed with each seed (1 without order_seeds: the seed itself)."""
        return 1 if self.order_seeds is None else len(factor_values(self.order_seeds))

    @property
    def n_data_seeds(self) -> int:
        """Data draws crossed with each seed (1 without data_seeds: dataset.seed)."""
        return 1 if self.data_seeds is None else len(factor_values(self.data_seeds))

    def order_seeds_of(self, seed: int) -> list[int]:
        """The order seeds a seed is crossed with: `order_seeds`, or the seed itself."""
        return [seed] if self.order_seeds is None else factor_values(self.order_seeds)

    def data_seeds_at(self, dataset: DatasetSpec) -> list[int]:
        """The data draws of a grid point: `data_seeds`, or its dataset.seed alone."""
        return [dataset.seed] if self.data_seeds is None else factor_values(self.data_seeds)

    @property
    def adaptive(self) -> AdaptiveRule | None:
        """The seeds-until-decided rule, when the seeds are adaptive."""
        return self.seeds.adaptive if isinstance(self.seeds, AdaptiveSeeds) else None

    @property
    def max_trials(self) -> int:
        """The most trials the sweep can come to: `n_trials`, or at an adaptive sweep's cap."""
        if self.adaptive is None:
            return self.n_trials
        return self.adaptive.max * len(self.initializers) * self.n_grid_points

    @property
    def n_grid_points(self) -> int:
        return math.prod(len(v) for v in self.grid.values())

    @property
    def n_trials(self) -> int:
        """Trials in the whole sweep, the search's points not yet sampled included."""
        points = self.search.points if self.search is not None else 1
        return (self.n_seeds * self.n_order_seeds * self.n_data_seeds * len(self.initializers)
                * self.n_grid_points * points)

    # -- expansion ------------------------------------------------------------------------

    def grid_points(self) -> list[dict[str, Any]]:
        """Every grid point, in a fixed order (axes sorted by name)."""
        axes = sorted(self.grid)
        return [dict(zip(axes, combo)) for combo in itertools.product(*(self.grid[a] for a in axes))]

    def search_corners(self) -> list[dict[str, Any]]:
        """Every choice and both ends of every range of the search (one empty point without a
        search): what the submission checks train-ability and cost on."""
        if self.search is None:
            return [{}]
        axes = {p: (d.choices if isinstance(d, Choices) else [d.low, d.high])
                for p, d in self.search.space.items()}
        return [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]

    def trials(self, search_points: list[dict[str, Any]] | None = None) -> list[TrialSpec]:
        """Expand into one `TrialSpec` per (grid point, seed, initializer) cell; with a search,
        per (grid point, search point, seed, initializer) for the search points given.

        Raises:
            ValueError: a search sweep expanded without its points.
        """
        if self.search is not None and search_points is None:
            raise ValueError("a search sweep expands only for given search points")
        grid = self.grid_points()
        points = [{**g, **sp} for sp in (search_points or [{}]) for g in grid]
        return self.cells(self.seed_values, self.initializers, points)

    def cells(self, seeds: list[int], initializers: list[Any],
              points: list[dict[str, Any]]) -> list[TrialSpec]:
        """The cells of these seeds × initializers (of this sweep) at these points, point by
        point, seed by seed: what `trials` expands to, and what a growing sweep adds. A cell is
        the same (`cell_key`, batch key, everything it trains) whichever call made it.

        Each seed is crossed with the order seeds and the data draws (issue 16); the draws are
        the outer loop, so the trials of one draw (one batch key) are stored together."""
        out: list[TrialSpec] = []
        for point in points:
            sections = self._resolved_sections(point)
            for data_seed in self.data_seeds_at(sections["dataset"]):  # type: ignore[arg-type]
                batch_key = self._batch_key(sections, data_seed)
                for seed in seeds:
                    for order_seed in self.order_seeds_of(seed):
                        for init in initializers:
                            out.append(self._cell(seed, init, point, sections, batch_key,
                                                  order_seed, data_seed))
        return out

    def trial_for(self, seed: int, initializer: dict[str, Any] | BaseModel,
                  params: dict[str, Any], *, order_seed: int | None = None,
                  data_seed: int | None = None) -> TrialSpec:
        """Rebuild the `TrialSpec` of one stored cell (what a dispatcher sends to a worker);
        an unset order seed or data draw is the default (the seed, dataset.seed)."""
        init = next((i for i in self.initializers if _dump(i) == _dump(initializer)), None)
        if init is None:
            raise ValueError(f"initializer {initializer!r} is not part of this sweep")
        sections = self._resolved_sections(params)
        data = sections["dataset"].seed if data_seed is None else data_seed  # type: ignore[attr-defined]
        order = seed if order_seed is None else order_seed
        return self._cell(seed, init, params, sections, self._batch_key(sections, data),
                          order, data)

    def _batch_key(self, sections: dict[str, BaseModel], data_seed: int | None = None) -> str:
        """The batch key of a grid point's cells of one data draw: trials of one batch share
        their data. The default draw (dataset.seed) keeps the key it had before issue 16."""
        default = data_seed is None or data_seed == sections["dataset"].seed  # type: ignore[attr-defined]
        return batching.batch_key({k: v.model_dump(mode="json") for k, v in sections.items()},
                                  self.store.model_dump(mode="json"),
                                  _dump(self.bias_initializer),
                                  data_seed=None if default else data_seed)

    def grid_sections(self) -> list[tuple[DatasetSpec, ModelSpec, TrainingSpec]]:
        """The dataset, model and training of every grid point, in `grid_points` order.

        What the submission checks read: a section is validated once per distinct change, not
        once per point (a 1000 × 100 grid has 1100 distinct sections, not 100 000).
        """
        memo: dict[str, BaseModel] = {}
        checked = [{**g, **c} for c in self.search_corners() for g in self.grid_points()]
        resolved = (self._resolved_sections(point, memo) for point in checked)
        return [(s["dataset"], s["model"], s["training"]) for s in resolved]  # type: ignore[misc]

    def _resolved_sections(self, point: dict[str, Any],
                           memo: dict[str, BaseModel] | None = None) -> dict[str, BaseModel]:
        memo = {} if memo is None else memo
        sections: dict[str, BaseModel] = {s: getattr(self, s) for s in GRID_SECTIONS}
        for section in GRID_SECTIONS:
            changes = {p.partition(".")[2]: v for p, v in point.items()
                       if p.partition(".")[0] == section}
            if changes:
                key = section + json.dumps(changes, sort_keys=True)
                if key not in memo:
                    memo[key] = _apply(sections[section], changes)
                sections[section] = memo[key]
        return sections

    def _cell(self, seed: int, init: Any, point: dict[str, Any],
              sections: dict[str, BaseModel], batch_key: str, order_seed: int,
              data_seed: int) -> TrialSpec:
        dataset_seed = sections["dataset"].seed  # type: ignore[attr-defined]
        key = cell_key(seed, init, point,
                       order_seed=None if order_seed == seed else order_seed,
                       data_seed=None if data_seed == dataset_seed else data_seed)
        return TrialSpec.model_construct(
            cell_key=key, batch_key=batch_key, seed=seed, order_seed=order_seed,
            data_seed=data_seed, initializer=init,
            bias_initializer=self.bias_initializer, params=dict(point),
            dataset=sections["dataset"], model=sections["model"],
            training=sections["training"], store=self.store,
        )

    # -- files ------------------------------------------------------------------------------

    @classmethod
    def stored(cls, data: dict[str, Any]) -> SweepSpec:
        """A spec read back from the store: validated as at submission, but with no trial limit
        (the sweep was held to the limit when it was submitted or grown)."""
        return cls.model_validate(data, context={"max_trials": math.inf, "stored": True})

    @classmethod
    def from_yaml(cls, text: str, *, max_trials: int = MAX_TRIALS_DEFAULT) -> SweepSpec:
        """Parse and validate a spec file's text (YAML 1.2 scalars, aliases bounded).

        Raises:
            SpecYamlError: too large, before or after expanding aliases (a ValueError).
            yaml.YAMLError: not YAML.
            ValidationError: not a valid spec; the message never repeats the input.
            ValueError: not a mapping.
        """
        data = load_yaml(text)
        if not isinstance(data, dict):
            raise ValueError("a sweep spec is a YAML mapping")
        return cls.model_validate(data, context={"max_trials": max_trials})

    @classmethod
    def from_file(cls, path: str | Path, *, max_trials: int = MAX_TRIALS_DEFAULT) -> SweepSpec:
        """`from_yaml` of a file, refused by its size before it is read."""
        size = Path(path).stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecYamlError(f"{path} has {size} bytes, over the limit of {MAX_SPEC_BYTES}")
        return cls.from_yaml(Path(path).read_text(encoding="utf-8"), max_trials=max_trials)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json", exclude_defaults=True),
                              sort_keys=False)


def _integer_field(base: BaseModel, field: str) -> bool:
    """Whether the field takes whole numbers only (its value validates as int, not as 0.5)."""
    try:
        _apply(base, {field: 0.5})
    except ValidationError:
        return True
    return False


def _check_axis(base: BaseModel, path: str, values: list[Any], kind: str = "grid axis") -> None:
    """Validate each value of a grid axis as its field, and refuse values that are the same.

    Two values are the same when the field makes them equal: 1 and 1.0 for a float (strict
    types already refuse "1", "1e0" and true), so no two grid points train the same thing.
    """
    field = path.partition(".")[2]
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        try:
            canonical = getattr(_apply(base, {field: value}), field)
        except ValidationError as exc:
            raise ValueError(f"{kind} {path!r}: the value at index {i} is invalid: "
                             f"{exc.errors()[0]['msg']}") from None
        key = json.dumps(canonical, sort_keys=True)
        if key in seen:
            raise ValueError(f"{kind} {path!r} repeats a value: the values at indices "
                             f"{seen[key]} and {i} are both {key[:40]}")
        seen[key] = i


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


def cell_key(seed: int, initializer: Any, params: dict[str, Any], *,
             order_seed: int | None = None, data_seed: int | None = None) -> str:
    """The stable key of one grid cell: sha256 of its seed, full initializer and grid point,
    and of its order seed and data draw where they are not the default (the seed,
    dataset.seed), so a cell keeps the key it had before they existed."""
    init = initializer.model_dump(mode="json") if isinstance(initializer, BaseModel) else initializer
    payload: dict[str, Any] = {"seed": seed, "initializer": init, "params": params}
    if order_seed is not None:
        payload["order_seed"] = order_seed
    if data_seed is not None:
        payload["data_seed"] = data_seed
    return _digest(payload)


def resolved_steps(training: TrainingSpec, n_train: int) -> int:
    """Total optimisation steps: `steps`, or `epochs` × batches per epoch (1000 if neither)."""
    if training.steps is not None:
        return training.steps
    if training.epochs is None:
        return 1000
    batch = training.batch_size or n_train
    return training.epochs * max(1, math.ceil(n_train / batch))


def resolved_curve_every(store: StoreSpec, total_steps: int) -> int:
    """The interval a trial records its cost at: `curve_every`, raised so that the curve
    (points before steps 0, every, 2·every, ... < total, then the final cost) holds at most
    `MAX_CURVE_POINTS` points. Evenly thinned, never truncated; the result says which."""
    return max(store.curve_every, math.ceil(total_steps / (MAX_CURVE_POINTS - 1)))
