"""Compare a sweep's trials (issue 4): statistics per group, failures, distinct solutions
modulo symmetry, and paired tests between initializers; and compare two trials in depth.

A group is one initializer at one grid point. Costs are compared on the tail average of the
training cost (SCIENCE.md §6), the final values are reported beside it. Trials still pending or
running are left out and the comparison says it is partial.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from sweepd.analysis import diagnostics as diag
from sweepd.analysis._net import Layers, as_layers
from sweepd.analysis.clusters import cluster_solutions
from sweepd.analysis.distances import distance_matrix
from sweepd.analysis.models import (
    METRICS, Comparison, Failures, Group, PairwiseComparison, SolutionCluster, Solutions,
    TrialDiagnostics,
)
from sweepd.analysis.pair import Evaluation, check_architecture, compare_pair, evaluation
from sweepd.analysis.stats import binomial_se, describe, noether_min_pairs, paired
from sweepd.errors import InvalidSpec
from sweepd.spec import ModelSpec
from sweepd.storage.records import FINAL_TRIAL_STATES, TrialRecord

__all__ = ["compare_pair", "compare_sweep"]

DEFAULT_MAX_PAIRS = 20_000  # per group, one hidden layer (exact and vectorised)
DEFAULT_MAX_PAIRS_DEEP = 1_000  # per group, deeper nets (weight matching per pair)
LARGER_IS_BETTER = {"test_accuracy": True, "train_accuracy": True, "train_cost_tail": False,
                    "train_cost": False, "test_cost": False}


class DatasetLike(Protocol):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def compare_sweep(trials: Sequence[TrialRecord], weights_by_trial_id: Mapping[int, Any],
                  model_spec: ModelSpec, dataset: DatasetLike, *,
                  metric: str = "test_accuracy", tolerance: float = 0.05,
                  n_total: int | None = None, max_pairs: int | None = None, seed: int = 0,
                  n_boot: int = 2000) -> Comparison:
    """Compare every trial of a sweep that has a result.

    Args:
        trials: the sweep's trials (any state); those without a result are counted only.
        weights_by_trial_id: final weights (stored scheme) of every trial with a result.
        model_spec: the sweep's model (activation, widths).
        dataset: the sweep's data (`sweepd.datasets.load`); accuracy is the test set's, or the
            training set's when there is no test set.
        metric: the value paired comparisons use (one of `METRICS`).
        tolerance: largest aligned relative distance within one solution (complete linkage).
        n_total: the sweep's number of trials (default: len(trials)).
        max_pairs: pair budget per group for solutions; the first trials by seed that fit are
            clustered (default 20 000 for one hidden layer, 1 000 for deeper nets).
        seed: bootstrap seed. n_boot: bootstrap resamples.

    Returns:
        The Comparison.

    Raises:
        InvalidSpec: unknown metric, tolerance ≤ 0, max_pairs < 1, missing weights of a
            finished trial, or weights that do not fit the model.
    """
    _check_options(metric, tolerance, max_pairs)
    ev = evaluation(dataset)
    context = _Context(model_spec, ev, _effective_inputs(dataset), metric, tolerance,
                       _pair_budget(model_spec, max_pairs), seed, n_boot)
    grouped = _group(trials)
    groups = [_group_result(key, members, weights_by_trial_id, context)
              for key, members in grouped.items()]
    total = len(trials) if n_total is None else n_total
    n_finished = sum(t.state in FINAL_TRIAL_STATES for t in trials)
    with_result = sum(t.result is not None for t in trials)
    comparison = Comparison(
        metric=metric, tolerance=tolerance, activation=model_spec.activation, n_total=total,
        n_finished=n_finished, n_with_result=with_result, partial=n_finished < total,
        accuracy_on=ev.name, n_eval=ev.n, min_pairs=noether_min_pairs(), groups=groups,
        pairs=_pairwise(grouped, context), notes=[],
    )
    return comparison.model_copy(update={"notes": _notes(comparison)})


class _Context:
    def __init__(self, model: ModelSpec, ev: Evaluation, x_effective: np.ndarray, metric: str,
                 tolerance: float, max_pairs: int, seed: int, n_boot: int) -> None:
        self.model, self.activation, self.ev = model, model.activation, ev
        self.x_effective, self.metric, self.tolerance = x_effective, metric, tolerance
        self.max_pairs, self.seed, self.n_boot = max_pairs, seed, n_boot
        self.majority = diag.majority_rate(ev.y)


def _check_options(metric: str, tolerance: float, max_pairs: int | None) -> None:
    if metric not in METRICS:
        raise InvalidSpec(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance > 0):
        raise InvalidSpec("tolerance must be a positive number (relative distance)")
    if max_pairs is not None and max_pairs < 1:
        raise InvalidSpec("max_pairs must be at least 1")


def _pair_budget(model: ModelSpec, max_pairs: int | None) -> int:
    if max_pairs is not None:
        return max_pairs
    return DEFAULT_MAX_PAIRS if len(model.hidden) == 1 else DEFAULT_MAX_PAIRS_DEEP


def _effective_inputs(dataset: DatasetLike, limit: int = 512) -> np.ndarray:
    """Evenly spaced training inputs: enough to estimate each unit's activation spread, which
    only has to clear a threshold of 1 % of the largest."""
    x = np.asarray(dataset.x_train, dtype=np.float64)
    return x if len(x) <= limit else x[np.linspace(0, len(x) - 1, limit).astype(int)]


def _params_key(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def _group(trials: Sequence[TrialRecord]) -> dict[tuple[str, str], list[TrialRecord]]:
    """Trials by (grid point, initializer label), in order of first appearance."""
    out: dict[tuple[str, str], list[TrialRecord]] = {}
    for trial in trials:
        out.setdefault((_params_key(trial.params), trial.initializer_label), []).append(trial)
    return out


def _value(trial: TrialRecord, metric: str) -> float | None:
    value = None if trial.result is None else getattr(trial.result, metric)
    return value if value is not None and math.isfinite(value) else None


def _accuracy(trial: TrialRecord, ev: Evaluation) -> float | None:
    return _value(trial, "test_accuracy" if ev.name == "test" else "train_accuracy")


def _layers_of(trial: TrialRecord, weights: Mapping[int, Any], model: ModelSpec) -> Layers:
    if trial.id not in weights:
        raise InvalidSpec(f"trial {trial.id} has a result but no weights were given")
    layers = as_layers(weights[trial.id])
    check_architecture(layers, model, trial.id)
    return layers


def _diagnose(done: list[TrialRecord], layers: dict[int, Layers],
              ctx: _Context) -> list[TrialDiagnostics]:
    if not done:
        return []
    found = diag.diagnose_stack([layers[t.id] for t in done], ctx.x_effective, ctx.activation)
    out = []
    for i, trial in enumerate(done):
        accuracy = _accuracy(trial, ctx.ev)
        out.append(TrialDiagnostics(
            trial_id=trial.id, seed=trial.seed,
            diverged=trial.result.status == "diverged" or not found.finite[i],
            symmetry_never_broken=bool(found.symmetry_never_broken[i]),
            dead_units=int(found.dead_units[i].sum()),
            stuck_at_chance=accuracy is not None and diag.stuck_at_chance(
                accuracy, ctx.majority, ctx.ev.n),
            effective_units=[int(c) for c in found.effective_units[i]]
            if found.finite[i] else None,
            tail_change=diag.tail_change(trial.result.curve),
        ))
    return out


def _group_result(key: tuple[str, str], members: list[TrialRecord],
                  weights: Mapping[int, Any], ctx: _Context) -> Group:
    done = [t for t in members if t.result is not None]
    layers = {t.id: _layers_of(t, weights, ctx.model) for t in done}
    trials = _diagnose(done, layers, ctx)
    stats = {m: describe([v for t in done if (v := _value(t, m)) is not None],
                         seed=ctx.seed, n_boot=ctx.n_boot) for m in METRICS}
    accuracy = stats["test_accuracy" if ctx.ev.name == "test" else "train_accuracy"].mean
    return Group(
        initializer=key[1], params=dict(members[0].params), n_trials=len(members),
        n_finished=len(done), stats=stats,
        accuracy_noise_floor=None if accuracy is None else binomial_se(accuracy, ctx.ev.n),
        failures=_failures(members, trials),
        solutions=_solutions(done, layers, trials, ctx), trials=trials,
    )


def _failures(members: list[TrialRecord], trials: list[TrialDiagnostics]) -> Failures:
    return Failures(
        failed=sum(t.state == "failed" for t in members),
        diverged=sum(d.diverged for d in trials),
        symmetry_never_broken=sum(d.symmetry_never_broken for d in trials),
        dead_units=sum(d.dead_units > 0 for d in trials),
        stuck_at_chance=sum(d.stuck_at_chance for d in trials),
    )


def _solutions(done: list[TrialRecord], layers: dict[int, Layers],
               trials: list[TrialDiagnostics], ctx: _Context) -> Solutions | None:
    ok = sorted((t for t, d in zip(done, trials) if not d.diverged), key=lambda t: t.seed)
    if not ok:
        return None
    fits = int((1 + math.sqrt(1 + 8 * ctx.max_pairs)) / 2)  # largest n with n(n-1)/2 ≤ budget
    chosen = ok[:max(1, fits)]
    matrices = distance_matrix([layers[t.id] for t in chosen], ctx.activation, seed=ctx.seed)
    clusters = cluster_solutions(matrices.aligned_relative, ctx.tolerance,
                                 [_accuracy(t, ctx.ev) for t in chosen])
    upper = np.triu_indices(len(chosen), 1)
    by_id = {d.trial_id: d for d in trials}
    tails = [c for t in chosen if (c := by_id[t.id].tail_change) is not None]
    return Solutions(
        n_trials=len(chosen), n_left_out=len(ok) - len(chosen), tolerance=ctx.tolerance,
        n_solutions=len(clusters),
        clusters=[SolutionCluster(size=c.size, trial_ids=[chosen[i].id for i in c.members],
                                  representative_trial_id=chosen[c.representative].id,
                                  mean_accuracy=c.mean_accuracy) for c in clusters],
        mean_raw_distance=_mean(matrices.raw[upper]),
        mean_aligned_distance=_mean(matrices.aligned[upper]),
        mean_raw_relative=_mean(matrices.raw_relative[upper]),
        mean_aligned_relative=_mean(matrices.aligned_relative[upper]),
        exact=matrices.exact, median_tail_change=float(np.median(tails)) if tails else None,
        effective_units=_histogram(by_id[t.id].effective_units for t in chosen),
    )


def _mean(values: np.ndarray) -> float | None:
    return float(np.mean(values)) if values.size else None


def _histogram(counts: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for per_layer in counts:
        key = "-".join(str(c) for c in per_layer)
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _pairwise(grouped: dict[tuple[str, str], list[TrialRecord]],
              ctx: _Context) -> list[PairwiseComparison]:
    out = []
    points = list(dict.fromkeys(point for point, _ in grouped))
    for point in points:
        labels = [label for p, label in grouped if p == point]
        for i, label_a in enumerate(labels):
            for label_b in labels[i + 1:]:
                out.append(_paired_groups(point, label_a, label_b, grouped, ctx))
    return out


def _by_seed(members: list[TrialRecord], metric: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for trial in members:
        value = _value(trial, metric)
        if value is not None:
            out.setdefault(trial.seed, value)
    return out


def _paired_groups(point: str, label_a: str, label_b: str,
                   grouped: dict[tuple[str, str], list[TrialRecord]],
                   ctx: _Context) -> PairwiseComparison:
    a = _by_seed(grouped[(point, label_a)], ctx.metric)
    b = _by_seed(grouped[(point, label_b)], ctx.metric)
    seeds = sorted(a.keys() & b.keys())
    stats = paired([a[s] for s in seeds], [b[s] for s in seeds],
                   larger_is_better=LARGER_IS_BETTER[ctx.metric], seed=ctx.seed,
                   n_boot=ctx.n_boot)
    return PairwiseComparison(params=json.loads(point), initializer_a=label_a,
                              initializer_b=label_b, metric=ctx.metric, stats=stats)


def _notes(comparison: Comparison) -> list[str]:
    notes = []
    if comparison.partial:
        notes.append(f"partial: {comparison.n_finished} of {comparison.n_total} trials have "
                     f"finished; the figures cover the {comparison.n_with_result} with a result")
    floors = [g.accuracy_noise_floor for g in comparison.groups if g.accuracy_noise_floor]
    if floors:
        notes.append(f"accuracy is measured on {comparison.n_eval} {comparison.accuracy_on} "
                     f"points: its binomial standard error (~{max(floors):.4f}) is a noise "
                     f"floor; seed spreads of accuracy below it are measurement noise")
    if any(p.stats.note for p in comparison.pairs):
        notes.append(f"some paired comparisons have fewer than {comparison.min_pairs} shared "
                     f"seeds: they cannot decide between the initializers")
    return notes
