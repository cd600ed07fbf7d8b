"""A sweep's variance decomposition from its trials (issue 16): the arms (initializer × grid
point), each a complete crossed array of the factors the spec varies, handed to
`sweepd.analysis.variance.decompose`."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from sweepd.analysis.compare import _value
from sweepd.analysis.models import VarianceDecomposition
from sweepd.analysis.variance import balanced_array, binomial_noise, decompose
from sweepd.records import TrialRecord

__all__ = ["FACTOR_WORDS", "sweep_variance"]

FACTOR_WORDS = {"init": "the initialization", "order": "the data order",
                "data": "the data draw"}


def sweep_variance(trials: Sequence[TrialRecord], *, metric: str, order_crossed: bool,
                   data_crossed: bool, n_test: int | None = None,
                   level: float = 0.95) -> VarianceDecomposition | None:
    """The decomposition of `metric` over the factors the sweep crosses, or None when fewer
    than two of them vary over at least two levels with complete data.

    Args:
        trials: the sweep's trials; those without a finite value are missing cells.
        metric: the comparison's metric name (tail metrics read the tail means).
        order_crossed: the spec gives order_seeds (else the order moves with the seed and is
            part of the init factor).
        data_crossed: the spec gives data_seeds.
        n_test: test points per draw, for the binomial noise of an accuracy; None: not an
            accuracy or no test set.
    """
    axes = ["init"] + (["order"] if order_crossed else []) + (["data"] if data_crossed else [])
    if len(axes) < 2:
        return None
    arms: dict[str, dict[tuple, float]] = {}
    for trial in trials:
        value = _value(trial, metric)
        levels = _levels(trial, order_crossed, data_crossed)
        arm = arms.setdefault(json.dumps([trial.params, trial.initializer_label],
                                         sort_keys=True, default=str), {})
        arm[levels] = value if value is not None else float("nan")
    arrays = _common_arrays(list(arms.values()), len(axes))
    if arrays is None:
        return None
    noise = None
    if n_test and "accuracy" in metric:
        noise = binomial_noise(float(np.mean([a.mean() for a in arrays])), n_test)
    return decompose(arrays, axes, metric=metric, level=level, test_noise=noise)


def _levels(trial: TrialRecord, order_crossed: bool, data_crossed: bool) -> tuple:
    # A stored null is the default: the order of the trial's seed, the spec's dataset.seed.
    out: list = [trial.seed]
    if order_crossed:
        out.append(trial.seed if trial.order_seed is None else trial.order_seed)
    if data_crossed:
        out.append(-1 if trial.data_seed is None else trial.data_seed)
    return tuple(out)


def _common_arms_levels(arms: list[dict[tuple, float]], n_axes: int) -> list[list] | None:
    kept: list[set] | None = None
    for cells in arms:
        _, levels = balanced_array(cells)
        sets = [set(k) for k in levels]
        kept = sets if kept is None else [a & b for a, b in zip(kept, sets)]
    if kept is None or len(kept) != n_axes or min(len(k) for k in kept) < 2:
        return None
    return [sorted(k) for k in kept]


def _common_arrays(arms: list[dict[tuple, float]], n_axes: int) -> list[np.ndarray] | None:
    """Arrays over the levels every arm has complete; None when a factor keeps under two."""
    levels = _common_arms_levels(arms, n_axes)
    if levels is None:
        return None
    shape = [len(k) for k in levels]
    index = [{v: i for i, v in enumerate(k)} for k in levels]
    out = []
    for cells in arms:
        array = np.full(shape, np.nan)
        for key, value in cells.items():
            if all(v in index[j] for j, v in enumerate(key)):
                array[tuple(index[j][v] for j, v in enumerate(key))] = value
        if np.isfinite(array).all():
            out.append(array)
    return out or None
