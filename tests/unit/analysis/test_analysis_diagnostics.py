import numpy as np
import pytest

from sweepd.analysis import diagnostics as diag
from sweepd.analysis._net import as_layers
from sweepd.weights import from_layers


def _init(kernel0, kernel1):
    return from_layers([(kernel0, np.zeros(kernel0.shape[1])), (kernel1, np.zeros(1))])


def _trained(build, moons, name):
    """A 2-4-1 tanh net trained by GD from a Keras initializer (biases zeros)."""
    inits = {
        "zeros": _init(np.zeros((2, 4)), np.zeros((4, 1))),
        "ones": _init(np.ones((2, 4)), np.ones((4, 1))),
        "constant": _init(np.full((2, 4), 0.3), np.full((4, 1), 0.3)),
        "identity": _init(np.eye(2, 4), np.eye(4, 1)),
    }
    return as_layers(build.train(moons, inits[name], steps=200))


@pytest.mark.parametrize("name", ["zeros", "ones", "constant"])
def test_flag_symmetry_never_broken_for_symmetric_initializers(build, moons, name):
    assert diag.symmetry_never_broken(_trained(build, moons, name), "tanh")


def test_symmetry_is_broken_for_random_and_identity_inits(build, moons, trained):
    assert not diag.symmetry_never_broken(as_layers(trained[0]), "tanh")
    assert not diag.symmetry_never_broken(_trained(build, moons, "identity"), "tanh")


def test_symmetry_never_broken_counts_sign_flipped_units_for_odd_activations_only(build):
    (k0, b0), (k1, b1) = as_layers(build.random_net(np.random.default_rng(1), (2, 1, 1)))
    net = [(np.hstack([k0, -k0]), np.hstack([b0, -b0])), (np.vstack([k1, -k1]), b1)]
    assert diag.symmetry_never_broken(net, "tanh")
    assert not diag.symmetry_never_broken(net, "relu")


def test_identity_on_a_2x4_kernel_shows_its_two_dead_units(build, moons):
    net = _trained(build, moons, "identity")
    assert diag.dead_units(net) == [2]
    assert np.all(net[0][0][:, 2:] == 0) and np.all(net[1][0][2:] == 0)


def test_dead_units_count_zero_incoming_or_zero_outgoing_weights(build):
    (k0, b0), (k1, b1) = as_layers(build.random_net(np.random.default_rng(2), (3, 5, 2)))
    k0[:, 1] = 0.0
    k1[3, :] = 0.0
    assert diag.dead_units([(k0, b0), (k1, b1)]) == [2]


@pytest.mark.parametrize(("name", "expected"), [("zeros", 0), ("ones", 1), ("constant", 1),
                                                ("identity", 2)])
def test_effective_units_of_symmetric_and_identity_inits(build, moons, name, expected):
    assert diag.effective_units(_trained(build, moons, name), moons.x_train, "tanh") == [expected]


def test_effective_units_of_trained_random_inits_are_all_four(trained, moons):
    assert [diag.effective_units(as_layers(n), moons.x_train, "tanh") for n in trained] == \
        [[4], [4], [4]]


def test_effective_units_merge_units_equal_up_to_sign(build, moons):
    (k0, b0), (k1, b1) = as_layers(build.random_net(np.random.default_rng(3), (2, 2, 1)))
    # unit 2 = −unit 0 with the same outgoing weight: the two cancel out exactly
    net = [(np.hstack([k0, -k0[:, :1]]), np.hstack([b0, -b0[:1]])), (np.vstack([k1, k1[:1]]), b1)]
    assert diag.effective_units(net, moons.x_train, "tanh") == [1]
    assert diag.effective_units(net, moons.x_train, "sigmoid") == [3]


def test_effective_units_merge_positively_rescaled_relu_units(build, moons):
    (k0, b0), (k1, b1) = as_layers(build.random_net(np.random.default_rng(4), (2, 2, 1)))
    net = [(np.hstack([k0, 3 * k0[:, :1]]), np.hstack([b0, 3 * b0[:1]])),
           (np.vstack([k1, -k1[:1] / 3]), b1)]  # the copy cancels unit 0 exactly
    assert diag.effective_units(net, moons.x_train, "relu") == [1]


def test_stuck_at_chance_uses_binomial_noise_around_the_majority_rate():
    assert diag.majority_rate(np.array([0, 0, 0, 1])) == 0.75
    se = np.sqrt(0.5 * 0.5 / 1000)
    assert diag.stuck_at_chance(0.5 + 1.9 * se, 0.5, 1000)
    assert not diag.stuck_at_chance(0.5 + 2.1 * se, 0.5, 1000)
    assert diag.stuck_at_chance(0.3, 0.5, 1000)


def test_tail_change_is_zero_when_flat_and_positive_while_drifting():
    assert diag.tail_change([1.0] * 10 + [0.1] * 100) == 0.0
    drifting = list(np.linspace(1.0, 0.5, 200))  # tail: the last 10 points, halves of 4
    assert diag.tail_change(drifting) == pytest.approx(
        abs(np.mean(drifting[-4:]) - np.mean(drifting[-8:-4])) / np.mean(drifting[-8:-4]))


@pytest.mark.parametrize("length", [100, 120, 140, 160])
def test_tail_change_averages_halves_so_oscillation_does_not_count(length):
    assert diag.tail_change([0.3, 0.1] * (length // 2)) == pytest.approx(0.0)


def test_tail_change_is_unknown_for_short_or_diverged_curves():
    assert diag.tail_change([0.5, 0.4]) is None
    assert diag.tail_change([0.5] * 20 + [None]) is None
    assert diag.tail_change([0.5] * 20 + [float("inf")]) is None


def test_is_finite_detects_nan_weights(build):
    net = as_layers(build.random_net(np.random.default_rng(5)))
    assert diag.is_finite(net)
    net[0][0][0, 0] = np.nan
    assert not diag.is_finite(net)
