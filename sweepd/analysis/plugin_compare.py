"""The comparison of plugin models beyond the built-in MLP (issue 18, item 4).

A sweep whose model is a plugin (`model: {plugin: "sweepd.cnn", ...}`) is compared by running
its torch module (`torch.func.functional_call`) on the stored weights (`plugin_net`):

- function, for every model: prediction disagreement, |Δp|, linear CKA of every layer's
  activations (`cka` the first layer's, `cka_layers` each layer's) and the loss barrier on the
  training set, over a stated sample of pairs and points;
- alignment modulo permutation, for a model with a permutation spec (MLPs of any depth, the
  CNN): weight matching over the spec's groups (`plugin_matching`; sign flips only when the
  net is odd), raw vs aligned distances, solutions clustered on the aligned relative distance,
  and the aligned barrier. Without a spec distances stay raw and a note says so;
- the same groups, failures, paired tests and verdict as the built-in comparison.

Cost bound (`Budget`), stated in the notes and in the output's counts: per group at most
`max_pairs` aligned pairs (default `compare.DEFAULT_MAX_PAIRS_DEEP`), fewer when pairs ×
`pair_cost` exceeds `max_matching_cost`; `FUNCTION_PAIRS` pairs for the functional figures
and `BARRIER_PAIRS` of them for the barriers; the points of the forward passes are evenly
spaced subsamples, as many as keep a group's forward passes within `MAX_MACS` multiply-adds:
half for one pass per run (diagnostics, predictions: `rows` points), half for the barrier
lines (`line_rows` training points), each between `MIN_ROWS` and `MAX_ROWS`; CKA on at most
`CKA_ROWS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sweepd.analysis import compare as cmp
from sweepd.analysis.function_evidence import _pairs, _subsample
from sweepd.analysis.functional import _classes, _probabilities
from sweepd.analysis.models import (
    METRICS,
    Comparison,
    FunctionEvidence,
    Group,
    Solutions,
    TrialDiagnostics,
)
from sweepd.analysis.pair import DatasetLike, evaluation
from sweepd.analysis.plugin_diagnostics import channel_spread, diagnose
from sweepd.analysis.plugin_matching import align
from sweepd.analysis.plugin_net import Params, PluginNet, flat_norm, plugin_net
from sweepd.analysis.stats import binomial_se, describe, noether_min_pairs
from sweepd.errors import InvalidSpec
from sweepd.records import TrialRecord
from sweepd.states import FINAL_TRIAL_STATES

FUNCTION_PAIRS = 100  # pairs of runs for disagreement, |Δp| and CKA, per group
BARRIER_PAIRS = 4  # of those, pairs for the loss barriers (raw and aligned)
MAX_ROWS = 512  # points of a forward pass at most (evenly spaced subsample)
MIN_ROWS = 64  # ... and at least, whatever the multiply-add budget
CKA_ROWS = 256  # points for CKA (a Gram matrix per run and layer)
MAX_MACS = 1e9  # multiply-adds of a group's forward passes (≈ 1 s at 1 GMAC/s, float64 on a CPU core)
ALPHAS = np.linspace(0.0, 1.0, 9)
MATCHING_PASSES = 3  # weight-matching passes charged per pair


@dataclass(frozen=True)
class Budget:
    """The work of one group, at most (see the module doc)."""

    pairs: int
    function_pairs: int
    barrier_pairs: int
    rows: int
    line_rows: int
    pair_cost: float
    macs: float


def pair_cost(net: PluginNet) -> float:
    """Multiply-adds of weight matching one pair: per pass and group, the similarity
    (units² × parameters per unit) and the assignment (units³)."""
    total = 0.0
    for g in net.groups:
        n = net.shapes[g.out[0]][0]
        per_unit = sum(math.prod(net.shapes[p]) for p in (*g.out, *g.into)) / n
        total += n**3 + n * n * per_unit
    return MATCHING_PASSES * total


def budget(net: PluginNet, n_runs: int, max_pairs: int | None,
           max_cost: float | None) -> Budget:
    """The bound for groups of at most `n_runs` runs."""
    pairs = cmp.DEFAULT_MAX_PAIRS_DEEP if max_pairs is None else max_pairs
    cost = pair_cost(net)
    if max_cost is not None and cost > 0:
        pairs = min(pairs, max(1, int(max_cost // cost)))
    chosen = min(n_runs, _fits(pairs))
    lines = min(BARRIER_PAIRS, chosen * (chosen - 1) // 2) * 2 * len(ALPHAS)  # ends included
    per_run = max(1, 2 * n_runs + chosen)  # diagnostics, predictions (and barriers' ends)

    def fit(forwards: int) -> int:
        return int(np.clip(MAX_MACS / 2 / (net.macs_per_row * max(1, forwards)), MIN_ROWS,
                           MAX_ROWS))

    rows, line_rows = fit(per_run), fit(lines)
    return Budget(pairs, FUNCTION_PAIRS, BARRIER_PAIRS, rows, line_rows, cost,
                  float(net.macs_per_row * (per_run * rows + lines * line_rows)))


def _fits(pairs: int) -> int:
    return max(1, int((1 + math.sqrt(1 + 8 * pairs)) / 2))  # largest n, n(n-1)/2 ≤ pairs


@dataclass
class _Run:
    ctx: Any  # compare._Context
    net: PluginNet
    budget: Budget
    x_diag: np.ndarray  # training points for the activation spreads
    x_eval: np.ndarray
    x_line: np.ndarray
    y_line: np.ndarray


def compare_plugin_sweep(trials: Sequence[TrialRecord], weights_by_trial_id: Mapping[int, Any],
                         model_spec: Any, dataset: DatasetLike, *, metric: str, tolerance: float,
                         n_total: int | None, max_pairs: int | None, seed: int, n_boot: int,
                         loss: str, rope: float | None, verdict: bool,
                         max_matching_cost: float | None,
                         max_matching_width: int | None) -> Comparison:
    """`compare.compare_sweep` for a plugin model (same arguments, options already checked)."""
    ev = evaluation(dataset)
    asked, metric = metric, cmp._available(metric, ev.name)
    x_train, y_train = np.asarray(dataset.x_train), np.asarray(dataset.y_train)
    net = plugin_net(model_spec, x_train.shape[1], _n_classes(dataset), loss)
    grouped = cmp._group(trials)
    largest = max((sum(t.result is not None for t in m) for m in grouped.values()), default=0)
    bound = budget(net, largest, max_pairs, max_matching_cost)
    too_wide = bool(net.groups) and max_matching_width is not None \
        and max(net.widths) > max_matching_width
    ctx = cmp._Context(model_spec, ev, x_train, metric, tolerance, bound.pairs, seed, n_boot,
                       dataset, loss, align=not too_wide)
    ctx.activation = net.activation
    run = _Run(ctx, net, bound, _subsample(x_train, bound.rows), _subsample(ev.x, bound.rows),
               _subsample(x_train, bound.line_rows), _subsample(y_train, bound.line_rows))
    groups = [_group_result(key, members, weights_by_trial_id, run)
              for key, members in grouped.items()]
    n_finished = sum(t.state in FINAL_TRIAL_STATES for t in trials)
    comparison = Comparison(
        metric=metric, tolerance=tolerance, activation=net.activation,
        n_total=len(trials) if n_total is None else n_total, n_finished=n_finished,
        n_with_result=sum(t.result is not None for t in trials),
        partial=n_finished < (len(trials) if n_total is None else n_total),
        accuracy_on=ev.name, n_eval=ev.n, min_pairs=noether_min_pairs(),
        ranked_metric=f"{ev.name}_accuracy_tail", groups=groups,
        pairs=cmp._pairwise(grouped, ctx), notes=[])
    notes = cmp._notes(comparison, asked) + _notes(comparison, run, max_matching_width)
    from sweepd.analysis.verdict import build_verdict

    answer = build_verdict(comparison, rope=rope) if verdict else None
    return comparison.model_copy(update={"notes": notes, "verdict": answer})


def _n_classes(dataset: DatasetLike) -> int:
    given = getattr(dataset, "n_classes", None)
    if given:
        return int(given)
    labels = np.concatenate([np.asarray(dataset.y_train), np.asarray(dataset.y_test)])
    return int(labels.max()) + 1 if labels.size else 2


def _params_of(trial: TrialRecord, weights: Mapping[int, Any], net: PluginNet) -> Params:
    if trial.id not in weights:
        raise InvalidSpec(f"trial {trial.id} has a result but no weights were given")
    return net.params(weights[trial.id], trial.id)


def _group_result(key: tuple[str, str], members: list[TrialRecord],
                  weights: Mapping[int, Any], run: _Run) -> Group:
    ctx, net = run.ctx, run.net
    done = [t for t in members if t.result is not None]
    params = {t.id: _params_of(t, weights, net) for t in done}
    trials = [_diagnose(t, params[t.id], run) for t in done]
    stats = {m: describe([v for t in done if (v := cmp._value(t, m)) is not None],
                         seed=ctx.seed, n_boot=ctx.n_boot, iqm_interval=m == ctx.ranked)
             for m in METRICS}
    accuracy = stats[ctx.ranked].mean
    return Group(
        initializer=key[1], params=dict(members[0].params), n_trials=len(members),
        n_finished=len(done), stats=stats,
        steps=max((t.result.steps for t in done), default=None),
        hidden=net.widths or _layer_widths(net),
        accuracy_noise_floor=None if accuracy is None else binomial_se(accuracy, ctx.ev.n),
        failures=cmp._failures(members, trials),
        solutions=_solutions(done, params, trials, run), trials=trials)


def _layer_widths(net: PluginNet) -> list[int]:
    layers, _ = net.run({n: np.zeros(s) for n, s in net.shapes.items()},
                        np.zeros((1, net.n_features)))
    return [int(h.shape[1]) for h in layers]


def _diagnose(trial: TrialRecord, params: Params, run: _Run) -> TrialDiagnostics:
    ctx = run.ctx
    finite = all(bool(np.all(np.isfinite(v))) for v in params.values())
    spreads = [channel_spread(h) for h in run.net.run(params, run.x_diag)[0]] if finite else None
    found = diagnose(run.net, params, spreads)
    accuracy = cmp._accuracy(trial, ctx.ev)
    result = trial.result
    return TrialDiagnostics(
        trial_id=trial.id, seed=trial.seed,
        diverged=result.status == "diverged" or not found.finite,
        symmetry_never_broken=found.symmetry_never_broken, dead_units=found.dead_units,
        stuck_at_chance=accuracy is not None and cmp.diag.stuck_at_chance(
            accuracy, ctx.majority, ctx.ev.n),
        effective_units=found.effective_units, tail_change=cmp.diag.tail_change(result.curve),
        value=cmp._value(trial, ctx.ranked),
        oscillating=result.tail.oscillating if result.tail else None,
        accuracy_gap=result.tail.accuracy_gap if result.tail else None)


def _solutions(done: list[TrialRecord], params: dict[int, Params],
               trials: list[TrialDiagnostics], run: _Run) -> Solutions | None:
    ctx, net = run.ctx, run.net
    ok = sorted((t for t, d in zip(done, trials) if not d.diverged), key=lambda t: t.seed)
    if not ok or not ctx.align:
        return None
    chosen = ok[:_fits(run.budget.pairs)]
    nets = [params[t.id] for t in chosen]
    rng = np.random.default_rng(ctx.seed)
    sample = _pairs(len(nets), run.budget.function_pairs, rng)
    kept = set(sample[:run.budget.barrier_pairs])
    raw, aligned, copies = _distances(nets, net, kept, ctx.seed)
    norms = np.array([flat_norm(p) for p in nets])
    raw_rel, aligned_rel = cmp_relative(raw, norms), cmp_relative(aligned, norms)
    by_id = {d.trial_id: d for d in trials}
    tails = [c for t in chosen if (c := by_id[t.id].tail_change) is not None]
    split = cmp.split_by_draw(aligned_rel, [t.data_seed for t in chosen],
                              [cmp._converged(by_id[t.id]) for t in chosen], ctx.tolerance,
                              [cmp._accuracy(t, ctx.ev) for t in chosen])
    upper = split.pairs
    spec = bool(net.groups)
    return Solutions(
        n_trials=len(chosen), n_left_out=len(ok) - len(chosen), tolerance=ctx.tolerance,
        n_solutions=split.n_solutions,
        clusters=cmp.solution_clusters(split, [t.id for t in chosen]),
        mean_raw_distance=cmp._mean(raw[upper]), mean_aligned_distance=cmp._mean(aligned[upper]),
        mean_raw_relative=cmp._mean(raw_rel[upper]),
        mean_aligned_relative=cmp._mean(aligned_rel[upper]), exact=False,
        median_tail_change=float(np.median(tails)) if tails else None,
        effective_units=cmp._histogram(u for t in chosen
                                       if (u := by_id[t.id].effective_units) is not None),
        n_converged=sum(cmp._converged(by_id[t.id]) for t in chosen),
        distinct=split.distinct if spec else None, clear_groups=split.clear_groups and spec,
        largest_within=split.largest_within if spec else None,
        smallest_between=split.smallest_between if spec else None,
        by_data_draw=split.by_draw,
        function=_function(nets, copies, sample, run))


def cmp_relative(distances: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """Distances ÷ the mean of the two nets' norms (0 where both are 0)."""
    scale = (norms[:, None] + norms[None, :]) / 2
    return np.divide(distances, scale, out=np.zeros_like(distances), where=scale > 0)


