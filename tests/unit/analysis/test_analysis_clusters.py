import numpy as np
import pytest

from sweepd.analysis.clusters import GAP, cluster_solutions, find_groups


def _line(points):
    p = np.asarray(points, dtype=float)
    return np.abs(p[:, None] - p[None, :])


def test_cluster_solutions_with_complete_linkage_does_not_chain():
    # Single linkage would join all three (each neighbour within 0.05); complete linkage
    # keeps the ends (0.08 apart) in different clusters.
    clusters = cluster_solutions(_line([0.0, 0.04, 0.08]), 0.05)
    assert len(clusters) == 2
    assert all(max(_line([0.0, 0.04, 0.08])[np.ix_(c.members, c.members)].ravel()) <= 0.05
               for c in clusters)


def test_cluster_solutions_orders_by_size_and_picks_the_medoid():
    clusters = cluster_solutions(_line([1.0, 0.0, 0.01, 0.02, 1.01]), 0.05,
                                 [0.5, 0.9, 0.92, None, 0.7])
    assert [c.size for c in clusters] == [3, 2]
    assert clusters[0].members == [1, 2, 3] and clusters[0].representative == 2
    assert clusters[0].mean_accuracy == pytest.approx(0.91)
    assert clusters[1].mean_accuracy == pytest.approx(0.6)


def test_cluster_solutions_of_a_single_trial_is_one_cluster():
    clusters = cluster_solutions(np.zeros((1, 1)), 0.05)
    assert [(c.size, c.representative) for c in clusters] == [(1, 0)]
    assert cluster_solutions(np.zeros((0, 0)), 0.05) == []


@pytest.mark.parametrize("tolerance", [0.0, -1.0, float("nan")])
def test_cluster_solutions_rejects_a_non_positive_tolerance(tolerance):
    with pytest.raises(ValueError, match="tolerance"):
        cluster_solutions(np.zeros((2, 2)), tolerance)


def test_cluster_solutions_rejects_a_non_square_matrix():
    with pytest.raises(ValueError, match="square"):
        cluster_solutions(np.zeros((2, 3)), 0.1)


def _four_groups() -> np.ndarray:
    from scipy.spatial.distance import pdist, squareform

    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (4, 5))
    points = np.concatenate([c + rng.normal(0, 0.01, (6, 5)) for c in centres])
    return squareform(pdist(points))


@pytest.mark.parametrize("method", ["single", "complete", "average", "weighted"])
def test_find_groups_counts_four_separated_groups_whatever_the_linkage(method):
    groups = find_groups(_four_groups(), 0.05, method=method)
    assert groups.clear and groups.n_groups == 4
    assert sorted(np.bincount(groups.labels)) == [6, 6, 6, 6]
    assert groups.largest_within * GAP <= groups.smallest_between


def test_find_groups_says_no_clear_groups_without_a_gap():
    # Runs spread evenly along a valley: every distance from 0.01 to 0.6, no gap.
    positions = np.linspace(0.0, 0.6, 25)
    groups = find_groups(np.abs(positions[:, None] - positions[None, :]), 0.05)
    assert not groups.clear and groups.n_groups is None and groups.labels is None


def test_find_groups_within_the_tolerance_is_one_solution():
    d = np.full((5, 5), 0.01)
    np.fill_diagonal(d, 0.0)
    groups = find_groups(d, 0.05)
    assert groups.clear and groups.n_groups == 1
