"""What a network computes: the NumPy forward pass, predictions, losses, and the comparisons
of two networks by function — disagreement, loss along the straight line between them (the
barrier of docs/science.md §3) and linear CKA of their hidden activations.

The maths is the engine's: hidden activations tanh, relu, leaky_relu (slope 0.01), sigmoid,
exact-erf gelu or linear; the output is a sigmoid unit when the output layer has one unit and a
softmax otherwise; the loss is the mean binary cross-entropy (sigmoid) or cross-entropy
(softmax) — "ce" on a sigmoid output is bce — or, when asked for, the mean squared error of
the probabilities against the targets (the label, or one-hot rows) over all output entries.
A regression target (issue 17; loss "regression") has one linear output unit, the squared
error against the float target as its loss, and the fraction of variance unexplained,
1 − R² = mse / Var(y), as its error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erf, expit, log_softmax, softmax

from sweepd.analysis._net import Layers, Net, as_layers, check_activation
from sweepd.analysis.alignment import aligned_distance

LEAKY_SLOPE = 0.01
LOSSES = ("auto", "bce", "ce", "mse", "regression")
DEFAULT_ALPHAS = np.linspace(0.0, 1.0, 25)


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    """Apply a hidden activation elementwise."""
    if activation == "tanh":
        return np.tanh(z)
    if activation == "relu":
        return np.maximum(z, 0.0)
    if activation == "leaky_relu":
        return np.where(z > 0, z, LEAKY_SLOPE * z)
    if activation == "sigmoid":
        return expit(z)
    if activation == "gelu":
        return 0.5 * z * (1.0 + erf(z / np.sqrt(2.0)))
    if activation == "linear":
        return z
    raise ValueError(f"unknown activation {activation!r}")


def forward(layers: Layers, x: np.ndarray, activation: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Hidden activations and output logits of float64 (kernel, bias) pairs.

    Kernels and biases may carry one leading batch axis (a stack of nets); the outputs then
    carry it too.
    """
    hidden: list[np.ndarray] = []
    h = np.asarray(x, dtype=np.float64)
    for kernel, bias in layers[:-1]:
        h = activate(h @ kernel + bias[..., None, :], activation)
        hidden.append(h)
    kernel, bias = layers[-1]
    return hidden, h @ kernel + bias[..., None, :]


def hidden_activations(net: Net, x: np.ndarray, activation: str) -> list[np.ndarray]:
    """The post-activation outputs of every hidden layer, each of shape (n_points, width).

    Raises:
        ValueError: unknown activation or malformed weights.
    """
    return forward(as_layers(net), x, check_activation(activation))[0]


def logits(net: Net, x: np.ndarray, activation: str) -> np.ndarray:
    """Output pre-activations, shape (n_points, n_outputs)."""
    return forward(as_layers(net), x, check_activation(activation))[1]


def _probabilities(z: np.ndarray) -> np.ndarray:
    return expit(z) if z.shape[-1] == 1 else softmax(z, axis=-1)


def _classes(z: np.ndarray) -> np.ndarray:
    # p > 0.5 for a sigmoid unit is z > 0; argmax of softmax is argmax of the logits.
    return (z[..., 0] > 0).astype(np.int64) if z.shape[-1] == 1 else np.argmax(z, axis=-1)


def predict(net: Net, x: np.ndarray, activation: str) -> np.ndarray:
    """Predicted class labels (int64), one per row of `x`."""
    return _classes(logits(net, x, activation))


