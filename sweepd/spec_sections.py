"""The sections of a sweep spec that a grid may change: the dataset, the model, the training, and
what each trial stores.

Strict like every spec model (`sweepd.spec_base`); imports pydantic and the model registry only,
so the light client can use it. `sweepd.spec` re-exports every name.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, StringConstraints, ValidationInfo, model_serializer, model_validator

from sweepd import models_registry
from sweepd.spec_base import _Strict

MAX_CURVE_POINTS = 10_000  # per trial, the final cost included (issue 14: 1e7 points was 5 GiB)

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
