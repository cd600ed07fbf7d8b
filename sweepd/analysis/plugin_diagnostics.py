"""Failure diagnostics of one plugin-model trial (issue 18; the plugin twin of
`sweepd.analysis.diagnostics`, same tolerances).

With a permutation spec, a group's unit j is its `out` rows (the layer's kernel slice and bias:
incoming) and its `into` columns (the next layer's: outgoing), as in weight matching:
- symmetry never broken: in some group of two or more units every unit equals the first
  (incoming and outgoing, within a relative tolerance; up to sign when the net is odd);
- dead units: units whose incoming kernel, or whose outgoing weights, are all zero;
- effective units: after merging units with equal incoming parameters (up to sign when odd),
  a unit counts when ‖merged outgoing‖ · std of its activation (over points and positions)
  is above `EFFECTIVE_SHARE` of the largest.
Without a spec: no symmetry or dead-unit findings, and a layer's effective units are its
channels whose activation is not constant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sweepd.analysis.diagnostics import DEAD_ATOL, EFFECTIVE_SHARE, SYMMETRY_RTOL
from sweepd.analysis.group_matching import _features
from sweepd.analysis.plugin_net import Params, PluginNet


@dataclass(frozen=True)
class Found:
    finite: bool
    symmetry_never_broken: bool
    dead_units: int
    effective_units: list[int] | None


def channel_spread(layer: np.ndarray) -> np.ndarray:
    """Std of each channel (axis 1) over points and positions."""
    h = np.moveaxis(np.asarray(layer, dtype=np.float64), 1, 0).reshape(layer.shape[1], -1)
    return h.std(axis=1)


def diagnose(net: PluginNet, params: Params, spreads: Sequence[np.ndarray] | None) -> Found:
    """Diagnostics of one net; `spreads`: `channel_spread` of each of its layers (None when
    the weights are not finite)."""
    finite = all(bool(np.all(np.isfinite(v))) for v in params.values())
    if not finite or spreads is None:
        return Found(False, False, 0, None)
    if not net.groups:
        return Found(True, False, 0, [_live(s) for s in spreads])
    scale = max(1.0, max(float(np.max(np.abs(v))) if v.size else 0.0 for v in params.values()))
    unbroken, dead, effective = False, 0, []
    for group in net.groups:
        outs, intos = _features(params, group)
        rows = np.concatenate(outs, axis=1)
        cols = np.concatenate(intos, axis=1) if intos else np.ones((rows.shape[0], 1))
        units = np.concatenate([rows, cols], axis=1)
        unbroken |= units.shape[0] >= 2 and _all_equal(units, net.odd)
        kernel = outs[0]
        dead += int(np.sum(np.all(np.abs(kernel) <= DEAD_ATOL * scale, axis=1)
                           | np.all(np.abs(cols) <= DEAD_ATOL * scale, axis=1)))
        layer = net.owners.get(group.out[0].rpartition(".")[0])
        spread = (spreads[layer] if layer is not None and spreads[layer].shape[0] == len(rows)
                  else np.ones(len(rows)))
        effective.append(_effective(rows, cols, spread, net.odd))
    return Found(True, bool(unbroken), dead, effective)


def _live(spread: np.ndarray) -> int:
    top = float(np.max(spread)) if spread.size else 0.0
    return int(np.sum(spread > EFFECTIVE_SHARE * top)) if top > 0 else 0


def _all_equal(units: np.ndarray, signed: bool) -> bool:
    first = units[0]
    bound = SYMMETRY_RTOL * max(1.0, float(np.linalg.norm(first)))
    same = np.linalg.norm(units - first, axis=1) <= bound
    if signed:
        same |= np.linalg.norm(units + first, axis=1) <= bound
    return bool(np.all(same))


def _effective(rows: np.ndarray, cols: np.ndarray, spread: np.ndarray, signed: bool) -> int:
    tol = SYMMETRY_RTOL * max(1.0, float(np.max(np.linalg.norm(rows, axis=1))))
    left = np.ones(len(rows), dtype=bool)
    contributions = np.zeros(len(rows))
    for j in range(len(rows)):
        if not left[j]:
            continue
        plus = left & (np.linalg.norm(rows - rows[j], axis=1) <= tol)
        minus = (left & ~plus & (np.linalg.norm(rows + rows[j], axis=1) <= tol)) if signed \
            else np.zeros_like(plus)
        merged = (plus.astype(float) - minus) @ cols
        contributions[j] = np.linalg.norm(merged) * spread[j]
        left &= ~(plus | minus)
    top = float(np.max(contributions))
    return int(np.sum(contributions > EFFECTIVE_SHARE * top)) if top > 0 else 0
