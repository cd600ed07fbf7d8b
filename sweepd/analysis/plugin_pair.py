"""Two trials of a plugin model compared in depth (issue 18, item 4): `pair.compare_pair` for
any plugin module — distances raw and after weight matching over its permutation spec (the
raw ones again without a spec), disagreement, the loss along the straight line raw and
aligned, and linear CKA of every layer. Bounded like the sweep comparison: at most
`MAX_POINTS` evaluation points, and for the two lines as many training points (evenly spaced,
`MIN_ROWS` to `MAX_LINE_POINTS`) as keep them within `plugin_compare.MAX_MACS` multiply-adds."""

from __future__ import annotations

from typing import Any

import numpy as np

from sweepd.analysis.function_evidence import _subsample
from sweepd.analysis.functional import DEFAULT_ALPHAS, _classes
from sweepd.analysis.models import PairComparison
from sweepd.analysis.pair import DatasetLike, _curve, evaluation
from sweepd.analysis.plugin_compare import (
    CKA_ROWS,
    MAX_MACS,
    MIN_ROWS,
    _centred_gram,
    _n_classes,
    linear_cka_gram,
)
from sweepd.analysis.plugin_matching import align
from sweepd.analysis.plugin_net import flat_norm, plugin_net
from sweepd.errors import InvalidSpec
from sweepd.records import TrialRecord

MAX_POINTS = 2_000
MAX_LINE_POINTS = 512


def compare_plugin_pair(trial_a: TrialRecord, weights_a: Any, trial_b: TrialRecord,
                        weights_b: Any, model_spec: Any, dataset: DatasetLike, *,
                        loss: str = "auto", alphas: np.ndarray | None = None, seed: int = 0,
                        max_width: int | None = None) -> PairComparison:
    """Compare two trials of one plugin model by weights and by function.

    Raises:
        InvalidSpec: weights that do not fit the model or are not finite, or a permutation
            group wider than `max_width`.
    """
    x_train, y_train = np.asarray(dataset.x_train), np.asarray(dataset.y_train)
    net = plugin_net(model_spec, x_train.shape[1], _n_classes(dataset), loss)
    if max_width is not None and net.groups and max(net.widths) > max_width:
        raise InvalidSpec(f"a layer of {max(net.widths)} units is wider than the alignment cap "
                          f"of {max_width} (SWEEPD_COMPARE_MAX_MATCHING_WIDTH)")
    pa, pb = net.params(weights_a, trial_a.id), net.params(weights_b, trial_b.id)
    for trial, p in ((trial_a, pa), (trial_b, pb)):
        if not all(np.all(np.isfinite(v)) for v in p.values()):
            raise InvalidSpec(f"trial {trial.id} diverged: its weights are not finite")
    found = align(pa, pb, net.groups, signed=net.odd, seed=seed)
    scale = (flat_norm(pa) + flat_norm(pb)) / 2
    ev = evaluation(dataset)
    x_eval = _subsample(ev.x, MAX_POINTS)
    grid = DEFAULT_ALPHAS if alphas is None else np.asarray(alphas, dtype=np.float64)
    rows = int(np.clip(MAX_MACS / (net.macs_per_row * 2 * (len(grid) + 2)), MIN_ROWS,
                       MAX_LINE_POINTS))
    xt, yt = _subsample(x_train, rows), _subsample(y_train, rows)
    raw = net.line(pa, pb, xt, yt, grid, loss)
    aligned = net.line(pa, found.aligned, xt, yt, grid, loss)
    x_cka = _subsample(x_eval, CKA_ROWS)
    la, lb = net.run(pa, x_cka)[0], net.run(pb, x_cka)[0]
    cka = [linear_cka_gram(_centred_gram(a.reshape(len(a), -1)),
                           _centred_gram(b.reshape(len(b), -1))) for a, b in zip(la, lb)]
    za, zb = net.logits(pa, x_eval), net.logits(pb, x_eval)
    return PairComparison(
        trial_a=trial_a.id, trial_b=trial_b.id, activation=net.activation,
        raw_distance=found.raw_distance,
        raw_relative_distance=found.raw_distance / scale if scale > 0 else 0.0,
        aligned_distance=found.distance,
        aligned_relative_distance=found.distance / scale if scale > 0 else 0.0, exact=False,
        permutations=[p.tolist() for p in found.perms],
        signs=[s.astype(int).tolist() for s in found.signs],
        disagreement=float(np.mean(_classes(za) != _classes(zb))), disagreement_on=ev.name,
        n_points=len(x_eval), barrier_raw=_curve(raw), barrier_aligned=_curve(aligned),
        cka=cka)
