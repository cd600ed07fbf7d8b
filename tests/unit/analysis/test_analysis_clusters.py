import numpy as np
import pytest

from sweepd.analysis.clusters import cluster_solutions


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
