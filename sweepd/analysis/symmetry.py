"""Canonical form of a network's weights modulo its symmetries (docs/science.md §3).

Every hidden layer's units may be permuted; with an odd activation (tanh, linear) a unit may
also flip the sign of all its weights, and with a positively homogeneous one (relu, leaky_relu)
it may be rescaled (αw, αb, v/α), α > 0. The canonical form picks one member of each orbit:

- odd: going backwards from the last hidden layer (whose outgoing weights no other layer
  touches), flip each unit so that its outgoing weight of largest magnitude is positive — with
  one output unit simply v_j ≥ 0; when all outgoing weights are zero, so that b_j > 0, then
  the first non-zero incoming weight; then sort the units in decreasing lexicographic order of
  (outgoing weights, bias, incoming weights). Linear layers also have a continuous (GL)
  symmetry that is not factored out.
- relu, leaky_relu: going forwards (rescaling layer l changes layer l+1's incoming weights),
  rescale each unit to unit-norm (incoming weights, bias), then sort by (incoming weights,
  bias, outgoing weights).
- sigmoid, gelu: permutation only, sorted as for odd activations.

The canonical form is a display and storage key. Near-ties make it jump, so distances between
trials use alignment (`sweepd.analysis.alignment`) instead. The alignment and clustering
functions are re-exported here, since they complete the comparison modulo symmetry.
"""

from __future__ import annotations

import numpy as np

from sweepd.analysis._net import (
    HOMOGENEOUS,
    ODD,
    Layers,
    Net,
    as_layers,
    check_activation,
    incoming,
    normalise_scales,
    to_weights,
    transform_units,
)
from sweepd.analysis.alignment import Alignment, aligned_distance, weight_matching
from sweepd.analysis.clusters import Cluster, cluster_solutions
from sweepd.analysis.distances import DistanceMatrices, distance_matrix

__all__ = [
    "Alignment", "Cluster", "DistanceMatrices", "aligned_distance", "canonical_form",
    "canonical_layers", "cluster_solutions", "distance_matrix", "weight_matching",
]


def canonical_form(net: Net, activation: str) -> dict[str, np.ndarray]:
    """The canonical representative of `net`'s symmetry orbit, in the stored naming scheme.

    Args:
        net: weights in the stored naming scheme, or (kernel, bias) pairs.
        activation: the hidden activation (decides which symmetries apply).

    Returns:
        Weights with the same names and dtype as given (float32 for pairs without a dtype),
        computing the same function as `net`.

    Raises:
        ValueError: unknown activation or malformed weights.
    """
    dtype = _dtype_of(net)
    return to_weights(canonical_layers(as_layers(net), activation), dtype)


def canonical_layers(layers: Layers, activation: str) -> Layers:
    """`canonical_form` on float64 (kernel, bias) pairs."""
    check_activation(activation)
    if activation in HOMOGENEOUS:
        out = normalise_scales(layers)
        for layer in range(len(out) - 1):
            out = transform_units(out, layer, _descending(_incoming_key(out, layer)))
        return out
    out = list(layers)
    for layer in reversed(range(len(out) - 1)):
        if activation in ODD:
            out = transform_units(out, layer, np.arange(out[layer][1].size), _signs(out, layer))
        out = transform_units(out, layer, _descending(_outgoing_key(out, layer)))
    return out


def _signs(layers: Layers, layer: int) -> np.ndarray:
    """Per unit: the sign of its largest outgoing weight, else of its bias, else of its first
    non-zero incoming weight, else +1."""
    outgoing = layers[layer + 1][0]
    largest = outgoing[np.arange(outgoing.shape[0]), np.argmax(np.abs(outgoing), axis=1)]
    kernel, bias = layers[layer]
    fallback = np.concatenate([bias[:, None], kernel.T], axis=1)
    first = fallback[np.arange(fallback.shape[0]), np.argmax(fallback != 0, axis=1)]
    sign = np.where(largest != 0, np.sign(largest), np.sign(first))
    return np.where(sign == 0, 1.0, sign)


def _outgoing_key(layers: Layers, layer: int) -> np.ndarray:
    kernel, bias = layers[layer]
    return np.concatenate([layers[layer + 1][0], bias[:, None], kernel.T], axis=1)


def _incoming_key(layers: Layers, layer: int) -> np.ndarray:
    return np.concatenate([incoming(layers, layer), layers[layer + 1][0]], axis=1)


def _descending(key: np.ndarray) -> np.ndarray:
    """Row order that sorts `key` in decreasing lexicographic order (first column first)."""
    return np.lexsort(tuple(-key[:, c] for c in reversed(range(key.shape[1]))))


def _dtype_of(net: Net) -> np.dtype:
    values = net.values() if hasattr(net, "values") else [k for k, _ in net]
    first = next(iter(values), None)
    dtype = getattr(first, "dtype", None)
    floating = dtype is not None and np.issubdtype(dtype, np.floating)
    return dtype if floating else np.dtype(np.float32)
