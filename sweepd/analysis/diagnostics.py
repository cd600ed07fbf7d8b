"""Failure diagnostics of one trial (docs/science.md §1, §6).

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
from dataclasses import dataclass

import numpy as np

from sweepd.analysis._net import (
    HOMOGENEOUS,
    ODD,
    Layers,
    check_activation,
    incoming,
    normalise_scales,
    stack,
    unit_vectors,
)
from sweepd.analysis.functional import forward

SYMMETRY_RTOL = 1e-5
DEAD_ATOL = 1e-8  # times max(1, largest |weight|): exactly-zero weights that never moved
CHANCE_Z = 2.0
EFFECTIVE_SHARE = 0.01
TAIL_SHARE = 0.05
TAIL_MIN_POINTS = 4
_CHUNK = 4_000_000  # array entries per batch of nets, to bound memory for wide layers


@dataclass(frozen=True)
class StackDiagnostics:
    """Diagnostics of N nets; entries of nets with non-finite weights are False or 0."""

    finite: np.ndarray  # (N,) bool
    symmetry_never_broken: np.ndarray  # (N,) bool
    dead_units: np.ndarray  # (N, n_hidden_layers) int
    effective_units: np.ndarray  # (N, n_hidden_layers) int


def diagnose_stack(nets: Sequence[Layers], x: np.ndarray, activation: str) -> StackDiagnostics:
    """Weight diagnostics of nets of one architecture, computed in batches of nets.

    Args:
        nets: float64 (kernel, bias) pairs per net, all of one architecture.
        x: training inputs for the activation spreads (a subsample is fine).
        activation: the hidden activation.

    Returns:
        Per net: finite weights, symmetry never broken, dead and effective units per layer.

    Raises:
        ValueError: unknown activation, or no nets.
    """
    check_activation(activation)
    if not nets:
        raise ValueError("no nets to diagnose")
    widest = max(k.shape[1] for k, _ in nets[0])
    deepest = max(k.shape[0] for k, _ in nets[0]) + 1
    per_net = len(x) * widest + widest * widest * deepest
    size = max(1, _CHUNK // per_net)
    parts = [_diagnose(stack(nets[i:i + size]), x, activation) for i in range(0, len(nets), size)]
    return StackDiagnostics(*(np.concatenate(field) for field in zip(*parts)))


def _diagnose(st: Layers, x: np.ndarray, activation: str) -> tuple[np.ndarray, ...]:
    finite = np.ones(st[0][0].shape[0], dtype=bool)
    for kernel, bias in st:
        finite &= np.all(np.isfinite(kernel), axis=(1, 2)) & np.all(np.isfinite(bias), axis=1)
    # Zero the non-finite nets so the maths stays quiet; their results are masked below.
    st = [(np.where(finite[:, None, None], k, 0.0), np.where(finite[:, None], b, 0.0))
          for k, b in st]
    return (finite, _unbroken(st, activation in ODD, SYMMETRY_RTOL) & finite,
            _dead(st, DEAD_ATOL) * finite[:, None],
            _effective(st, x, activation, EFFECTIVE_SHARE) * finite[:, None])


def is_finite(layers: Layers) -> bool:
    return all(np.all(np.isfinite(k)) and np.all(np.isfinite(b)) for k, b in layers)


def symmetry_never_broken(layers: Layers, activation: str, *,
                          rtol: float = SYMMETRY_RTOL) -> bool:
    """True when some hidden layer of ≥ 2 units has all its units identical (see module doc).

    Raises:
        ValueError: unknown activation.
    """
    signed = check_activation(activation) in ODD
    return bool(_unbroken(stack([layers]), signed, rtol)[0])


def _unbroken(st: Layers, signed: bool, rtol: float) -> np.ndarray:
    out = np.zeros(st[0][0].shape[0], dtype=bool)
    for layer in range(len(st) - 1):
        units = unit_vectors(st, layer)  # (N, H, D)
        if units.shape[1] < 2:
            continue
        tol = rtol * np.maximum(1.0, np.max(np.linalg.norm(units, axis=-1), axis=1))
        gap = np.linalg.norm(units - units[:, :1], axis=-1)
        if signed:
            gap = np.minimum(gap, np.linalg.norm(units + units[:, :1], axis=-1))
        out |= np.all(gap <= tol[:, None], axis=1)
    return out


def dead_units(layers: Layers, *, atol: float = DEAD_ATOL) -> list[int]:
    """Per hidden layer, the number of units with all-zero incoming or outgoing weights."""
    return [int(c) for c in _dead(stack([layers]), atol)[0]]


def _dead(st: Layers, atol: float) -> np.ndarray:
    scale = np.maximum(1.0, np.max([np.max(np.abs(k), axis=(1, 2)) for k, _ in st], axis=0))
    bound = (atol * scale)[:, None, None]
    counts = [np.sum(np.all(np.abs(st[layer][0]) <= bound, axis=1)
                     | np.all(np.abs(st[layer + 1][0]) <= bound, axis=2), axis=1)
              for layer in range(len(st) - 1)]
    return np.stack(counts, axis=1)


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
    return [int(c) for c in _effective(stack([layers]), x, activation, share)[0]]


def _effective(st: Layers, x: np.ndarray, activation: str, share: float) -> np.ndarray:
    if activation in HOMOGENEOUS:
        st = normalise_scales(st)  # rescaled copies of a unit then have equal weights
    hidden, _ = forward(st, x, activation)
    counts = []
    for layer, h in enumerate(hidden):
        contributions = _merged_contributions(st, layer, h.std(axis=1), activation in ODD)
        top = np.max(contributions, axis=1, keepdims=True)
        counts.append(np.where(top[:, 0] > 0, np.sum(contributions > share * top, axis=1), 0))
    return np.stack(counts, axis=1)


def _merged_contributions(st: Layers, layer: int, spread: np.ndarray,
                          signed: bool) -> np.ndarray:
    """Per net and unit j heading a group of units with equal incoming weights (up to sign):
    ‖Σ_k s_k v_k‖ · std(h_j); zero for units merged into an earlier one. Shape (N, H)."""
    rows, outgoing = incoming(st, layer), st[layer + 1][0]
    tol = SYMMETRY_RTOL * np.maximum(1.0, np.max(np.linalg.norm(rows, axis=-1), axis=1))
    bound = (tol**2)[:, None, None]
    same = np.sum((rows[:, :, None] - rows[:, None]) ** 2, axis=-1) <= bound
    opposite = np.sum((rows[:, :, None] + rows[:, None]) ** 2, axis=-1) <= bound
    opposite &= signed & ~same
    left = np.ones(spread.shape, dtype=bool)
    out = np.zeros(spread.shape)
    for j in range(spread.shape[1]):
        active = left[:, j:j + 1]
        plus, minus = left & same[:, j] & active, left & opposite[:, j] & active
        merged = np.einsum("nh,nho->no", plus.astype(float) - minus, outgoing)
        out[:, j] = np.linalg.norm(merged, axis=-1) * spread[:, j] * active[:, 0]
        left &= ~(plus | minus)
    return out


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
