"""Internal: a network as a list of float64 (kernel, bias) pairs, and the unit transforms.

Layer `l` of a net with L layers has a kernel of shape (fan_in, fan_out) (Keras layout) and a
bias of shape (fan_out,); layers 0..L-2 are hidden, layer L-1 is the output layer. Hidden unit j
of layer l is (kernel_l[:, j], bias_l[j]) in and kernel_{l+1}[j, :] out (docs/science.md §3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Union

import numpy as np

from sweepd.weights import from_layers
from sweepd.weights import layers as _stored_layers

Layers = list[tuple[np.ndarray, np.ndarray]]
Net = Union[Mapping[str, np.ndarray], Sequence[tuple[np.ndarray, np.ndarray]]]

ACTIVATIONS = ("tanh", "relu", "leaky_relu", "sigmoid", "gelu", "linear")
# Odd activations: f(-x) = -f(x), so a unit may flip the signs of all its weights.
ODD = frozenset({"tanh", "linear"})
# Positively homogeneous: f(ax) = a f(x) for a > 0, so a unit may be rescaled.
HOMOGENEOUS = frozenset({"relu", "leaky_relu"})


def as_layers(net: Net) -> Layers:
    """The (kernel, bias) pairs of `net` as float64, checked for consistent shapes.

    Args:
        net: weights in the stored naming scheme, or a sequence of (kernel, bias) pairs.

    Returns:
        A new list of float64 (kernel, bias) pairs, hidden layers first.

    Raises:
        ValueError: no hidden layer, or shapes that do not chain.
    """
    pairs = _stored_layers(dict(net)) if isinstance(net, Mapping) else list(net)
    out = [(np.array(k, dtype=np.float64), np.array(b, dtype=np.float64)) for k, b in pairs]
    if len(out) < 2:
        raise ValueError("a network needs at least one hidden layer and an output layer")
    for i, (kernel, bias) in enumerate(out):
        if kernel.ndim != 2 or bias.shape != (kernel.shape[1],):
            raise ValueError(f"layer {i}: kernel {kernel.shape} and bias {bias.shape} do not match")
        if i and kernel.shape[0] != out[i - 1][0].shape[1]:
            raise ValueError(f"layer {i}: fan_in {kernel.shape[0]} is not the previous width "
                             f"{out[i - 1][0].shape[1]}")
    return out


def to_weights(layers: Layers, dtype: np.dtype | type = np.float32) -> dict[str, np.ndarray]:
    """Layers back to the stored naming scheme, cast to `dtype`."""
    return from_layers([(k.astype(dtype), b.astype(dtype)) for k, b in layers])


def check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {ACTIVATIONS}")
    return activation


def shape_of(layers: Layers) -> tuple[tuple[int, int], ...]:
    return tuple(k.shape for k, _ in layers)


def flatten(layers: Layers) -> np.ndarray:
    """All parameters in one vector (kernel then bias, layer by layer)."""
    return np.concatenate([np.concatenate([k.ravel(), b]) for k, b in layers])


def transform_units(layers: Layers, layer: int, perm: np.ndarray,
                    factors: np.ndarray | None = None) -> Layers:
    """Reorder and rescale the units of hidden layer `layer`; the function is unchanged.

    New unit j is old unit perm[j], with incoming weights and bias multiplied by factors[j]
    and outgoing weights divided by it: signs (±1) for odd activations, positive scales for
    homogeneous ones.
    """
    out = list(layers)
    f = np.ones(len(perm)) if factors is None else np.asarray(factors, dtype=np.float64)
    kernel, bias = layers[layer]
    out[layer] = (kernel[:, perm] * f, bias[perm] * f)
    nxt_kernel, nxt_bias = layers[layer + 1]
    out[layer + 1] = (nxt_kernel[perm, :] / f[:, None], nxt_bias)
    return out


def stack(nets: Sequence[Layers]) -> Layers:
    """Nets of one architecture as one net whose arrays carry a leading batch axis."""
    return [(np.stack([n[i][0] for n in nets]), np.stack([n[i][1] for n in nets]))
            for i in range(len(nets[0]))]


def incoming(layers: Layers, layer: int) -> np.ndarray:
    """Rows = units of hidden layer `layer`: (incoming weights, bias), shape (H, fan_in + 1).

    Batch-aware: stacked layers give shape (N, H, fan_in + 1).
    """
    kernel, bias = layers[layer]
    return np.concatenate([np.swapaxes(kernel, -1, -2), bias[..., None]], axis=-1)


def unit_vectors(layers: Layers, layer: int) -> np.ndarray:
    """Rows = units: (incoming weights, bias, outgoing weights), u_j of docs/science.md §3."""
    return np.concatenate([incoming(layers, layer), layers[layer + 1][0]], axis=-1)


def normalise_scales(layers: Layers) -> Layers:
    """Positive rescaling of every hidden unit to unit-norm (incoming weights, bias).

    Goes forward through the layers, because rescaling layer l changes layer l+1's incoming
    rows. Units whose incoming vector is zero are left as they are. Batch-aware.
    """
    out = list(layers)
    for layer in range(len(out) - 1):
        norms = np.linalg.norm(incoming(out, layer), axis=-1)
        f = 1.0 / np.where(norms > 0, norms, 1.0)
        (kernel, bias), (nxt, nxt_bias) = out[layer], out[layer + 1]
        out[layer] = (kernel * f[..., None, :], bias * f)
        out[layer + 1] = (nxt / f[..., :, None], nxt_bias)
    return out
