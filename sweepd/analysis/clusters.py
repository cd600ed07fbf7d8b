"""Distinct solutions: clusters of trials under a stated relative tolerance (docs/science.md §3, §6).

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
    d = _checked(distances, tolerance)
    n = d.shape[0]
    if n == 0:
        return []
    labels = np.ones(n, dtype=int) if n == 1 else fcluster(
        linkage(squareform((d + d.T) / 2, checks=False), method="complete"),
        t=tolerance, criterion="distance")
    groups = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    groups.sort(key=lambda g: (-g.size, g[0]))
    return [_cluster(d, g, accuracies) for g in groups]


def _checked(distances: np.ndarray, tolerance: float) -> np.ndarray:
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or not np.all(np.isfinite(d)):
        raise ValueError("distances must be a finite square matrix")
    if not tolerance > 0:
        raise ValueError("tolerance must be positive")
    return d


def _cluster(d: np.ndarray, members: np.ndarray,
             accuracies: Sequence[float | None] | None) -> Cluster:
    medoid = int(members[np.argmin(d[np.ix_(members, members)].sum(axis=1))])
    known = [accuracies[i] for i in members if accuracies is not None and accuracies[i] is not None]
    return Cluster(size=int(members.size), members=[int(i) for i in members],
                   representative=medoid, mean_accuracy=float(np.mean(known)) if known else None)


GAP = 2.0  # clear groups: the smallest distance between groups ≥ GAP × the largest within


@dataclass(frozen=True)
class Groups:
    """Distinct solutions told from a clear gap in the aligned distances (issue 11).

    `clear` is False when no partition has its between-group distances at least GAP times its
    within-group ones (the tolerance standing in for within-group distances smaller than it):
    then there are no clear groups and `labels` is None.
    """

    clear: bool
    labels: np.ndarray | None  # group index per trial, 0 for the largest group
    largest_within: float | None
    smallest_between: float | None

    @property
    def n_groups(self) -> int | None:
        return None if self.labels is None else int(self.labels.max()) + 1


def find_groups(distances: np.ndarray, tolerance: float, *, method: str = "average",
                gap: float = GAP) -> Groups:
    """Split trials into groups only where the distances show a clear gap.

    Every cut of the linkage tree is a candidate partition; its separation is the smallest
    between-group distance over max(largest within-group distance, tolerance). The partition
    with the largest separation wins if it reaches `gap` (ties: fewer groups); one group wins
    when every distance is within the tolerance. On well-separated data every linkage method
    merges the groups' members first, so the answer does not depend on `method`.

    Args:
        distances: symmetric (N, N) aligned relative distances, zero diagonal.
        tolerance: distances up to it are "the same solution" (> 0).
        method: scipy linkage method ("single", "complete", "average", ...).
        gap: the separation a clear partition needs.

    Raises:
        ValueError: a non-square or non-finite matrix, or tolerance ≤ 0.
    """
    d = _checked(distances, tolerance)
    n = d.shape[0]
    if n < 2:
        return Groups(n == 1, np.zeros(n, dtype=int) if n else None, 0.0 if n else None, None)
    d = (d + d.T) / 2
    if d.max() <= tolerance:
        return Groups(True, np.zeros(n, dtype=int), float(d.max()), None)
    tree = linkage(squareform(d, checks=False), method=method)
    best: tuple[float, np.ndarray, float, float] | None = None
    # Every run its own group is no structure at all, unless there are only two runs.
    monotone = method in ("single", "complete", "average", "weighted")
    for k in range(2, n + 1 if n == 2 else n):
        # The merge that would join two of the k groups is at least as far as their closest
        # members (for these linkages), so at or below the tolerance no gap can reach `gap`.
        if monotone and tree[n - k, 2] <= tolerance:
            continue
        labels = fcluster(tree, t=k, criterion="maxclust")
        if np.unique(labels).size != k:
            continue  # ties in the tree: this count is not a cut
        within, between = _within_between(d, labels)
        separation = between / max(within, tolerance)
        if best is None or separation > best[0]:
            best = (separation, labels, within, between)
    if best is None or best[0] < gap:
        return Groups(False, None, None, None)
    return Groups(True, _by_size(best[1]), float(best[2]), float(best[3]))


def _within_between(d: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(len(labels), dtype=bool)
    within = float(d[same & off].max()) if np.any(same & off) else 0.0
    return within, float(d[~same].min())


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Relabel 0, 1, ... by decreasing size (ties: first appearance)."""
    values, first, counts = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(values)), key=lambda i: (-counts[i], first[i]))
    mapping = {values[i]: rank for rank, i in enumerate(order)}
    return np.array([mapping[v] for v in labels])
