"""Two trials compared in depth: distance raw and modulo symmetry, prediction disagreement,
loss along the straight line (raw and aligned), and linear CKA of the hidden layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from sweepd.analysis._net import Layers, as_layers
from sweepd.analysis.alignment import aligned_distance
from sweepd.analysis.diagnostics import is_finite
from sweepd.analysis.functional import (
    DEFAULT_ALPHAS,
    Interpolation,
    disagreement,
    hidden_activations,
    interpolate,
    linear_cka,
)
from sweepd.analysis.models import Curve, PairComparison
from sweepd.errors import InvalidSpec
from sweepd.records import TrialRecord
from sweepd.spec import ModelSpec


class DatasetLike(Protocol):
    """What the comparison needs of a data set (`sweepd.datasets.Dataset` is one)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class Evaluation:
    """The points accuracy and disagreement are measured on: the test set, else the train set."""

    name: str  # "test" or "train"
    x: np.ndarray
    y: np.ndarray

    @property
    def n(self) -> int:
        return len(self.y)


def is_regression(dataset: DatasetLike) -> bool:
    """A regression target (float y, issue 17) rather than class labels."""
    return np.asarray(dataset.y_train).dtype.kind == "f"


def evaluation(dataset: DatasetLike) -> Evaluation:
    """The test set when the dataset has one, otherwise the training set."""
    if len(dataset.y_test):
        return Evaluation("test", np.asarray(dataset.x_test), np.asarray(dataset.y_test))
    return Evaluation("train", np.asarray(dataset.x_train), np.asarray(dataset.y_train))


def check_architecture(layers: Layers, model: ModelSpec, trial_id: int) -> None:
    """Raise InvalidSpec when the weights' hidden widths are not the model's."""
    widths = [k.shape[1] for k, _ in layers[:-1]]
    if widths != list(model.hidden):
        raise InvalidSpec(f"trial {trial_id}: weights have hidden widths {widths}, the model "
                          f"says {list(model.hidden)}")


def compare_pair(trial_a: TrialRecord, weights_a: Any, trial_b: TrialRecord, weights_b: Any,
                 model_spec: ModelSpec, dataset: DatasetLike, *, loss: str = "auto",
                 alphas: np.ndarray | None = None, seed: int = 0) -> PairComparison:
    """Compare two trials of one sweep by weights and by function.

    Args:
        trial_a, trial_b: the trials (their ids label the result).
        weights_a, weights_b: their final weights in the stored scheme.
        model_spec: the sweep's model.
        dataset: the sweep's data; the barrier uses the training set, disagreement and CKA
            the test set (the training set when there is no test set).
        loss: the training loss ("auto" is the engine's default: bce or ce).
        alphas: the α grid of the barrier curves (25 points in [0, 1] by default).
        seed: order of layer visits for weight matching (deep nets).

    Returns:
        The PairComparison.

    Raises:
        InvalidSpec: weights that do not fit the model, or are not finite (a diverged trial).
    """
    la, lb = _checked(trial_a, weights_a, model_spec), _checked(trial_b, weights_b, model_spec)
    activation = model_spec.activation
    alignment = aligned_distance(la, lb, activation, seed=seed)
    ev = evaluation(dataset)
    x_train, y_train = np.asarray(dataset.x_train), np.asarray(dataset.y_train)
    grid = DEFAULT_ALPHAS if alphas is None else alphas
    regression = is_regression(dataset)  # squared error; 1 − R² as the error; no classes
    loss = "regression" if regression else loss
    try:
        raw = interpolate(la, lb, x_train, y_train, activation, grid, loss)
        aligned = interpolate(alignment.reference, alignment.aligned, x_train, y_train,
                              activation, grid, loss)
    except ValueError as exc:
        raise InvalidSpec(str(exc)) from None
    hidden_a = hidden_activations(la, ev.x, activation)
    hidden_b = hidden_activations(lb, ev.x, activation)
    return PairComparison(
        trial_a=trial_a.id, trial_b=trial_b.id, activation=activation,
        raw_distance=alignment.raw_distance,
        raw_relative_distance=alignment.raw_relative_distance,
        aligned_distance=alignment.distance,
        aligned_relative_distance=alignment.relative_distance, exact=alignment.exact,
        permutations=[p.tolist() for p in alignment.permutations],
        signs=[s.astype(int).tolist() for s in alignment.signs],
        disagreement=None if regression else disagreement(la, lb, ev.x, activation),
        disagreement_on=ev.name,
        n_points=ev.n, barrier_raw=_curve(raw), barrier_aligned=_curve(aligned),
        cka=[linear_cka(h1, h2) for h1, h2 in zip(hidden_a, hidden_b)],
    )


def _checked(trial: TrialRecord, weights: Any, model: ModelSpec) -> Layers:
    layers = as_layers(weights)
    check_architecture(layers, model, trial.id)
    if not is_finite(layers):
        raise InvalidSpec(f"trial {trial.id} diverged: its weights are not finite")
    return layers


def _curve(line: Interpolation) -> Curve:
    return Curve(alphas=line.alphas.tolist(), loss=line.loss.tolist(),
                 error=line.error.tolist(), barrier=line.barrier,
                 error_barrier=line.error_barrier)
