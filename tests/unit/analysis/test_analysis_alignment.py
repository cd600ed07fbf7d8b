import itertools

import numpy as np
import pytest

from sweepd.analysis._net import as_layers, flatten, transform_units
from sweepd.analysis.alignment import aligned_distance
from sweepd.analysis.clusters import cluster_solutions
from sweepd.analysis.distances import distance_matrix
from sweepd.analysis.functional import logits
from sweepd.analysis.symmetry import canonical_form


def _brute_force(a, b, signed):
    """min over all 2^H·H! signed permutations (H! without signs) of ‖θ_A − g·θ_B‖."""
    la, lb = as_layers(a), as_layers(b)
    h = la[0][1].size
    signs = list(itertools.product([-1.0, 1.0], repeat=h)) if signed else [(1.0,) * h]
    best = np.inf
    for sign in signs:
        for perm in itertools.permutations(range(h)):
            moved = transform_units(lb, 0, np.array(perm), np.array(sign))
            best = min(best, float(np.linalg.norm(flatten(la) - flatten(moved))))
    return best


def test_signed_permuted_copy_of_a_trained_net_is_the_same_solution(build, trained, moons):
    net = trained[0]
    copy = build.signed_permutation(net, np.random.default_rng(11), signed=True)
    out_a = logits(net, moons.x_test, "tanh")
    out_b = logits(copy, moons.x_test, "tanh")
    assert np.max(np.abs(out_a - out_b)) < 1e-6
    canon_a, canon_b = canonical_form(net, "tanh"), canonical_form(copy, "tanh")
    assert all(np.allclose(canon_a[k], canon_b[k], atol=1e-12) for k in canon_a)
    alignment = aligned_distance(net, copy, "tanh")
    assert alignment.raw_distance > 0.1
    assert alignment.distance < 1e-6
    matrices = distance_matrix([net, copy], "tanh")
    assert len(cluster_solutions(matrices.aligned_relative, 0.05)) == 1


def test_different_trained_nets_stay_apart(trained):
    alignment = aligned_distance(trained[0], trained[1], "tanh")
    assert alignment.relative_distance > 0.05
    matrices = distance_matrix(trained[:2], "tanh")
    assert len(cluster_solutions(matrices.aligned_relative, 0.05)) == 2


@pytest.mark.parametrize("h", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_exact_alignment_equals_brute_force_over_signed_permutations(build, h, seed):
    rng = np.random.default_rng(100 * h + seed)
    a, b = build.random_net(rng, (2, h, 1)), build.random_net(rng, (2, h, 1))
    expected = _brute_force(a, b, signed=True)
    alignment = aligned_distance(a, b, "tanh")
    assert alignment.exact
    assert alignment.distance == pytest.approx(expected, rel=1e-12, abs=1e-12)
    matrix = distance_matrix([a, b], "tanh").aligned[0, 1]
    assert matrix == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_alignment_equals_brute_force_over_permutations_for_sigmoid(build, seed):
    rng = np.random.default_rng(seed)
    a, b = build.random_net(rng, (3, 4, 2)), build.random_net(rng, (3, 4, 2))
    expected = _brute_force(a, b, signed=False)
    assert aligned_distance(a, b, "sigmoid").distance == pytest.approx(expected, rel=1e-12)
    assert distance_matrix([a, b], "sigmoid").aligned[0, 1] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_weight_matching_recovers_a_planted_permutation_in_two_hidden_layers(
        build, activation, seed):
    rng = np.random.default_rng(seed)
    net = build.random_net(rng, (3, 6, 5, 2))
    copy = build.signed_permutation(net, rng, signed=activation == "tanh")
    alignment = aligned_distance(net, copy, activation, seed=seed)
    assert not alignment.exact
    assert alignment.raw_distance > 1.0
    assert alignment.distance < 1e-9


def test_aligned_copy_computes_the_same_function_as_b(build):
    rng = np.random.default_rng(3)
    a, b = build.random_net(rng, (2, 5, 4, 1)), build.random_net(rng, (2, 5, 4, 1))
    x = rng.normal(size=(30, 2))
    alignment = aligned_distance(a, b, "tanh")
    assert np.allclose(logits(alignment.aligned, x, "tanh"), logits(b, x, "tanh"), atol=1e-12)
    assert alignment.distance <= alignment.raw_distance + 1e-12


def test_aligned_distance_reports_the_planted_signed_permutation(build):
    rng = np.random.default_rng(4)
    net = build.random_net(rng, (2, 4, 1))
    (k0, b0), (k1, b1) = as_layers(net)
    perm, signs = np.array([2, 0, 3, 1]), np.array([1.0, -1.0, -1.0, 1.0])
    copy = {"layers.0.kernel": k0[:, perm] * signs, "layers.0.bias": b0[perm] * signs,
            "layers.1.kernel": k1[perm] * signs[:, None], "layers.1.bias": b1}
    alignment = aligned_distance(net, copy, "tanh")
    # position j of the aligned copy holds copy's unit that is net's unit j
    assert np.array_equal(perm[alignment.permutations[0]], np.arange(4))
    assert np.array_equal(alignment.signs[0], signs[alignment.permutations[0]])


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_relu_aligned_distance_ignores_positive_rescaling(build, activation):
    rng = np.random.default_rng(5)
    net = build.random_net(rng, (2, 4, 1))
    copy = build.signed_permutation(net, rng, signed=False, rescale=True)
    assert aligned_distance(net, copy, activation).distance < 1e-9
    assert aligned_distance(net, copy, activation).raw_distance > 0.5


def test_aligned_distance_rejects_different_architectures(build):
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError, match="architectures differ"):
        aligned_distance(build.random_net(rng, (2, 4, 1)), build.random_net(rng, (2, 3, 1)), "tanh")


def test_relative_distance_is_zero_for_two_zero_nets(build):
    zero = {k: np.zeros_like(v) for k, v in build.random_net(np.random.default_rng(7)).items()}
    alignment = aligned_distance(zero, zero, "tanh")
    assert (alignment.distance, alignment.relative_distance) == (0.0, 0.0)


@pytest.mark.parametrize("seed", range(6))
def test_weight_matching_finds_a_noisy_planted_permutation_at_least_as_near(build, seed):
    rng = np.random.default_rng(seed)
    net = build.random_net(rng, (4, 8, 6, 3))
    copy = build.signed_permutation(net, rng, signed=True)
    noise = {k: rng.normal(0, 0.05, v.shape) for k, v in copy.items()}
    noisy = {k: copy[k] + noise[k] for k in copy}
    planted = float(np.sqrt(sum(np.sum(v**2) for v in noise.values())))
    alignment = aligned_distance(net, noisy, "tanh", seed=seed)
    assert alignment.distance <= planted + 1e-9
    assert alignment.raw_distance > 5 * planted
