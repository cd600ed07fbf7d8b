"""The picture that answers the user's question: every hidden unit, raw and in canonical form.

Each first-layer hidden unit of each trial is one point: its incoming weights (w₁, w₂) for two
inputs, (w, bias) for one input, and for more inputs their projection on the two principal
axes of all canonical vectors (one projection for both panels, so sign flips stay visible).
Raw, one solution appears in many permuted and sign-flipped copies; in canonical form the
copies coincide, so equivalent solutions collapse onto the same few points.

A large sweep has more units than a browser can draw as separate SVG points in good time, so
beyond `MAX_POINTS` per panel the units are binned: units of one initializer and one position
(unit 1, 2, ...) that fall in the same cell (1/`BINS` of the panel's extent per axis) become one
point at their mean, with their count. Every unit is still counted; points that would overlap
on screen are merged.

Coloured by position, the picture also shows the permutations: raw, a cluster mixes positions
(the same unit sits at different positions in different trials); canonical, positions follow
the sort (which near-ties can still swap, see `sweepd.analysis.symmetry`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sweepd import weights
from sweepd.analysis.symmetry import canonical_form
from sweepd.records import TrialRecord
from sweepd_api.web.figures import group_label, rounded

MAX_POINTS = 2_000  # per panel, drawn as separate points; beyond it units are binned
BINS = 90  # cells per axis when binning: about one marker wide on a page-wide panel


def unit_points(finished: Sequence[tuple[TrialRecord, bytes]], activation: str,
                max_points: int = MAX_POINTS) -> dict[str, Any]:
    """Every first-layer hidden unit's incoming weights, raw and in canonical form.

    Args:
        finished: completed trials with their final weights (safetensors bytes).
        activation: the sweep's hidden activation (decides the symmetries).
        max_points: the most units per panel drawn one by one; beyond it they are binned.

    Returns:
        `axes` (two labels), `projected`, `binned`, `n_trials`, `n_units`, and per group
        `raw` and `canonical` panels of `x`, `y`, `count`, `trial_ids` and `units` (the
        first trial and unit of each point).
    """
    found = [u for u in (_units(t, blob, activation) for t, blob in finished) if u is not None]
    n_units = sum(raw.shape[0] for _, _, raw, _ in found)
    fan_in = found[0][2].shape[1] if found else 2
    project, axes = _projection(fan_in, [u[3] for u in found])
    groups: dict[str, dict[str, list[np.ndarray]]] = {}
    for label, trial_id, raw, canonical in found:
        entry = groups.setdefault(label, {"ids": [], "units": [], "raw": [], "canonical": []})
        entry["ids"].append(np.full(raw.shape[0], trial_id))
        entry["units"].append(np.arange(1, raw.shape[0] + 1))
        entry["raw"].append(project(raw))
        entry["canonical"].append(project(canonical))
    binned = n_units > max_points
    stacked = {label: {k: np.concatenate(v) for k, v in e.items()} for label, e in groups.items()}
    panels = {key: _extent([e[key] for e in stacked.values()]) for key in ("raw", "canonical")}
    return {"axes": axes, "projected": fan_in > 2, "binned": binned, "n_trials": len(found),
            "n_units": n_units,
            "groups": [{"group": label,
                        **{key: _panel(e[key], e["ids"], e["units"], panels[key], binned)
                           for key in ("raw", "canonical")}}
                       for label, e in stacked.items()]}


def _units(trial: TrialRecord, blob: bytes,
           activation: str) -> tuple[str, int, np.ndarray, np.ndarray] | None:
    """(group, trial id, raw and canonical unit vectors (width × inputs [+ bias])), or None
    when the weights are not finite (a diverged trial has no meaningful units)."""
    arrays = weights.unpack(blob)
    if not all(np.all(np.isfinite(a)) for a in arrays.values()):
        return None
    label = group_label(trial.initializer_label, trial.params)
    return (label, trial.id, _incoming(weights.layers(arrays)),
            _incoming(weights.layers(canonical_form(arrays, activation))))


def _incoming(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    kernel, bias = pairs[0]
    vectors = np.asarray(kernel, dtype=np.float64).T
    if vectors.shape[1] == 1:  # one input: the bias is the second coordinate
        vectors = np.concatenate([vectors, np.asarray(bias, np.float64)[:, None]], axis=1)
    return vectors


def _projection(fan_in: int, canonical: list[np.ndarray]) -> tuple[Any, list[str]]:
    if fan_in == 1:
        return (lambda v: v), ["weight from x₁", "bias"]
    if fan_in == 2:
        return (lambda v: v), ["weight from x₁", "weight from x₂"]
    stacked = np.concatenate(canonical) if canonical else np.zeros((1, fan_in))
    centre = stacked.mean(axis=0)
    # The principal axes of the canonical vectors: where the distinct solutions differ most.
    _, _, vt = np.linalg.svd(stacked - centre, full_matrices=False)
    basis = np.zeros((fan_in, 2))
    basis[:, :min(2, vt.shape[0])] = vt[:2].T
    return (lambda v: (v - centre) @ basis), ["principal axis 1", "principal axis 2"]


def _extent(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(lower corner, cell size) of a panel's binning grid."""
    points = np.concatenate(parts) if parts else np.zeros((1, 2))
    low, high = points.min(axis=0), points.max(axis=0)
    return low, np.maximum(high - low, 1e-12) / BINS


def _panel(xy: np.ndarray, ids: np.ndarray, units: np.ndarray,
           grid: tuple[np.ndarray, np.ndarray], binned: bool) -> dict[str, list[Any]]:
    if binned:
        # One point per cell and unit position, so that points can be coloured by position.
        cells = np.column_stack([np.floor((xy - grid[0]) / grid[1]).astype(np.int64), units])
        _, first, inverse, count = np.unique(cells, axis=0, return_index=True,
                                             return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        centre = np.stack([np.bincount(inverse, xy[:, k]) / count for k in (0, 1)], axis=1)
        xy, ids, units = centre, ids[first], units[first]
    else:
        count = np.ones(len(xy), dtype=np.int64)
    return {"x": [rounded(float(v), 4) for v in xy[:, 0]],
            "y": [rounded(float(v), 4) for v in xy[:, 1]],
            "count": count.tolist(), "trial_ids": ids.tolist(), "units": units.tolist()}
