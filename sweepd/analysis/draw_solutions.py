"""Distinct solutions counted within each data draw (issue 16).

Two runs trained on different training sets are not "the same solution modulo symmetry" even
when their weights are close: the loss surfaces differ. A sweep with several data draws
therefore clusters the runs of each draw apart; the group's summary then reports the largest
count of a draw, and its mean distances are over pairs within one draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sweepd.analysis.clusters import Cluster, Groups, cluster_solutions, find_groups
from sweepd.analysis.models import DrawSolutions, SolutionCluster

__all__ = ["Split", "solution_clusters", "split_by_draw"]


@dataclass(frozen=True)
class Split:
    """Clusters and clear groups of a group's runs, within draws.

    `clusters` pairs each cluster (member indices into the distance matrix) with its draw;
    `pairs` are the upper-triangle index arrays of the pairs within one draw.
    """

    clusters: list[tuple[int | None, Cluster]]
    pairs: tuple[np.ndarray, np.ndarray]
    n_solutions: int
    distinct: int | None
    clear_groups: bool
    largest_within: float | None
    smallest_between: float | None
    by_draw: list[DrawSolutions] | None


def split_by_draw(distances: np.ndarray, draws: Sequence[int | None],
                  converged: Sequence[bool], tolerance: float,
                  accuracies: Sequence[float | None]) -> Split:
    """Cluster within each data draw; one draw gives the clustering of all runs together.

    Args:
        distances: (N, N) aligned relative distances between the runs.
        draws: each run's data seed (None: the spec's dataset.seed).
        converged: each run's cost stopped moving (only those count distinct solutions).
        tolerance: the clustering tolerance.
        accuracies: each run's accuracy (None where unknown).
    """
    d = np.asarray(distances, dtype=np.float64)
    keys = sorted(set(draws), key=lambda k: (k is not None, k or 0))
    per = [_one_draw(d, [i for i, k in enumerate(draws) if k == key], key, converged,
                     tolerance, accuracies) for key in keys]
    clusters = sorted(((key, c) for key, cs, _, _ in per for c in cs),
                      key=lambda kc: (-kc[1].size, kc[1].members[0]))
    same = np.equal.outer(np.array([keys.index(k) for k in draws]),
                          np.array([keys.index(k) for k in draws]))
    rows, cols = np.triu_indices(len(draws), 1)
    keep = same[rows, cols]
    counted = [g for _, _, g, _ in per if g is not None]
    clear = bool(counted) and all(g.clear for g in counted)
    between = [g.smallest_between for g in counted if g.smallest_between is not None]
    return Split(
        clusters=clusters, pairs=(rows[keep], cols[keep]),
        n_solutions=max(len(cs) for _, cs, _, _ in per) if per else 0,
        distinct=max(g.n_groups or 0 for g in counted) if clear else None,
        clear_groups=clear,
        largest_within=max(g.largest_within or 0.0 for g in counted) if clear else None,
        smallest_between=min(between) if clear and between else None,
        by_draw=[draw for _, _, _, draw in per] if len(keys) > 1 else None)


def _one_draw(d: np.ndarray, members: list[int], key: int | None, converged: Sequence[bool],
              tolerance: float, accuracies: Sequence[float | None]
              ) -> tuple[int | None, list[Cluster], Groups | None, DrawSolutions]:
    sub = d[np.ix_(members, members)]
    local = cluster_solutions(sub, tolerance, [accuracies[i] for i in members])
    clusters = [Cluster(size=c.size, members=[members[i] for i in c.members],
                        representative=members[c.representative],
                        mean_accuracy=c.mean_accuracy) for c in local]
    settled = [j for j, i in enumerate(members) if converged[i]]
    groups = find_groups(sub[np.ix_(settled, settled)], tolerance) if len(settled) >= 2 \
        else None
    upper = sub[np.triu_indices(len(members), 1)]
    draw = DrawSolutions(
        data_seed=key, n_trials=len(members), n_solutions=len(clusters),
        cluster_sizes=[c.size for c in clusters],
        mean_aligned_relative=float(upper.mean()) if upper.size else None,
        n_converged=len(settled), distinct=groups.n_groups if groups is not None else None,
        clear_groups=groups is not None and groups.clear)
    return key, clusters, groups, draw


def solution_clusters(split: Split, trial_ids: Sequence[int]) -> list[SolutionCluster]:
    """The split's clusters as the comparison reports them, members named by trial id
    (`trial_ids[i]` is row i of the distance matrix)."""
    return [SolutionCluster(size=c.size, trial_ids=[trial_ids[i] for i in c.members],
                            representative_trial_id=trial_ids[c.representative],
                            mean_accuracy=c.mean_accuracy,
                            data_seed=draw if split.by_draw else None)
            for draw, c in split.clusters]