def _distances(nets: list[Params], net: PluginNet, kept: set[tuple[int, int]], seed: int
               ) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int], Params]]:
    """Raw and aligned distance matrices; the aligned copies of the `kept` pairs."""
    n = len(nets)
    raw, aligned = np.zeros((n, n)), np.zeros((n, n))
    copies: dict[tuple[int, int], Params] = {}
    for i, j in zip(*np.triu_indices(n, 1)):
        found = align(nets[i], nets[j], net.groups, signed=net.odd, seed=seed)
        raw[i, j] = raw[j, i] = found.raw_distance
        aligned[i, j] = aligned[j, i] = found.distance
        if (int(i), int(j)) in kept:
            copies[(int(i), int(j))] = found.aligned
    return raw, aligned, copies


class _Gram:
    """Centred, unit-norm Gram matrices of each run's layers (CKA = their inner product)."""

    def __init__(self, net: PluginNet, x: np.ndarray) -> None:
        self.net, self.x = net, x
        self.cache: dict[int, list[np.ndarray | None]] = {}

    def of(self, i: int, params: Params) -> list[np.ndarray | None]:
        if i not in self.cache:
            layers, _ = self.net.run(params, self.x)
            self.cache[i] = [_centred_gram(h.reshape(len(h), -1)) for h in layers]
        return self.cache[i]


