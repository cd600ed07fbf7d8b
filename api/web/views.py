"""What the web page shows, read from the store for one owner: the use cases of `sweepd_api.web.data`.

Every function takes the owner's id and reads through the owner-scoped store calls, so another
user's sweep or trial is a NotFound (404), as in the JSON API. Figures of a finished sweep never
change, so they are cached under the sweep's `updated_at`, which moves with every write.
"""

from __future__ import annotations

import json
from typing import Any

from sweepd import comparisons, weights
from sweepd.analysis.symmetry import canonical_form
from sweepd.datasets import Dataset, load
from sweepd.errors import BadRequest, Conflict, SweepdError
from sweepd.lru import SweepCache
from sweepd.records import TrialRecord
from sweepd.spec import DatasetSpec, SweepSpec, TrialSpec, initializer_label
from sweepd.storage.store import Store
from sweepd_api.web import boundary, dataset_view, figures, growth_view, spec_view, units, variance_view

MAX_BOUNDARY_TRIALS = 6
# The page sorts and pages the trial table itself; past this many rows that stops being quick
# and the table and the accuracy plot show the first ones (the statistics, the cost bands and
# the hidden units still cover every trial).
MAX_ROWS = 20_000
MAX_LISTED_POINTS = 50  # grid points whose groups get a fixed colour and order on the page


class FigureCache(SweepCache[Any]):
    """Finished sweeps' figures, keyed by (kind, sweep, updated_at): `sweepd.lru.SweepCache`."""

    def __init__(self, size: int = 32) -> None:
        super().__init__(size)


def encode(content: Any) -> bytes:
    """Compact JSON bytes (NaN refused: the figures turn non-finite numbers into None)."""
    return json.dumps(content, separators=(",", ":"), allow_nan=False).encode()


def trials_json(store: Store, owner_id: int, sweep_id: int, cache: FigureCache) -> bytes:
    """The trials as table rows (the first `MAX_ROWS`), and every group's cost band."""
    sweep = store.get_sweep(owner_id, sweep_id)

    def compute() -> bytes:
        trials, _ = store.list_trials(owner_id, sweep_id, limit=max(sweep.n_trials, 1),
                                      offset=0)
        return encode({"sweep_id": sweep_id, "state": sweep.state, "n_trials": len(trials),
                       "rows": figures.trial_rows(trials[:MAX_ROWS]),
                       "curves": figures.curve_bands(trials)})

    return cache.fetch(sweep, "trials", compute)


def units_json(store: Store, owner_id: int, sweep_id: int, cache: FigureCache) -> bytes:
    """Hidden units of every completed trial, raw and canonical (see `sweepd_api.web.units`)."""
    sweep = store.get_sweep(owner_id, sweep_id)
    activation = SweepSpec.stored(sweep.spec).model.activation

    def compute() -> bytes:
        finished = store.sweep_results(owner_id, sweep_id)
        return encode({"activation": activation, **units.unit_points(finished, activation)})

    return cache.fetch(sweep, "units", compute)


def comparison_json(store: Store, owner_id: int, sweep_id: int, cache: FigureCache,
                    comparisons_cache: comparisons.ComparisonCache) -> bytes:
    """The comparison (its verdict first), a display label and the verdict's place per group,
    a label per verdict point, and the heat maps.

    Before any trial has finished there is nothing to compare: `comparison` is None.
    """
    sweep = store.get_sweep(owner_id, sweep_id)
    if sweep.counts.get("completed", 0) == 0:
        return encode({"comparison": None, "labels": [], "places": [], "point_labels": [],
                       "heat_maps": []})

    def compute() -> bytes:
        comparison = comparisons.compare_sweep(store, owner_id, sweep_id,
                                               cache=comparisons_cache)
        # Through pydantic's JSON: a NaN inside becomes null, which the browser can parse.
        points = comparison.verdict.points if comparison.verdict else []
        return encode({"comparison": json.loads(comparison.model_dump_json()),
                       "labels": [figures.group_label(g.initializer, g.params)
                                  for g in comparison.groups],
                       "places": figures.group_places(comparison),
                       "point_labels": [figures.point_label(p.params) for p in points],
                       "heat_maps": figures.heat_maps(comparison),
                       "variance_card": variance_view.variance_card(comparison)})

    return cache.fetch(sweep, "comparison", compute)


def growth_json(store: Store, owner_id: int, sweep_id: int) -> dict[str, Any]:
    """How the sweep grew: an adaptive sweep's looks in words and tables, and the seeds added
    by requests (`sweepd_api.web.growth_view`)."""
    sweep = store.get_sweep(owner_id, sweep_id)
    return growth_view.growth_panel(sweep, store.list_growths(owner_id, sweep_id))


