"""Flat rows of a Comparison, one list per table, ready for `pandas.DataFrame(rows)`."""

from __future__ import annotations

from typing import Any

# Untyped on purpose: `models.Comparison.tables()` calls this module, so importing the models
# here would tie the two both ways.
Comparison = Group = Any


def _where(group: Group) -> dict[str, Any]:
    return {"initializer": group.initializer, **{f"param.{k}": v for k, v in group.params.items()}}


def _group_rows(comparison: Comparison) -> list[dict[str, Any]]:
    rows = []
    for g in comparison.groups:
        for metric, s in g.stats.items():
            rows.append({**_where(g), "metric": metric, **s.model_dump(),
                         "noise_floor": g.accuracy_noise_floor if "accuracy" in metric else None})
    return rows


def _solution_rows(comparison: Comparison) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    solutions, clusters = [], []
    for g in comparison.groups:
        if g.solutions is None:
            continue
        s = g.solutions
        solutions.append({**_where(g), **s.model_dump(exclude={"clusters", "effective_units",
                                                                "by_data_draw"}),
                          "cluster_sizes": [c.size for c in s.clusters],
                          "effective_units": s.effective_units})
        clusters.extend({**_where(g), "cluster": i, **c.model_dump()}
                        for i, c in enumerate(s.clusters))
    return solutions, clusters


def _draw_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """Distinct solutions per data draw (issue 16); empty with one draw."""
    return [{**_where(g), **d.model_dump()} for g in comparison.groups
            if g.solutions is not None for d in g.solutions.by_data_draw or []]


def tables(comparison: Comparison) -> dict[str, list[dict[str, Any]]]:
    solutions, clusters = _solution_rows(comparison)
    return {
        "groups": _group_rows(comparison),
        "failures": [{**_where(g), "n_trials": g.n_trials, "n_finished": g.n_finished,
                      **g.failures.model_dump()} for g in comparison.groups],
        "solutions": solutions,
        "clusters": clusters,
        "solutions_by_draw": _draw_rows(comparison),
        "pairs": [{**{f"param.{k}": v for k, v in p.params.items()},
                   "initializer_a": p.initializer_a, "initializer_b": p.initializer_b,
                   "metric": p.metric, **p.stats.model_dump()} for p in comparison.pairs],
        "trials": [{**_where(g), **d.model_dump()} for g in comparison.groups for d in g.trials],
    }
