"""Failure diagnostics of one trial (SCIENCE.md §1, §6).

- diverged: the engine said so, or the weights are not finite.
- symmetry never broken: in some hidden layer (of two or more units) every unit is identical
  to the first — (incoming weights, bias, outgoing weights) equal within a relative tolerance,
  up to sign for odd activations; all-zero layers count. Such a layer acts as one unit.
- dead units: hidden units whose incoming weights, or whose outgoing weights, are all zero —
  they compute a constant or are never read (identity on a 2×4 kernel leaves two).
- stuck at chance: accuracy not above the majority-class rate by more than `CHANCE_Z`
  binomial standard errors.
- effective hidden units: after merging units whose incoming weights are equal (up to sign for
  odd activations, up to positive scale for ReLU), a unit counts when |v_j|·std(h_j) over the
  training inputs is above `EFFECTIVE_SHARE` of the largest such product; v_j is the norm of
  the merged outgoing weights. 1 %: a unit below it moves the output by under a hundredth of
  the strongest unit, far above float32 noise (zeros → 0, ones → 1, identity 2×4 → 2).
- tail change: relative change of the training cost between the two halves of the curve's
  last `TAIL_SHARE` (at least `TAIL_MIN_POINTS` points); means of halves of even length, not
  end points, because at the edge of stability the cost oscillates from step to step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sweepd.analysis._net import (
    HOMOGENEOUS, ODD, Layers, check_activation, incoming, normalise_scales, unit_vectors,
)
from sweepd.analysis.functional import forward

SYMMETRY_RTOL = 1e-5
DEAD_ATOL = 1e-8  # times max(1, largest |weight|): exactly-zero weights that never moved
CHANCE_Z = 2.0
EFFECTIVE_SHARE = 0.01
TAIL_SHARE = 0.05
TAIL_MIN_POINTS = 4


def is_finite(layers: Layers) -> bool:
    return all(np.all(np.isfinite(k)) and np.all(np.isfinite(b)) for k, b in layers)


def _same_as_first(rows: np.ndarray, signed: bool, tol: float) -> np.ndarray:
    """Per row: equal to row 0 within `tol` (or to its negative when `signed`)."""
    gap = np.linalg.norm(rows - rows[0], axis=1)
    if signed:
        gap = np.minimum(gap, np.linalg.norm(rows + rows[0], axis=1))
    return gap <= tol


def symmetry_never_broken(layers: Layers, activation: str, *,
                          rtol: float = SYMMETRY_RTOL) -> bool:
    """True when some hidden layer of ≥ 2 units has all its units identical (see module doc).

    Raises:
        ValueError: unknown activation.
    """
    signed = check_activation(activation) in ODD
    for layer in range(len(layers) - 1):
        units = unit_vectors(layers, layer)
        if units.shape[0] < 2:
            continue
        tol = rtol * max(1.0, float(np.max(np.linalg.norm(units, axis=1))))
        if np.all(_same_as_first(units, signed, tol)):
            return True
    return False


def dead_units(layers: Layers, *, atol: float = DEAD_ATOL) -> list[int]:
    """Per hidden layer, the number of units with all-zero incoming or outgoing weights."""
    scale = max(1.0, max(float(np.max(np.abs(k), initial=0.0)) for k, _ in layers))
    counts = []
    for layer in range(len(layers) - 1):
        zero_in = np.all(np.abs(layers[layer][0]) <= atol * scale, axis=0)
        zero_out = np.all(np.abs(layers[layer + 1][0]) <= atol * scale, axis=1)
        counts.append(int(np.sum(zero_in | zero_out)))
    return counts


def majority_rate(y: np.ndarray) -> float:
    """Share of the most frequent label."""
    return float(np.max(np.bincount(np.asarray(y, dtype=np.int64)))) / len(y)


def stuck_at_chance(accuracy: float, majority: float, n_points: int, *,
                    z: float = CHANCE_Z) -> bool:
    """True when `accuracy` ≤ majority + z·√(majority(1−majority)/n_points)."""
    return accuracy <= majority + z * math.sqrt(majority * (1 - majority) / max(1, n_points))


def effective_units(layers: Layers, x: np.ndarray, activation: str, *,
                    share: float = EFFECTIVE_SHARE) -> list[int]:
    """Per hidden layer, the number of units that contribute to the output (see module doc).

    Args:
        layers: float64 (kernel, bias) pairs.
        x: training inputs (a subsample is fine: only the activations' spread is used).
        activation: the hidden activation.
        share: threshold relative to the largest contribution in the layer.

    Raises:
        ValueError: unknown activation.
    """
    check_activation(activation)
    if activation in HOMOGENEOUS:
        layers = normalise_scales(layers)  # rescaled copies of a unit then have equal weights
    hidden, _ = forward(layers, x, activation)
    counts = []
    for layer, h in enumerate(hidden):
        contributions = _merged_contributions(layers, layer, h.std(axis=0), activation in ODD)
        top = float(np.max(contributions, initial=0.0))
        counts.append(int(np.sum(contributions > share * top)) if top > 0 else 0)
    return counts


def _merged_contributions(layers: Layers, layer: int, spread: np.ndarray,
                          signed: bool) -> np.ndarray:
    """‖Σ_k s_k v_k‖ · std(h_j) per group of units with equal incoming weights (up to sign)."""
    rows, outgoing = incoming(layers, layer), layers[layer + 1][0]
    tol = SYMMETRY_RTOL * max(1.0, float(np.max(np.linalg.norm(rows, axis=1), initial=0.0)))
    left = np.ones(len(rows), dtype=bool)
    out = []
    for j in range(len(rows)):
        if not left[j]:
            continue
        plus = left & (np.linalg.norm(rows - rows[j], axis=1) <= tol)
        minus = left & ~plus & (np.linalg.norm(rows + rows[j], axis=1) <= tol) if signed else \
            np.zeros_like(plus)
        merged = outgoing[plus].sum(axis=0) - outgoing[minus].sum(axis=0)
        out.append(float(np.linalg.norm(merged)) * float(spread[j]))
        left &= ~(plus | minus)
    return np.array(out)


def tail_change(curve: Sequence[float | None], *, share: float = TAIL_SHARE,
                min_points: int = TAIL_MIN_POINTS) -> float | None:
    """|mean(second half) − mean(first half)| / |mean(first half)| over the curve's tail.

    Returns:
        None when the curve is too short or its tail holds a missing (non-finite) value.
    """
    k = max(min_points, math.ceil(share * len(curve)))
    if len(curve) < min_points:
        return None
    tail = np.array([np.nan if v is None else v for v in curve[-k:]], dtype=np.float64)
    if not np.all(np.isfinite(tail)):
        return None
    half = k // 2 - (k // 2) % 2 if k >= 4 else k // 2  # even: a period-2 wobble averages out
    first, second = tail[-2 * half:-half].mean(), tail[-half:].mean()
    return float(abs(second - first) / max(abs(first), 1e-12))