def boundary_view(store: Store, owner_id: int, sweep_id: int,
                  trial_ids: list[int]) -> dict[str, Any]:
    """Decision boundaries of the chosen trials, each over its own training points.

    Raises:
        BadRequest: no trial or too many chosen, or a dataset that is not 2-D.
        Conflict: a chosen trial has no result yet.
        NotFound: a trial that is not in the owner's sweep.
    """
    if not 1 <= len(trial_ids) <= MAX_BOUNDARY_TRIALS:
        raise BadRequest(f"choose 1 to {MAX_BOUNDARY_TRIALS} trials (got {len(trial_ids)})")
    spec = SweepSpec.stored(store.get_sweep(owner_id, sweep_id).spec)
    panels = []
    for trial_id in dict.fromkeys(trial_ids):
        trial = store.get_trial(owner_id, sweep_id, trial_id)
        if trial.result is None:
            raise Conflict(f"trial {trial_id} has no result yet (state {trial.state})")
        cell = spec.trial_for(trial.seed, trial.initializer, trial.params,
                              order_seed=trial.order_seed, data_seed=trial.data_seed)
        arrays = weights.unpack(store.get_weights(owner_id, sweep_id, trial_id, "final")[0])
        dataset_view.provide(store, cell.dataset)  # an uploaded set: from the store
        panels.append(_panel(trial, cell, arrays))
    return {"sweep_id": sweep_id, "panels": panels}


def _panel(trial: TrialRecord, cell: TrialSpec, arrays: dict[str, Any]) -> dict[str, Any]:
    data = load(cell.dataset, draw=cell.data_seed)  # the trial's own data draw (issue 16)
    return {"trial_id": trial.id, "seed": trial.seed,
            "group": figures.group_label(trial.initializer_label, trial.params),
            "test_accuracy": figures.rounded(trial.result.test_accuracy if trial.result
                                             else None),
            "points": boundary.training_points(data),
            **boundary.boundary_grid(arrays, cell.model.activation, data)}


def first_dataset(spec: SweepSpec) -> DatasetSpec:
    """The dataset section of the sweep's first grid point."""
    return spec.trial_for(spec.seed_values[0], spec.initializers[0],
                          spec.grid_points()[0]).dataset


def _dataset(dataset: DatasetSpec, store: Store | None = None) -> Dataset | None:
    """The dataset built here (an uploaded one read from `store`), or None when it cannot be."""
    try:
        if store is not None:
            dataset_view.provide(store, dataset)
        return load(dataset)
    except (SweepdError, ValueError, LookupError):  # the page renders, without the input width
        return None


def sweep_page(store: Store, owner_id: int, sweep_id: int) -> dict[str, Any]:
    """The sweep page's server-side part: the record and its spec in words.

    Raises:
        NotFound: no such sweep for this owner.
    """
    sweep = store.get_sweep(owner_id, sweep_id)
    spec = SweepSpec.stored(sweep.spec)
    dataset = first_dataset(spec)
    data = _dataset(dataset, store)
    groups = [figures.group_label(initializer_label(init), point)
              for point in spec.grid_points()[:MAX_LISTED_POINTS] for init in spec.initializers]
    n_features, n_classes = (data.n_features, data.n_classes) if data else (None, None)
    growths = store.list_growths(owner_id, sweep_id)
    added = sum(g.n_trials for g in growths)
    grown = (sweep.n_trials - added, sweep.n_trials) if added else None
    return {"sweep": sweep, "spec_lines": spec_view.describe_spec(spec, n_features, n_classes,
                                                                  grown=grown),
            "growth_shown": spec.adaptive is not None or bool(growths),
            "adaptive": spec.adaptive is not None,
            "headline": spec_view.headline(spec, n_features, n_classes),
            "spec_yaml": spec.to_yaml(), "two_d": bool(data and data.n_features == 2),
            "dataset_card": dataset_view.dataset_card(store, owner_id, spec, dataset, data),
            "variance_page": variance_view.page_card(spec),
            "description": spec.description, "groups": groups,
            # A regression target (issue 17) plots its R² where classes plot an accuracy.
            "accuracy_key": ("test_" if spec.dataset.test_fraction else "train_")
            + ("r2" if data is not None and data.n_classes == 0 else "accuracy")}


def trial_page(store: Store, owner_id: int, sweep_id: int, trial_id: int) -> dict[str, Any]:
    """The trial page's server-side part: the trial, its weights as tables, raw and canonical.

    Raises:
        NotFound: no such trial in the owner's sweep.
    """
    sweep = store.get_sweep(owner_id, sweep_id)
    trial = store.get_trial(owner_id, sweep_id, trial_id)
    spec = SweepSpec.stored(sweep.spec)
    cell = spec.trial_for(trial.seed, trial.initializer, trial.params)
    tables: dict[str, Any] = {}
    if trial.result is not None:
        raw = weights.unpack(store.get_weights(owner_id, sweep_id, trial_id, "final")[0])
        activation = cell.model.activation
        tables = {"raw": spec_view.weight_tables(weights.layers(raw), activation),
                  "canonical": spec_view.weight_tables(
                      weights.layers(canonical_form(raw, activation)), activation)}
    data = _dataset(cell.dataset, store)
    return {"sweep": sweep, "trial": trial, "result": trial.result, "tables": tables,
            "group": figures.group_label(trial.initializer_label, trial.params),
            "two_d": bool(data and data.n_features == 2), "activation": cell.model.activation}
