"""The data behind the web page's tables and plots, computed from store records with NumPy.

    group_label      "he_normal [training.learning_rate=0.1]": one initializer at one grid point
    trial_rows       one flat row per trial for the sortable trial table and the strip plot
    curve_bands      per group: the mean training-cost curve and the band of the middle 80 %
    group_places     per group: its tier in the verdict and its place in its point's ranking
    heat_maps        per grid point: the matrix of P(A beats B) from the paired comparisons

Floats are rounded to a few significant digits: the browser draws them, nobody reads the 7th
digit, and the payload of a 1 500-trial sweep stays small. Non-finite numbers become None
(JSON has no NaN).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from sweepd.analysis.models import Comparison
from sweepd.records import TrialRecord

BAND = (10.0, 90.0)  # percentiles of the cost band: the middle 80 % of seeds
DIGITS = 5


def point_label(params: dict[str, Any]) -> str:
    """A grid point as `axis=value, ...` (empty for a sweep without grid axes)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))


def group_label(initializer: str, params: dict[str, Any]) -> str:
    """The display name of one initializer at one grid point (the report's spelling)."""
    point = point_label(params)
    return f"{initializer} [{point}]" if point else initializer


def rounded(value: float | None, digits: int = DIGITS) -> float | None:
    """`value` to `digits` significant digits; None for None, NaN and ±inf."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def _rounded_list(values: Iterable[float]) -> list[float | None]:
    return [rounded(float(v)) for v in values]


def trial_rows(trials: Sequence[TrialRecord]) -> list[dict[str, Any]]:
    """One row per trial: identity, state and the result's figures (None before a result)."""
    return [_row(t) for t in trials]


def _row(trial: TrialRecord) -> dict[str, Any]:
    result = trial.result
    figures = {k: rounded(getattr(result, k)) if result else None
               for k in ("test_accuracy", "train_accuracy", "test_r2", "train_r2",
                         "train_cost_tail", "test_cost")}
    return {
        "id": trial.id, "seed": trial.seed, "group": group_label(trial.initializer_label,
                                                                 trial.params),
        "initializer": trial.initializer_label, "params": trial.params, "state": trial.state,
        "status": result.status if result else None, **figures,
        "steps": result.steps if result else None,
        "wall_seconds": rounded(result.wall_seconds, 3) if result else None,
        "error": (trial.error or "")[:200] or None,
    }


def curve_bands(trials: Sequence[TrialRecord]) -> list[dict[str, Any]]:
    """Per group with results: steps, the mean cost curve and its 10th–90th percentile band.

    Points where a trial's cost is not finite (it diverged) are left out of that point's
    statistics; a point no trial has a finite value for is None.
    """
    groups: dict[str, list[TrialRecord]] = {}
    for trial in trials:
        if trial.result is not None and trial.result.curve:
            groups.setdefault(group_label(trial.initializer_label, trial.params), []).append(trial)
    return [_band(label, members) for label, members in groups.items()]


def _band(label: str, members: list[TrialRecord]) -> dict[str, Any]:
    length = max(len(t.result.curve) for t in members)  # type: ignore[union-attr]
    matrix = np.full((len(members), length), np.nan)
    for i, trial in enumerate(members):
        curve = [np.nan if v is None else v for v in trial.result.curve]  # type: ignore[union-attr]
        matrix[i, :len(curve)] = curve
    matrix[~np.isfinite(matrix)] = np.nan
    every = members[0].result.curve_every  # type: ignore[union-attr]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN point is expected: None
        mean = np.nanmean(matrix, axis=0)
        low, high = np.nanpercentile(matrix, BAND, axis=0)
    return {"group": label, "n": len(members), "steps": [i * every for i in range(length)],
            "mean": _rounded_list(mean), "low": _rounded_list(low), "high": _rounded_list(high)}


def _places(comparison: Comparison) -> dict[tuple[str, str], dict[str, Any]]:
    """(point label, initializer) → its tier, rank (0 = best), reason and point index."""
    if comparison.verdict is None:
        return {}
    return {(point_label(p.params), r.initializer): {"tier": r.tier, "rank": rank,
                                                      "reason": r.reason, "point": k}
            for k, p in enumerate(comparison.verdict.points)
            for rank, r in enumerate(p.which_initializer.ranking)}


def group_places(comparison: Comparison) -> list[dict[str, Any] | None]:
    """Per group, in the comparison's order: `{tier, rank, reason, point}` from the verdict's
    ranking at the group's grid point (`point` indexes the verdict's points, `rank` 0 is the
    best), or None (no verdict, or a group the verdict does not rank)."""
    places = _places(comparison)
    return [places.get((point_label(g.params), g.initializer)) for g in comparison.groups]


def heat_maps(comparison: Comparison) -> list[dict[str, Any]]:
    """Per grid point with two initializers or more: P(row beats column) over paired seeds.

    The initializers are in the verdict's ranking order (best first, failed last) when the
    comparison has a verdict, else in the comparison's order.

    Returns:
        A list of `{point, initializers, tiers, p, low, high, n_pairs}`; `p[i][j]` is the
        chance that initializer i beats initializer j on the comparison's metric (None on the
        diagonal and where too few seeds are paired); `tiers[i]` is None without a verdict.
    """
    places = _places(comparison)
    maps: dict[str, dict[str, Any]] = {}
    points = list(dict.fromkeys(point_label(g.params) for g in comparison.groups))
    unranked = len(comparison.groups)

    def order(group: Any) -> tuple[int, int]:
        point = point_label(group.params)
        return points.index(point), places.get((point, group.initializer), {}).get("rank",
                                                                                   unranked)

    for group in sorted(comparison.groups, key=order):
        point = point_label(group.params)
        entry = maps.setdefault(point, {"point": point, "initializers": [], "tiers": []})
        entry["initializers"].append(group.initializer)
        entry["tiers"].append(places.get((point, group.initializer), {}).get("tier"))
    for entry in maps.values():
        n = len(entry["initializers"])
        for key in ("p", "low", "high", "n_pairs"):
            entry[key] = [[None] * n for _ in range(n)]
    for pair in comparison.pairs:
        _fill(maps[point_label(pair.params)], pair)
    return [m for m in maps.values() if len(m["initializers"]) > 1]


def _fill(entry: dict[str, Any], pair: Any) -> None:
    names = entry["initializers"]
    a, b, s = names.index(pair.initializer_a), names.index(pair.initializer_b), pair.stats
    entry["n_pairs"][a][b] = entry["n_pairs"][b][a] = s.n_pairs
    if s.p_a_beats_b is None:
        return
    entry["p"][a][b], entry["p"][b][a] = rounded(s.p_a_beats_b, 3), rounded(1 - s.p_a_beats_b, 3)
    if s.p_ci_low is not None and s.p_ci_high is not None:
        entry["low"][a][b], entry["high"][a][b] = rounded(s.p_ci_low, 3), rounded(s.p_ci_high, 3)
        entry["low"][b][a] = rounded(1 - s.p_ci_high, 3)
        entry["high"][b][a] = rounded(1 - s.p_ci_low, 3)
