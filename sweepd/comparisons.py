"""Comparison use cases: load a sweep's results from the store and run the analysis on them.

A sweep with extra grid axes is compared one grid point at a time (each point may have its own
dataset or architecture) and the parts are merged. Comparisons are cached per sweep and
parameters (`sweepd.lru.SweepCache`); the key holds the sweep's `updated_at`, which every new
result moves, so a new result is a new key and a cached comparison is never stale.

The work is bounded (`CompareLimits`, from the settings): a pair budget per group that also
shrinks with the alignment work per pair (the runs clustered are a stated sample, see the
comparison's notes), and no alignment at all of hidden layers wider than a cap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sweepd import compare_load, weights
from sweepd.analysis.models import Comparison, PairComparison
from sweepd.errors import Conflict, InvalidSpec
from sweepd.lru import SweepCache
from sweepd.models_registry import MLP
from sweepd.ports import ResultReader
from sweepd.records import SweepRecord, TrialRecord
from sweepd.settings import Settings
from sweepd.spec import SweepSpec


@dataclass(frozen=True)
class CompareLimits:
    """Bounds on a comparison's work; None: the analysis' defaults, unbounded."""

    max_pairs: int | None = None
    max_matching_cost: float | None = None
    max_matching_width: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CompareLimits:
        return cls(settings.compare_max_pairs, settings.compare_max_matching_cost,
                   settings.compare_max_matching_width)


NO_LIMITS = CompareLimits()


class ComparisonCache(SweepCache[Comparison]):
    """Comparisons keyed by metric, tolerance, sweep and its `updated_at` (running sweeps too).

    The limits live with the cache: what it holds was computed under them, and every caller
    that shares it (the API, the web page) computes under them too.
    """

    def __init__(self, size: int = 64, *, limits: CompareLimits = NO_LIMITS) -> None:
        super().__init__(size)
        self.limits = limits


def compare_sweep(store: ResultReader, owner_id: int, sweep_id: int, *, metric: str = "test_accuracy",
                  tolerance: float = 0.05, cache: ComparisonCache | None = None) -> Comparison:
    """The comparison of one of the owner's sweeps (partial while it runs), from the cache
    when the sweep has not changed since it was computed, else under the cache's limits.

    Raises:
        NotFound: no such sweep for this owner.
        InvalidSpec: a bad metric or tolerance.
    """
    sweep = store.get_sweep(owner_id, sweep_id)
    found = cache.get(_key(sweep, metric, tolerance)) if cache is not None else None
    if found is not None:
        return found
    limits = cache.limits if cache is not None else NO_LIMITS
    comparison = _compare(store, owner_id, sweep, metric, tolerance, limits)
    if cache is not None:
        cache.put(_key(sweep, metric, tolerance), comparison)
    return comparison


def cached_comparison(store: ResultReader, owner_id: int, sweep_id: int, *, metric: str,
                      tolerance: float, cache: ComparisonCache) -> Comparison | None:
    """The cached comparison of the sweep as it is now, or None (a cheap read: no analysis).

    Raises:
        NotFound: no such sweep for this owner.
    """
    return cache.get(_key(store.get_sweep(owner_id, sweep_id), metric, tolerance))


def _key(sweep: SweepRecord, metric: str, tolerance: float) -> tuple[Any, ...]:
    return ("compare", metric, float(tolerance), sweep.id, sweep.updated_at)


def _compare(store: ResultReader, owner_id: int, sweep: SweepRecord, metric: str,
             tolerance: float, limits: CompareLimits) -> Comparison:
    from sweepd.analysis import compare_sweep as analyse
    from sweepd.analysis.compare import default_max_pairs
    load = _loader(store)

    spec = SweepSpec.stored(sweep.spec)
    # Every trial, or a seeded sample of a large sweep's (issue 19, `sweepd.compare_sample`).
    loaded = compare_load.load(store, owner_id, sweep)
    trials, blobs = loaded.trials, loaded.weights
    parts = []
    for members in _by_grid_point(trials).values():
        cell = spec.trial_for(members[0].seed, members[0].initializer, members[0].params)
        max_pairs = default_max_pairs(cell.model)
        if limits.max_pairs is not None:
            max_pairs = min(max_pairs, limits.max_pairs)
        parts.append(analyse(members, {t.id: blobs[t.id] for t in members if t.id in blobs},
                             cell.model, load(cell.dataset), metric=metric,
                             tolerance=tolerance, n_total=len(members),
                             loss=cell.training.loss, max_pairs=max_pairs, verdict=False,
                             max_matching_cost=limits.max_matching_cost,
                             max_matching_width=limits.max_matching_width))
    merged = _with_variance(compare_load.stamp(_merge(parts, n_total=sweep.n_trials), loaded),
                            spec, trials)
    from sweepd.analysis.verdict import GrowHint, build_verdict

    how = "adaptive" if spec.adaptive else "resubmit" if spec.search else "add"
    # The verdict once, over every grid point, knowing how this sweep grows (its "more seeds"
    # command) and where its spread comes from.
    return merged.model_copy(update={"verdict": build_verdict(
        merged, grow=GrowHint(sweep_id=sweep.id, how=how))})


def _loader(store: ResultReader) -> Any:
    """`sweepd.datasets.load`, with an uploaded data set read from the store first (the API
    process is not a worker: nobody sent it the arrays)."""
    from sweepd import uploaded
    from sweepd.datasets import load
    from sweepd.spec import UPLOADED

    def loaded(dataset: Any, draw: int | None = None) -> Any:
        if dataset.name == UPLOADED:
            uploaded.provide(store.dataset_blob, str(dataset.id))
        return load(dataset, draw=draw)

    return loaded


def _with_variance(comparison: Comparison, spec: SweepSpec,
                   trials: list[TrialRecord]) -> Comparison:
    """The comparison with the decomposition of its ranked metric over the crossed random
    factors (issue 16); unchanged when the spec crosses fewer than two."""
    from sweepd.analysis.variance_sweep import sweep_variance

    order, data = spec.n_order_seeds > 1, spec.n_data_seeds > 1
    if not (order or data) or spec.n_seeds < 2:
        return comparison
    n_test = comparison.n_eval if comparison.accuracy_on == "test" else None
    variance = sweep_variance(trials, metric=comparison.ranked_metric, order_crossed=order,
                              data_crossed=data, n_test=n_test)
    notes = list(comparison.notes)
    if variance is not None and not order and spec.training.optimizer != "gd":
        notes.append("variance: without order_seeds each seed draws both the initial weights "
                     "and the minibatch order, so the init component includes the order's")
    if data:
        notes.append("data draws: distinct solutions are counted within each draw (solutions "
                     "of different training sets are not comparable modulo symmetry); the "
                     "function evidence compares runs of every draw on the data of "
                     "dataset.seed")
    return comparison.model_copy(update={"variance": variance, "notes": notes})


def compare_pair(store: ResultReader, owner_id: int, sweep_id: int, a: int, b: int, *,
                 limits: CompareLimits = NO_LIMITS) -> PairComparison:
    """Two trials of one sweep compared by weights and by function.

    Raises:
        NotFound: either trial is not in the owner's sweep.
        Conflict: a trial has no result yet.
        InvalidSpec: the trials differ in architecture or dataset (different grid points),
            or a hidden layer is wider than `limits.max_matching_width`.
    """
    from sweepd.analysis import compare_pair as analyse
    load = _loader(store)

    sweep = store.get_sweep(owner_id, sweep_id)
    spec = SweepSpec.stored(sweep.spec)
    ta, tb = (store.get_trial(owner_id, sweep_id, t) for t in (a, b))
    for trial in (ta, tb):
        if trial.result is None:
            raise Conflict(f"trial {trial.id} has no result yet (state {trial.state})")
    cell_a = spec.trial_for(ta.seed, ta.initializer, ta.params, order_seed=ta.order_seed,
                            data_seed=ta.data_seed)
    cell_b = spec.trial_for(tb.seed, tb.initializer, tb.params, order_seed=tb.order_seed,
                            data_seed=tb.data_seed)
    if (cell_a.model, cell_a.dataset) != (cell_b.model, cell_b.dataset):
        raise InvalidSpec("trials of different grid points (architecture or dataset) cannot "
                          "be compared weight by weight")
    cap = limits.max_matching_width
    plugin = cell_a.model.plugin != MLP  # issue 18: any other plugin module
    if cap is not None and not plugin and max(cell_a.model.hidden) > cap:
        raise InvalidSpec(f"a hidden layer of {max(cell_a.model.hidden)} units is wider than "
                          f"the alignment cap of {cap} (SWEEPD_COMPARE_MAX_MATCHING_WIDTH)")
    wa, wb = (weights.unpack(store.get_weights(owner_id, sweep_id, t, "final")[0]) for t in (a, b))
    if plugin:
        from sweepd.analysis.plugin_pair import compare_plugin_pair

        return compare_plugin_pair(ta, wa, tb, wb, cell_a.model,
                                   load(cell_a.dataset, draw=cell_a.data_seed),
                                   loss=cell_a.training.loss, max_width=cap)
    return analyse(ta, wa, tb, wb, cell_a.model, load(cell_a.dataset, draw=cell_a.data_seed),
                   loss=cell_a.training.loss)


def canonical_weights(store: ResultReader, owner_id: int, sweep_id: int, trial_id: int,
                      which: str = "final") -> tuple[bytes, str]:
    """A trial's weights in canonical form (signs and order of hidden units fixed).

    Returns:
        Safetensors bytes and their sha256.
    """
    from sweepd.analysis.symmetry import canonical_form

    sweep = store.get_sweep(owner_id, sweep_id)
    trial = store.get_trial(owner_id, sweep_id, trial_id)
    model = SweepSpec.stored(sweep.spec).trial_for(
        trial.seed, trial.initializer, trial.params).model
    if model.plugin != MLP:
        raise InvalidSpec(f"a canonical form is defined for the built-in MLP only, not for the "
                          f"plugin {model.plugin!r}; its comparison aligns runs by weight matching")
    raw, _ = store.get_weights(owner_id, sweep_id, trial_id, which)
    return weights.pack(canonical_form(weights.unpack(raw), model.activation))


def _by_grid_point(trials: list[Any]) -> dict[tuple[tuple[str, Any], ...], list[Any]]:
    groups: dict[tuple[tuple[str, Any], ...], list[Any]] = {}
    for trial in trials:
        point = tuple(sorted((k, _hashable(v)) for k, v in trial.params.items()))
        groups.setdefault(point, []).append(trial)
    return groups


def _hashable(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list) else value


def _merge(parts: list[Comparison], *, n_total: int) -> Comparison:
    if not parts:
        raise InvalidSpec("this sweep has no trials to compare")
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    notes = list(dict.fromkeys(n for p in parts for n in p.notes))
    merged = first.model_copy(update={
        "n_total": n_total,
        "n_finished": sum(p.n_finished for p in parts),
        "n_with_result": sum(p.n_with_result for p in parts),
        "partial": any(p.partial for p in parts),
        "groups": [g for p in parts for g in p.groups],
        "pairs": [q for p in parts for q in p.pairs],
        "notes": notes,
    })
    return merged  # its verdict is built by the caller, which knows how the sweep grows