def _centred_gram(h: np.ndarray) -> np.ndarray | None:
    h = h - h.mean(axis=0)
    gram = h @ h.T
    norm = np.linalg.norm(gram)
    return gram / norm if norm > 1e-300 else None


def linear_cka_gram(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    """Linear CKA from two `_centred_gram`s: ⟨K_a, K_b⟩_F (= ‖H_bᵀH_a‖²_F / (‖H_aᵀH_a‖ ‖H_bᵀH_b‖))."""
    return None if a is None or b is None else float(np.sum(a * b))


def _function(nets: list[Params], copies: dict[tuple[int, int], Params],
              sample: list[tuple[int, int]], run: _Run) -> FunctionEvidence | None:
    if len(nets) < 2:
        return None
    net, ctx = run.net, run.ctx
    z = [net.logits(p, run.x_eval) for p in nets]
    classes, probs = [_classes(zi) for zi in z], [_probabilities(zi) for zi in z]
    dis = np.array([np.mean(classes[i] != classes[j]) for i, j in sample])
    dp = np.array([np.mean(np.abs(probs[i] - probs[j])) for i, j in sample])
    grams = _Gram(net, _subsample(run.x_eval, CKA_ROWS))
    per_layer: list[list[float]] = [[] for _ in net.layer_names]
    for i, j in sample:
        for k, (a, b) in enumerate(zip(grams.of(i, nets[i]), grams.of(j, nets[j]))):
            if (c := linear_cka_gram(a, b)) is not None:
                per_layer[k].append(c)
    lines = [(i, j) for i, j in sample if (i, j) in copies]
    raw = [net.line(nets[i], nets[j], run.x_line, run.y_line, ALPHAS, ctx.loss).barrier
           for i, j in lines]
    aligned = [net.line(nets[i], copies[(i, j)], run.x_line, run.y_line, ALPHAS,
                        ctx.loss).barrier for i, j in lines] if net.groups else []
    cka_layers = [float(np.mean(v)) if v else None for v in per_layer]
    total = len(nets) * (len(nets) - 1) // 2
    return FunctionEvidence(
        n_pairs=len(sample), sampled=len(sample) < total, disagreement=float(dis.mean()),
        max_disagreement=float(dis.max()), mean_abs_dp=float(dp.mean()),
        n_barrier_pairs=len(raw), barrier_raw=float(np.mean(raw)) if raw else None,
        barrier_aligned=float(np.mean(aligned)) if aligned else None,
        cka=cka_layers[0] if cka_layers else None, cka_layers=cka_layers)


def _notes(comparison: Comparison, run: _Run, max_width: int | None) -> list[str]:
    net, b, ev = run.net, run.budget, run.ctx.ev
    n_train = len(run.ctx.dataset.y_train)
    notes = []
    if not net.groups:
        notes.append(f"{net.plugin} has no permutation spec: distances are raw, not modulo "
                     f"symmetry, so runs that differ only by an order of units count as "
                     f"different solutions; no aligned barrier")
    elif not run.ctx.align:
        notes.append(f"solutions modulo symmetry are not computed: a layer of "
                     f"{max(net.widths)} units (channels) is wider than the alignment cap of "
                     f"{max_width} (SWEEPD_COMPARE_MAX_MATCHING_WIDTH)")
    else:
        how = ("permutations and sign flips (every activation is odd)" if net.odd else
               "permutations only (no sign flips: the activation is not odd; no rescaling)")
        notes.append(f"{net.plugin}: runs are aligned by weight matching (Git Re-Basin) over "
                     f"its permutation spec ({len(net.groups)} groups of "
                     f"{'-'.join(map(str, net.widths))} units), by {how}; a local optimum, "
                     f"not an exact minimum")
    notes.append(f"sampled (cost bound): functions are compared on {len(run.x_eval)} of "
                 f"{ev.n} {ev.name} points (CKA on {min(len(run.x_eval), CKA_ROWS)}) and "
                 f"barriers on {len(run.x_line)} of {n_train} training points over an "
                 f"{len(ALPHAS)}-point α grid, for at most {b.function_pairs} pairs of runs "
                 f"per initializer ({b.barrier_pairs} for barriers); forward passes within "
                 f"{MAX_MACS:.2g} multiply-adds per initializer ({net.macs_per_row:,} per "
                 f"point, at least {MIN_ROWS} points), weight matching within {b.pairs} pairs "
                 f"(about {b.pair_cost:.3g} multiply-adds each)")
    sampled = [g for g in comparison.groups if g.solutions and g.solutions.n_left_out]
    if sampled:
        sizes = ", ".join(f"{g.initializer} {g.solutions.n_trials} of "
                          f"{g.solutions.n_trials + g.solutions.n_left_out}"
                          for g in sampled if g.solutions)
        notes.append(f"sampled: solutions are clustered over the first runs by seed within a "
                     f"budget of {b.pairs} pairs per initializer ({sizes} runs)")
    return notes
