import numpy as np
import pytest

from sweepd.analysis import distances
from sweepd.analysis.alignment import aligned_distance
from sweepd.analysis.clusters import cluster_solutions
from sweepd.analysis.distances import distance_matrix


def _pairwise(nets, activation):
    n = len(nets)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                out[i, j] = aligned_distance(nets[i], nets[j], activation).distance
    return out


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("widths", [(2, 3, 1), (3, 4, 2)])
def test_batched_distance_matrix_equals_pairwise_alignment(build, activation, widths):
    rng = np.random.default_rng(1)
    nets = [build.random_net(rng, widths) for _ in range(6)]
    matrices = distance_matrix(nets, activation)
    assert np.allclose(matrices.aligned, _pairwise(nets, activation), rtol=1e-10, atol=1e-12)
    assert np.allclose(matrices.aligned, matrices.aligned.T)
    assert np.all(np.diag(matrices.aligned) == 0)
    if activation != "relu":  # ReLU nets are compared after rescaling, raw ones are not
        assert np.all(matrices.aligned <= matrices.raw + 1e-12)


def test_wide_layers_fall_back_to_one_assignment_per_pair(build, monkeypatch):
    rng = np.random.default_rng(2)
    nets = [build.random_net(rng, (2, 5, 1)) for _ in range(4)]
    enumerated = distance_matrix(nets, "tanh").aligned
    monkeypatch.setattr(distances, "ENUMERATE_MAX_H", 2)
    assert np.allclose(distance_matrix(nets, "tanh").aligned, enumerated, rtol=1e-12)


def test_deep_distance_matrix_uses_weight_matching(build):
    rng = np.random.default_rng(3)
    nets = [build.random_net(rng, (2, 4, 3, 1)) for _ in range(3)]
    nets.append(build.signed_permutation(nets[0], rng, signed=True))
    matrices = distance_matrix(nets, "tanh")
    assert not matrices.exact
    assert matrices.aligned[0, 3] < 1e-9 and matrices.raw[0, 3] > 0.5
    assert np.allclose(matrices.aligned, _pairwise(nets, "tanh"), rtol=1e-10)


def test_relative_distances_divide_by_the_mean_norm(build):
    rng = np.random.default_rng(4)
    a, b = build.random_net(rng), build.random_net(rng)
    norm = lambda net: np.sqrt(sum(np.sum(v**2) for v in net.values()))  # noqa: E731
    matrices = distance_matrix([a, b], "tanh")
    assert matrices.raw_relative[0, 1] == pytest.approx(
        matrices.raw[0, 1] / ((norm(a) + norm(b)) / 2))
    assert matrices.aligned_relative[0, 1] == pytest.approx(
        aligned_distance(a, b, "tanh").relative_distance)


def test_permuted_copies_cluster_into_their_originals(build):
    rng = np.random.default_rng(5)
    originals = [build.random_net(rng, (2, 4, 1)) for _ in range(2)]
    nets = [build.signed_permutation(originals[i], rng, signed=True) for i in (0, 0, 1, 0, 1)]
    matrices = distance_matrix(nets, "tanh")
    clusters = cluster_solutions(matrices.aligned_relative, 0.05)
    assert [c.members for c in clusters] == [[0, 1, 3], [2, 4]]
    assert len(cluster_solutions(matrices.raw_relative, 0.05)) > 2


def test_distance_matrix_of_one_or_no_net_is_empty_of_pairs(build):
    net = build.random_net(np.random.default_rng(6))
    assert distance_matrix([net], "tanh").aligned.shape == (1, 1)
    assert distance_matrix([], "tanh").aligned.shape == (0, 0)


def test_distance_matrix_rejects_mixed_architectures(build):
    rng = np.random.default_rng(7)
    with pytest.raises(ValueError, match="architecture"):
        distance_matrix([build.random_net(rng, (2, 4, 1)), build.random_net(rng, (2, 3, 1))],
                        "tanh")
