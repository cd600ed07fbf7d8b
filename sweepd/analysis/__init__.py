"""Comparison maths of sweepd (docs/science.md §3, §4, §6): NumPy and SciPy only.

    stats        describe, paired, binomial_se, noether_min_pairs
    diagnostics  per-trial failures: diverged, symmetry never broken, dead units, stuck at
                 chance, effective hidden units, tail convergence
    symmetry     canonical_form (+ re-exports of alignment, distances, clusters)
    alignment    aligned_distance (exact for one hidden layer, weight matching deeper)
    distances    distance_matrix (all pairs, vectorised for one hidden layer)
    clusters     cluster_solutions (complete linkage under a relative tolerance)
    functional   forward pass, predict, disagreement, interpolate, barrier, linear_cka
    compare      compare_sweep, compare_pair → models.Comparison, models.PairComparison
    function_evidence  disagreement, |Δp|, barriers and CKA over a group's pairs of runs
    inference    P(A > B) with Newcombe's interval, Mann–Whitney, Holm, Hodges–Lehmann,
                 Clopper–Pearson, Noether's seed counts
    verdict      build_verdict → verdict_models.Verdict (is it OK, which initializer, seeds)
    verdict_arms one initializer's facts for the verdict: failure reason, outliers, movement
    verdict_text the verdict in words
    report       summary_text

Names load lazily, so `sweepd.analysis.models` can be used without NumPy or SciPy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "Comparison", "PairComparison", "aligned_distance", "barrier", "binomial_se",
    "canonical_form", "cluster_solutions", "compare_pair", "compare_sweep", "describe",
    "disagreement", "distance_matrix", "interpolate", "linear_cka", "paired", "predict",
    "summary_text",
]

_LAZY = {
    "Comparison": "models", "PairComparison": "models", "aligned_distance": "alignment",
    "barrier": "functional", "binomial_se": "stats", "canonical_form": "symmetry",
    "cluster_solutions": "clusters", "compare_pair": "pair", "compare_sweep": "compare",
    "describe": "stats", "disagreement": "functional", "distance_matrix": "distances",
    "interpolate": "functional", "linear_cka": "functional", "paired": "stats",
    "predict": "functional", "summary_text": "report",
}

if TYPE_CHECKING:
    from sweepd.analysis.alignment import aligned_distance
    from sweepd.analysis.clusters import cluster_solutions
    from sweepd.analysis.compare import compare_sweep
    from sweepd.analysis.distances import distance_matrix
    from sweepd.analysis.functional import (
        barrier,
        disagreement,
        interpolate,
        linear_cka,
        predict,
    )
    from sweepd.analysis.models import Comparison, PairComparison
    from sweepd.analysis.pair import compare_pair
    from sweepd.analysis.report import summary_text
    from sweepd.analysis.stats import binomial_se, describe, paired
    from sweepd.analysis.symmetry import canonical_form


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"sweepd.analysis.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'sweepd.analysis' has no attribute {name!r}")
