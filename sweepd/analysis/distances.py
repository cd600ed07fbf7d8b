"""All-pairs raw and aligned distances between the networks of a group of trials.

One hidden layer: the exact signed assignment of `sweepd.analysis.alignment`, vectorised over
all pairs — similarity matrices are built for every pair at once and, for up to
`ENUMERATE_MAX_H` units, the best permutation is found by scoring all H! permutations in one
array operation (exact, like the assignment, and much faster than one solver call per pair);
wider layers call `linear_sum_assignment` per pair. Deeper nets run weight matching per pair.
Distances are then recomputed from the aligned parameters themselves, not from the expanded
square, so identical nets give 0 to rounding.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import pdist, squareform

from sweepd.analysis._net import (
    HOMOGENEOUS,
    ODD,
    Layers,
    Net,
    as_layers,
    check_activation,
    flatten,
    normalise_scales,
    shape_of,
    unit_vectors,
)
from sweepd.analysis.alignment import aligned_distance

# Scoring all H! permutations beats one assignment call per pair up to H = 4 (0.39× its time on
# 20 000 pairs) and loses from H = 5 (2.8×, 15.8× at 6): bench/assignment_speed.py.
ENUMERATE_MAX_H = 4
_PAIR_CHUNK = 4096


@dataclass(frozen=True)
class DistanceMatrices:
    """Symmetric (N, N) matrices, zero on the diagonal. Relative = ÷ mean of the two norms."""

    raw: np.ndarray
    aligned: np.ndarray
    raw_relative: np.ndarray
    aligned_relative: np.ndarray
    exact: bool  # True when every aligned distance is the exact minimum (one hidden layer)


def distance_matrix(nets: Sequence[Net], activation: str, *, seed: int = 0) -> DistanceMatrices:
    """Raw and aligned distances between every two of `nets` (see `aligned_distance`).

    Args:
        nets: networks of one architecture.
        activation: the hidden activation.
        seed: order of layer visits for weight matching (deep nets).

    Returns:
        The four distance matrices.

    Raises:
        ValueError: architectures differ, an unknown activation or malformed weights.
    """
    check_activation(activation)
    layers = [as_layers(n) for n in nets]
    if len({shape_of(x) for x in layers}) > 1:
        raise ValueError("the networks do not share one architecture")
    flat = np.array([flatten(x) for x in layers]) if layers else np.zeros((0, 0))
    raw = squareform(pdist(flat)) if len(layers) > 1 else np.zeros((len(layers),) * 2)
    raw_rel = _relative(raw, np.linalg.norm(flat, axis=1) if layers else np.zeros(0))
    if len(layers) < 2:
        return DistanceMatrices(raw, raw.copy(), raw_rel, raw_rel.copy(), True)
    if len(layers[0]) == 2:
        aligned, norms = _one_layer(layers, activation)
    else:
        aligned, norms = _deep(layers, activation, seed)
    return DistanceMatrices(raw, aligned, raw_rel, _relative(aligned, norms), len(layers[0]) == 2)


def _relative(distances: np.ndarray, norms: np.ndarray) -> np.ndarray:
    scale = (norms[:, None] + norms[None, :]) / 2
    return np.divide(distances, scale, out=np.zeros_like(distances), where=scale > 0)


def _one_layer(layers: list[Layers], activation: str) -> tuple[np.ndarray, np.ndarray]:
    if activation in HOMOGENEOUS:
        layers = [normalise_scales(x) for x in layers]
    units = np.array([unit_vectors(x, 0) for x in layers])  # (N, H, D)
    out_bias = np.array([x[1][1] for x in layers])  # (N, O)
    norms = np.sqrt(np.sum(units**2, axis=(1, 2)) + np.sum(out_bias**2, axis=1))
    n = len(layers)
    first, second = np.triu_indices(n, 1)
    distances = np.zeros(first.size)
    for start in range(0, first.size, _PAIR_CHUNK):
        i, j = first[start:start + _PAIR_CHUNK], second[start:start + _PAIR_CHUNK]
        distances[start:start + i.size] = _pair_distances(
            units[i], units[j], out_bias[i] - out_bias[j], activation in ODD)
    matrix = np.zeros((n, n))
    matrix[first, second] = matrix[second, first] = distances
    return matrix, norms


def _pair_distances(ua: np.ndarray, ub: np.ndarray, bias_diff: np.ndarray,
                    signed: bool) -> np.ndarray:
    """Exact aligned distances for stacks of pairs: ua, ub (P, H, D); bias_diff (P, O)."""
    similarity = np.einsum("phd,pkd->phk", ua, ub)
    gain = np.abs(similarity) if signed else similarity
    perms = _best_permutations(gain)
    rows = np.arange(len(ua))[:, None]
    matched = ub[rows, perms]  # (P, H, D): B's unit matched to A's unit h
    if signed:
        sign = np.sign(similarity[rows, np.arange(perms.shape[1])[None, :], perms])
        matched = matched * np.where(sign == 0, 1.0, sign)[..., None]
    squared = np.sum((ua - matched) ** 2, axis=(1, 2)) + np.sum(bias_diff**2, axis=1)
    return np.sqrt(squared)


def _best_permutations(gain: np.ndarray) -> np.ndarray:
    """Per pair, the permutation π maximising Σ_h gain[h, π(h)]; shape (P, H)."""
    n_pairs, h, _ = gain.shape
    if h > ENUMERATE_MAX_H:
        return np.array([linear_sum_assignment(g, maximize=True)[1] for g in gain], dtype=np.intp)
    candidates = np.array(list(itertools.permutations(range(h))), dtype=np.intp)  # (Q, H)
    scores = gain[:, np.arange(h)[None, :], candidates].sum(axis=-1)  # (P, Q)
    return candidates[np.argmax(scores, axis=1)]


def _deep(layers: list[Layers], activation: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(layers)
    compared = [normalise_scales(x) for x in layers] if activation in HOMOGENEOUS else layers
    norms = np.array([np.linalg.norm(flatten(x)) for x in compared])
    matrix = np.zeros((n, n))
    for i, j in zip(*np.triu_indices(n, 1)):
        d = aligned_distance(layers[i], layers[j], activation, seed=seed).distance
        matrix[i, j] = matrix[j, i] = d
    return matrix, norms
