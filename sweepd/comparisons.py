"""Comparison use cases: load a sweep's results from the store and run the analysis on them.

A sweep with extra grid axes is compared one grid point at a time (each point may have its own
dataset or architecture) and the parts are merged. The comparison of a finished sweep never
changes, so it is cached (`sweepd.lru.SweepCache`, keyed by the sweep's `updated_at`).
"""

from __future__ import annotations

import json
from typing import Any

from sweepd import weights
from sweepd.analysis.models import Comparison, PairComparison
from sweepd.errors import Conflict, InvalidSpec
from sweepd.lru import SweepCache
from sweepd.ports import ResultReader
from sweepd.records import SweepRecord
from sweepd.spec import SweepSpec


class ComparisonCache(SweepCache[Comparison]):
    """Finished sweeps' comparisons, keyed by sweep, its `updated_at`, metric and tolerance."""


def compare_sweep(store: ResultReader, owner_id: int, sweep_id: int, *, metric: str = "test_accuracy",
                  tolerance: float = 0.05, cache: ComparisonCache | None = None) -> Comparison:
    """The comparison of one of the owner's sweeps (partial while it runs).

    Raises:
        NotFound: no such sweep for this owner.
        InvalidSpec: a bad metric or tolerance.
    """
    sweep = store.get_sweep(owner_id, sweep_id)
    if cache is not None:
        return cache.fetch(sweep, (metric, tolerance),
                           lambda: _compare(store, owner_id, sweep, metric, tolerance))
    return _compare(store, owner_id, sweep, metric, tolerance)


def _compare(store: ResultReader, owner_id: int, sweep: SweepRecord, metric: str,
             tolerance: float) -> Comparison:
    from sweepd.analysis import compare_sweep as analyse
    from sweepd.datasets import load

    sweep_id = sweep.id
    spec = SweepSpec.model_validate(sweep.spec)
    finished = store.sweep_results(owner_id, sweep_id)
    trials, _ = store.list_trials(owner_id, sweep_id, limit=sweep.n_trials, offset=0)
    blobs = {t.id: weights.unpack(blob) for t, blob in finished}
    parts = []
    for members in _by_grid_point(trials).values():
        cell = spec.trial_for(members[0].seed, members[0].initializer, members[0].params)
        parts.append(analyse(members, {t.id: blobs[t.id] for t in members if t.id in blobs},
                             cell.model, load(cell.dataset), metric=metric,
                             tolerance=tolerance, n_total=len(members),
                             loss=cell.training.loss))
    return _merge(parts, n_total=sweep.n_trials)


def compare_pair(store: ResultReader, owner_id: int, sweep_id: int, a: int, b: int) -> PairComparison:
    """Two trials of one sweep compared by weights and by function.

    Raises:
        NotFound: either trial is not in the owner's sweep.
        Conflict: a trial has no result yet.
        InvalidSpec: the trials differ in architecture or dataset (different grid points).
    """
    from sweepd.analysis import compare_pair as analyse
    from sweepd.datasets import load

    sweep = store.get_sweep(owner_id, sweep_id)
    spec = SweepSpec.model_validate(sweep.spec)
    ta, tb = (store.get_trial(owner_id, sweep_id, t) for t in (a, b))
    for trial in (ta, tb):
        if trial.result is None:
            raise Conflict(f"trial {trial.id} has no result yet (state {trial.state})")
    cell_a = spec.trial_for(ta.seed, ta.initializer, ta.params)
    cell_b = spec.trial_for(tb.seed, tb.initializer, tb.params)
    if (cell_a.model, cell_a.dataset) != (cell_b.model, cell_b.dataset):
        raise InvalidSpec("trials of different grid points (architecture or dataset) cannot "
                          "be compared weight by weight")
    wa, wb = (weights.unpack(store.get_weights(owner_id, sweep_id, t, "final")[0]) for t in (a, b))
    return analyse(ta, wa, tb, wb, cell_a.model, load(cell_a.dataset),
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
    model = SweepSpec.model_validate(sweep.spec).trial_for(
        trial.seed, trial.initializer, trial.params).model
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
    from sweepd.analysis.verdict import build_verdict

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
    return merged.model_copy(update={"verdict": build_verdict(merged)})
