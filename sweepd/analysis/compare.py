"""Compare a sweep's trials (issues 4 and 11): the verdict, statistics per group, failures,
distinct solutions modulo symmetry, whether the runs compute the same function, and paired
tests between initializers; and compare two trials in depth.

A group is one initializer at one grid point. The verdict ranks on the accuracy averaged over
the last steps (`TrialResult.tail`: both phases of an edge-of-stability 2-cycle), on the test
set or, without one, the training set; the final values are reported beside it. Trials still
pending or running are left out and the comparison says it is partial.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sweepd.analysis import diagnostics as diag
from sweepd.analysis._net import Layers, as_layers
from sweepd.analysis.distances import distance_matrix
from sweepd.analysis.draw_solutions import solution_clusters, split_by_draw
from sweepd.analysis.function_evidence import function_evidence
from sweepd.analysis.models import (
    CLASSIFICATION_METRICS,
    METRICS,
    REGRESSION_METRICS,
    TAIL_METRICS,
    Comparison,
    Failures,
    Group,
    PairwiseComparison,
    Solutions,
    TrialDiagnostics,
)
from sweepd.analysis.pair import (
    DatasetLike,
    Evaluation,
    check_architecture,
    compare_pair,
    evaluation,
    is_regression,
)
from sweepd.analysis.stats import binomial_se, describe, noether_min_pairs, paired
from sweepd.analysis.verdict import CONVERGED_TAIL_CHANGE, build_verdict
from sweepd.errors import InvalidSpec
from sweepd.models_registry import MLP
from sweepd.records import TrialRecord
from sweepd.spec import ModelSpec
from sweepd.states import FINAL_TRIAL_STATES

__all__ = ["compare_pair", "compare_sweep"]

DEFAULT_MAX_PAIRS = 20_000  # per group, one hidden layer (exact and vectorised)
DEFAULT_MAX_PAIRS_DEEP = 1_000  # per group, deeper nets (weight matching per pair)
LARGER_IS_BETTER = {"test_accuracy": True, "train_accuracy": True, "train_cost_tail": False,
                    "train_cost": False, "test_cost": False, "test_accuracy_tail": True,
                    "train_accuracy_tail": True, "test_cost_tail": False, "test_r2": True,
                    "train_r2": True, "test_r2_tail": True, "train_r2_tail": True}


def compare_sweep(trials: Sequence[TrialRecord], weights_by_trial_id: Mapping[int, Any],
                  model_spec: ModelSpec, dataset: DatasetLike, *,
                  metric: str = "test_accuracy", tolerance: float = 0.05,
                  n_total: int | None = None, max_pairs: int | None = None, seed: int = 0,
                  n_boot: int = 2000, loss: str = "auto",
                  rope: float | None = None, verdict: bool = True,
                  max_matching_cost: float | None = None,
                  max_matching_width: int | None = None) -> Comparison:
    """Compare every trial of a sweep that has a result.

    Args:
        trials: the sweep's trials (any state); those without a result are counted only.
        weights_by_trial_id: final weights (stored scheme) of every trial with a result.
        model_spec: the sweep's model (activation, widths).
        dataset: the sweep's data (`sweepd.datasets.load`); accuracy is the test set's, or the
            training set's when there is no test set.
        metric: the value paired comparisons use (one of `METRICS`); a test metric falls
            back to the training one when the data set has no test set, and a note says so.
        tolerance: largest aligned relative distance within one solution (complete linkage).
        n_total: the sweep's number of trials (default: len(trials)).
        max_pairs: pair budget per group for solutions; the first trials by seed that fit are
            clustered (default 20 000 for one hidden layer, 1 000 for deeper nets and plugin
            models, which `plugin_compare` compares by running their module).
        seed: bootstrap seed. n_boot: bootstrap resamples.
        loss: the training loss, for the loss barriers ("auto": the engine's bce or ce).
        rope: region of practical equivalence of the ranked accuracy (default: the larger of
            the evaluation set's binomial SE at the best accuracy and 0.001).
        verdict: build the verdict too (False: a caller that merges parts builds it once).
        max_matching_cost: bounds the pair budget by the alignment work, pairs × `pair_cost`
            (Σ width³ per pair, × 3 starts of weight matching for deeper nets); None: no bound.
        max_matching_width: hidden layers wider than this are not aligned at all (no
            solutions, a note says so); None: no cap.

    Returns:
        The Comparison.

    Raises:
        InvalidSpec: unknown metric, tolerance ≤ 0, max_pairs < 1, missing weights of a
            finished trial, or weights that do not fit the model.
    """
    _check_options(metric, tolerance, max_pairs)
    if model_spec.plugin != MLP:  # any other plugin module: run it on the weights (issue 18)
        from sweepd.analysis.plugin_compare import compare_plugin_sweep

        return compare_plugin_sweep(
            trials, weights_by_trial_id, model_spec, dataset, metric=metric,
            tolerance=tolerance, n_total=n_total, max_pairs=max_pairs, seed=seed, n_boot=n_boot,
            loss=loss, rope=rope, verdict=verdict, max_matching_cost=max_matching_cost,
            max_matching_width=max_matching_width)
    ev = evaluation(dataset)
    asked, metric = metric, _available(metric, ev.name)
    if is_regression(dataset):  # a regression target: its R² stands where an accuracy would
        metric = metric.replace("accuracy", "r2")
    too_wide = max_matching_width is not None and max(model_spec.hidden) > max_matching_width
    context = _Context(model_spec, ev, _effective_inputs(dataset), metric, tolerance,
                       _pair_budget(model_spec, max_pairs, max_matching_cost), seed, n_boot,
                       dataset, loss, align=not too_wide)
    grouped = _group(trials)
    groups = [_group_result(key, members, weights_by_trial_id, context)
              for key, members in grouped.items()]
    total = len(trials) if n_total is None else n_total
    n_finished = sum(t.state in FINAL_TRIAL_STATES for t in trials)
    with_result = sum(t.result is not None for t in trials)
    comparison = Comparison(
        metric=metric, tolerance=tolerance, activation=model_spec.activation, n_total=total,
        n_finished=n_finished, n_with_result=with_result, partial=n_finished < total,
        accuracy_on=ev.name, n_eval=ev.n, min_pairs=noether_min_pairs(),
        ranked_metric=context.ranked, groups=groups,
        pairs=_pairwise(grouped, context), notes=[],
    )
    notes = _notes(comparison, asked) + _bound_notes(comparison, context, max_matching_width)
    answer = build_verdict(comparison, rope=rope) if verdict else None
    return comparison.model_copy(update={"notes": notes, "verdict": answer})


def _available(metric: str, evaluated_on: str) -> str:
    """The metric itself, or its training twin when there is no test set."""
    if evaluated_on == "train" and metric.startswith("test_"):
        return "train_" + metric[len("test_"):]
    return metric


class _Context:
    def __init__(self, model: ModelSpec, ev: Evaluation, x_effective: np.ndarray, metric: str,
                 tolerance: float, max_pairs: int, seed: int, n_boot: int,
                 dataset: DatasetLike, loss: str, *, align: bool = True) -> None:
        self.model, self.activation, self.ev = model, model.activation, ev
        self.x_effective, self.metric, self.tolerance = x_effective, metric, tolerance
        self.max_pairs, self.seed, self.n_boot = max_pairs, seed, n_boot
        # A regression target (issue 17): R² where classes have an accuracy, no majority class.
        self.regression = is_regression(dataset)
        self.majority = None if self.regression else diag.majority_rate(ev.y)
        self.dataset, self.align = dataset, align
        self.loss = "regression" if self.regression else loss
        self.score = "r2" if self.regression else "accuracy"
        self.ranked = f"{ev.name}_{self.score}_tail"
        self.metrics = REGRESSION_METRICS if self.regression else CLASSIFICATION_METRICS


def _check_options(metric: str, tolerance: float, max_pairs: int | None) -> None:
    if metric not in METRICS:
        raise InvalidSpec(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance > 0):
        raise InvalidSpec("tolerance must be a positive number (relative distance)")
    if max_pairs is not None and max_pairs < 1:
        raise InvalidSpec("max_pairs must be at least 1")


def default_max_pairs(model: ModelSpec) -> int:
    """The pair budget per group when none is given."""
    one_layer = len(model.hidden) == 1 and model.plugin == MLP  # plugins: weight matching
    return DEFAULT_MAX_PAIRS if one_layer else DEFAULT_MAX_PAIRS_DEEP


def pair_cost(model: ModelSpec) -> int:
    """The alignment work of one pair of runs, in units of width³ (one assignment per layer,
    three starts of weight matching for deeper nets)."""
    per_pass = sum(int(w) ** 3 for w in model.hidden)
    return per_pass if len(model.hidden) == 1 else 3 * per_pass


def _pair_budget(model: ModelSpec, max_pairs: int | None, max_cost: float | None) -> int:
    budget = default_max_pairs(model) if max_pairs is None else max_pairs
    if max_cost is not None:
        budget = min(budget, max(1, int(max_cost // pair_cost(model))))
    return budget


def _bound_notes(comparison: Comparison, ctx: _Context, max_width: int | None) -> list[str]:
    """What the work bounds left out, so that a sample is never mistaken for the whole."""
    if not ctx.align:
        return [f"solutions modulo symmetry are not computed: a hidden layer of "
                f"{max(ctx.model.hidden)} units is wider than the alignment cap of {max_width} "
                f"(SWEEPD_COMPARE_MAX_MATCHING_WIDTH)"]
    sampled = [g for g in comparison.groups if g.solutions and g.solutions.n_left_out]
    if not sampled:
        return []
    sizes = ", ".join(f"{g.initializer} {g.solutions.n_trials} of "
                      f"{g.solutions.n_trials + g.solutions.n_left_out}"
                      for g in sampled if g.solutions)
    return [f"sampled: solutions are clustered over the first runs by seed within a budget of "
            f"{ctx.max_pairs} pairs per initializer ({sizes} runs)"]


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
    """The metric of a trial's result; a tail metric falls back to the final value for results
    stored before tails were recorded."""
    result = trial.result
    if result is None:
        return None
    if metric in TAIL_METRICS:
        value = getattr(result.tail if result.tail is not None else result, TAIL_METRICS[metric])
    else:
        value = getattr(result, metric)
    return value if value is not None and math.isfinite(value) else None


def _accuracy(trial: TrialRecord, ev: Evaluation, score: str = "accuracy") -> float | None:
    """The final accuracy (R² for a regression target: `score` "r2") on the evaluation set."""
    return _value(trial, f"{ev.name}_{score}")


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
        accuracy = _accuracy(trial, ctx.ev, ctx.score)
        out.append(TrialDiagnostics(
            trial_id=trial.id, seed=trial.seed,
            diverged=trial.result.status == "diverged" or not found.finite[i],
            symmetry_never_broken=bool(found.symmetry_never_broken[i]),
            dead_units=int(found.dead_units[i].sum()),
            stuck_at_chance=accuracy is not None and (
                accuracy <= 0.0 if ctx.majority is None  # R²: no better than the mean
                else diag.stuck_at_chance(accuracy, ctx.majority, ctx.ev.n)),
            effective_units=[int(c) for c in found.effective_units[i]]
            if found.finite[i] else None,
            tail_change=diag.tail_change(trial.result.curve),
            value=_value(trial, ctx.ranked),
            oscillating=trial.result.tail.oscillating if trial.result.tail else None,
            accuracy_gap=trial.result.tail.accuracy_gap if trial.result.tail else None,
        ))
    return out


def _group_result(key: tuple[str, str], members: list[TrialRecord],
                  weights: Mapping[int, Any], ctx: _Context) -> Group:
    done = [t for t in members if t.result is not None]
    layers = {t.id: _layers_of(t, weights, ctx.model) for t in done}
    trials = _diagnose(done, layers, ctx)
    # The IQM's bootstrap interval is drawn for the ranked metric only: the verdict reports it.
    stats = {m: describe([v for t in done if (v := _value(t, m)) is not None],
                         seed=ctx.seed, n_boot=ctx.n_boot, iqm_interval=m == ctx.ranked)
             for m in ctx.metrics}
    accuracy = stats[ctx.ranked].mean
    return Group(
        initializer=key[1], params=dict(members[0].params), n_trials=len(members),
        n_finished=len(done), stats=stats,
        steps=max((t.result.steps for t in done), default=None),
        hidden=list(ctx.model.hidden),
        accuracy_noise_floor=None if accuracy is None or ctx.regression
        else binomial_se(accuracy, ctx.ev.n),
        failures=_failures(members, trials),
        solutions=_solutions(done, layers, trials, ctx), trials=trials,
    )


def _failures(members: list[TrialRecord], trials: list[TrialDiagnostics]) -> Failures:
    bad = {t.id for t in members if t.state == "failed"} | {
        d.trial_id for d in trials
        if d.diverged or d.symmetry_never_broken or d.dead_units or d.stuck_at_chance}
    return Failures(
        any=len(bad),
        failed=sum(t.state == "failed" for t in members),
        diverged=sum(d.diverged for d in trials),
        symmetry_never_broken=sum(d.symmetry_never_broken for d in trials),
        dead_units=sum(d.dead_units > 0 for d in trials),
        stuck_at_chance=sum(d.stuck_at_chance for d in trials),
    )


def _solutions(done: list[TrialRecord], layers: dict[int, Layers],
               trials: list[TrialDiagnostics], ctx: _Context) -> Solutions | None:
    ok = sorted((t for t, d in zip(done, trials) if not d.diverged), key=lambda t: t.seed)
    if not ok or not ctx.align:
        return None
    fits = int((1 + math.sqrt(1 + 8 * ctx.max_pairs)) / 2)  # largest n with n(n-1)/2 ≤ budget
    chosen = ok[:max(1, fits)]
    matrices = distance_matrix([layers[t.id] for t in chosen], ctx.activation, seed=ctx.seed)
    by_id = {d.trial_id: d for d in trials}
    tails = [c for t in chosen if (c := by_id[t.id].tail_change) is not None]
    # Clustered within each data draw (issue 16); one draw: all runs together.
    split = split_by_draw(matrices.aligned_relative, [t.data_seed for t in chosen],
                          [_converged(by_id[t.id]) for t in chosen], ctx.tolerance,
                          [_accuracy(t, ctx.ev, ctx.score) for t in chosen])
    upper = split.pairs
    nets = [layers[t.id] for t in chosen]
    return Solutions(
        n_trials=len(chosen), n_left_out=len(ok) - len(chosen), tolerance=ctx.tolerance,
        n_solutions=split.n_solutions,
        clusters=solution_clusters(split, [t.id for t in chosen]),
        mean_raw_distance=_mean(matrices.raw[upper]),
        mean_aligned_distance=_mean(matrices.aligned[upper]),
        mean_raw_relative=_mean(matrices.raw_relative[upper]),
        mean_aligned_relative=_mean(matrices.aligned_relative[upper]),
        exact=matrices.exact, median_tail_change=float(np.median(tails)) if tails else None,
        effective_units=_histogram(by_id[t.id].effective_units for t in chosen),
        n_converged=sum(_converged(by_id[t.id]) for t in chosen),
        distinct=split.distinct, clear_groups=split.clear_groups,
        largest_within=split.largest_within, smallest_between=split.smallest_between,
        by_data_draw=split.by_draw,
        function=function_evidence(nets, ctx.ev.x, ctx.dataset.x_train, ctx.dataset.y_train,
                                   ctx.activation, loss=ctx.loss, seed=ctx.seed),
    )


def _converged(d: TrialDiagnostics) -> bool:
    return d.tail_change is not None and d.tail_change <= CONVERGED_TAIL_CHANGE


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


def _by_seed(members: list[TrialRecord], metric: str) -> dict[tuple[int, int, int], float]:
    """Values by (seed, order seed, data draw): trials of two initializers pair when they
    share all three (issue 16), so a pair sees the same minibatches and the same data."""
    out: dict[tuple[int, int, int], float] = {}
    for trial in members:
        value = _value(trial, metric)
        if value is not None:
            order = trial.seed if trial.order_seed is None else trial.order_seed
            data = -1 if trial.data_seed is None else trial.data_seed
            out.setdefault((trial.seed, order, data), value)
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


def _notes(comparison: Comparison, asked: str) -> list[str]:
    notes = []
    if comparison.partial:
        notes.append(f"partial: {comparison.n_finished} of {comparison.n_total} trials have "
                     f"finished; the figures cover the {comparison.n_with_result} with a result")
    if asked != comparison.metric:
        notes.append(f"this sweep has no test set: {asked} is replaced by {comparison.metric}, "
                     f"and accuracies are the training set's")
    if any(g.accuracy_noise_floor for g in comparison.groups):
        notes.append(f"noise floor: accuracy is measured on {comparison.n_eval} "
                     f"{comparison.accuracy_on} points, so each initializer's accuracy has a "
                     f"binomial standard error √(p(1−p)/n) (per initializer in the table). It "
                     f"bounds how far the accuracy on another draw of the {comparison.accuracy_on}"
                     f" set could move, not the spread over seeds on this shared set")
    return notes