def _loss(z: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """Mean loss over points; `z` may carry a leading batch axis."""
    if loss == "regression":  # a linear output against a float target
        return np.mean((z[..., 0] - np.asarray(y, dtype=np.float64)) ** 2, axis=-1)
    y = np.asarray(y, dtype=np.int64)
    binary = z.shape[-1] == 1
    kind = ("bce" if binary else "ce") if loss == "auto" else loss
    if kind in ("bce", "ce") and binary:  # the cross-entropy of a Bernoulli output is bce
        # softplus(z) - y z is -[y log σ(z) + (1-y) log(1-σ(z))] without overflow.
        return np.mean(np.logaddexp(0.0, z[..., 0]) - y * z[..., 0], axis=-1)
    if kind == "ce" and not binary:
        return -np.mean(np.take_along_axis(log_softmax(z, axis=-1),
                                           np.broadcast_to(y[:, None], z.shape[:-1] + (1,)),
                                           axis=-1)[..., 0], axis=-1)
    if kind == "mse":
        target = y[:, None].astype(np.float64) if binary else np.eye(z.shape[-1])[y]
        return np.mean((_probabilities(z) - target) ** 2, axis=(-2, -1))
    raise ValueError(f"loss {loss!r} does not fit a {'sigmoid' if binary else 'softmax'} output "
                     f"(expected one of {LOSSES})")


def evaluate(net: Net, x: np.ndarray, y: np.ndarray, activation: str,
             loss: str = "auto") -> tuple[float, float]:
    """Mean loss and error rate (1 − accuracy) of `net` on (x, y).

    Raises:
        ValueError: a loss that does not fit the output layer.
    """
    z = logits(net, x, activation)
    return float(_loss(z, y, loss)), float(_error(z, y, loss))


def _error(z: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """Error rate over points (1 − R² for a regression target); `z` may carry a batch axis."""
    if loss == "regression":
        variance = float(np.var(np.asarray(y, dtype=np.float64)))
        return _loss(z, y, loss) / (variance if variance > 0 else 1.0)
    return np.mean(_classes(z) != np.asarray(y), axis=-1)


def disagreement(a: Net, b: Net, x: np.ndarray, activation: str) -> float:
    """Share of the points of `x` on which the predicted classes of `a` and `b` differ."""
    return float(np.mean(predict(a, x, activation) != predict(b, x, activation)))


@dataclass(frozen=True)
class Interpolation:
    """Loss and error along θ(α) = α·θ1 + (1−α)·θ2 (α = 1 is θ1), and the barriers."""

    alphas: np.ndarray
    loss: np.ndarray
    error: np.ndarray
    barrier: float  # max over α of L(θ(α)) − (α L(θ1) + (1−α) L(θ2))
    error_barrier: float  # the same for the error rate


def interpolate(a: Net, b: Net, x: np.ndarray, y: np.ndarray, activation: str,
                alphas: np.ndarray | None = None, loss: str = "auto") -> Interpolation:
    """Loss and error of the networks on the straight line between `a` (α = 1) and `b` (α = 0).

    Args:
        a, b: two networks of the same architecture.
        x, y: the points (training set for the barrier of docs/science.md §3) and integer labels.
        activation: the hidden activation.
        alphas: the grid of α in [0, 1]; 25 evenly spaced points when None.
        loss: "auto" (the engine's: bce or ce), "bce", "ce", "mse" or "regression".

    Returns:
        The curves and the loss and error barriers; the barrier's baseline uses the exact
        end-point values even when the grid leaves out α = 0 or 1.

    Raises:
        ValueError: architectures differ, or a bad activation or loss.
    """
    la, lb = as_layers(a), as_layers(b)
    if [k.shape for k, _ in la] != [k.shape for k, _ in lb]:
        raise ValueError("the two networks have different architectures")
    grid = DEFAULT_ALPHAS if alphas is None else np.asarray(alphas, dtype=np.float64)
    full = np.concatenate([grid, [1.0, 0.0]])  # the end points for the baseline
    stacked = [(full[:, None, None] * ka + (1 - full[:, None, None]) * kb,
                full[:, None] * ba + (1 - full[:, None]) * bb)
               for (ka, ba), (kb, bb) in zip(la, lb)]
    z = forward(stacked, x, check_activation(activation))[1]
    losses = _loss(z, y, loss)
    errors = _error(z, y, loss)
    return Interpolation(grid, losses[:-2], errors[:-2],
                         _barrier(grid, losses[:-2], losses[-2], losses[-1]),
                         _barrier(grid, errors[:-2], errors[-2], errors[-1]))


def _barrier(alphas: np.ndarray, values: np.ndarray, at_one: float, at_zero: float) -> float:
    return float(np.max(values - (alphas * at_one + (1 - alphas) * at_zero)))


@dataclass(frozen=True)
class Barrier:
    """The straight line between two networks before and after aligning the second."""

    raw: Interpolation
    aligned: Interpolation


def barrier(a: Net, b: Net, x: np.ndarray, y: np.ndarray, activation: str,
            alphas: np.ndarray | None = None, loss: str = "auto", *, seed: int = 0) -> Barrier:
    """Loss barrier between `a` and `b` (Entezari et al. 2022; docs/science.md §3), raw and aligned.

    Pass the training set as (x, y): the barrier is defined there. The aligned line runs from
    `a` to `b`'s copy aligned to `a` (for ReLU both rescaled, which changes neither function).

    Args:
        a, b: two networks of one architecture.
        x, y: points and integer labels.
        activation: the hidden activation.
        alphas: the α grid (25 evenly spaced points in [0, 1] when None).
        loss: as for `interpolate`.
        seed: order of layer visits in weight matching (deep nets only).

    Returns:
        The raw and the aligned interpolations, each with its barrier.

    Raises:
        ValueError: different architectures, a bad activation or loss.
    """
    alignment = aligned_distance(a, b, activation, seed=seed)
    return Barrier(
        raw=interpolate(a, b, x, y, activation, alphas, loss),
        aligned=interpolate(alignment.reference, alignment.aligned, x, y, activation, alphas, loss),
    )


def linear_cka(h1: np.ndarray, h2: np.ndarray) -> float | None:
    """Linear CKA (Kornblith et al. 2019) of two activation matrices over the same points.

    CKA = ‖H2ᵀH1‖²_F / (‖H1ᵀH1‖_F ‖H2ᵀH2‖_F) on column-centred H; invariant to orthogonal
    maps, hence to signed permutations of units, so it needs no alignment (docs/science.md §3).

    Args:
        h1, h2: arrays of shape (n_points, width1) and (n_points, width2).

    Returns:
        A value in [0, 1], or None when either representation is constant over the points.

    Raises:
        ValueError: different numbers of points.
    """
    h1, h2 = np.asarray(h1, dtype=np.float64), np.asarray(h2, dtype=np.float64)
    if h1.shape[0] != h2.shape[0]:
        raise ValueError("the two activation matrices cover different numbers of points")
    h1, h2 = h1 - h1.mean(axis=0), h2 - h2.mean(axis=0)
    denominator = np.linalg.norm(h1.T @ h1) * np.linalg.norm(h2.T @ h2)
    if not denominator > 1e-300:
        return None
    return float(np.linalg.norm(h2.T @ h1) ** 2 / denominator)
