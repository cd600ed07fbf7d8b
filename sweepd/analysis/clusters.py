"""Distinct solutions: clusters of trials under a stated relative tolerance (SCIENCE.md §3, §6).

Complete linkage, not single: a cluster then guarantees that *every* two of its members are
within the tolerance of each other, which is what "the same solution" claims. Single linkage
would chain runs still drifting along a valley into one cluster whose ends are far apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform


@dataclass(frozen=True)
class Cluster:
    """One distinct solution: member indices (into the distance matrix), its medoid (the
    member with the least total distance to the others) and the members' mean accuracy."""

    size: int
    members: list[int]
    representative: int
    mean_accuracy: float | None


def cluster_solutions(distances: np.ndarray, tolerance: float,
                      accuracies: Sequence[float | None] | None = None) -> list[Cluster]:
    """Group trials whose aligned relative distances are all within `tolerance`.

    Args:
        distances: symmetric (N, N) aligned relative distances, zero diagonal.
        tolerance: the largest relative distance between two members of one cluster (> 0).
        accuracies: optional accuracy per trial (None where unknown), for each cluster's mean.

    Returns:
        Clusters, largest first (ties: the one holding the lowest index first).

    Raises:
        ValueError: a non-square or non-finite matrix, or tolerance ≤ 0.
    """
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or not np.all(np.isfinite(d)):
        raise ValueError("distances must be a finite square matrix")
    if not tolerance > 0:
        raise ValueError("tolerance must be positive")
    n = d.shape[0]
    if n == 0:
        return []
    labels = np.ones(n, dtype=int) if n == 1 else fcluster(
        linkage(squareform((d + d.T) / 2, checks=False), method="complete"),
        t=tolerance, criterion="distance")
    groups = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    groups.sort(key=lambda g: (-g.size, g[0]))
    return [_cluster(d, g, accuracies) for g in groups]


def _cluster(d: np.ndarray, members: np.ndarray,
             accuracies: Sequence[float | None] | None) -> Cluster:
    medoid = int(members[np.argmin(d[np.ix_(members, members)].sum(axis=1))])
    known = [accuracies[i] for i in members if accuracies is not None and accuracies[i] is not None]
    return Cluster(size=int(members.size), members=[int(i) for i in members],
                   representative=medoid, mean_accuracy=float(np.mean(known)) if known else None)
