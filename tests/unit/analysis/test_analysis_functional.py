import math

import numpy as np
import pytest
from sklearn.metrics import log_loss

from sweepd.analysis.functional import (
    activate,
    barrier,
    disagreement,
    evaluate,
    hidden_activations,
    interpolate,
    linear_cka,
    logits,
    predict,
)
from sweepd.weights import from_layers, layers


@pytest.mark.parametrize(("activation", "expected"), [
    ("tanh", [math.tanh(-2.0), 0.0, math.tanh(0.5)]),
    ("relu", [0.0, 0.0, 0.5]),
    ("leaky_relu", [-0.02, 0.0, 0.5]),
    ("sigmoid", [1 / (1 + math.exp(2.0)), 0.5, 1 / (1 + math.exp(-0.5))]),
    ("gelu", [-2.0 * 0.5 * (1 + math.erf(-2.0 / math.sqrt(2))), 0.0,
              0.5 * 0.5 * (1 + math.erf(0.5 / math.sqrt(2)))]),
    ("linear", [-2.0, 0.0, 0.5]),
])
def test_activate_matches_the_engine_formulas(activation, expected):
    assert np.allclose(activate(np.array([-2.0, 0.0, 0.5]), activation), expected, atol=1e-15)


def test_forward_pass_matches_a_manual_computation(build):
    rng = np.random.default_rng(0)
    net = build.random_net(rng, (2, 3, 4, 2))
    (k0, b0), (k1, b1), (k2, b2) = layers(net)
    x = rng.normal(size=(7, 2))
    h1 = np.tanh(x @ k0 + b0)
    h2 = np.tanh(h1 @ k1 + b1)
    assert np.allclose(logits(net, x, "tanh"), h2 @ k2 + b2)
    assert np.allclose(hidden_activations(net, x, "tanh")[1], h2)
    assert np.array_equal(predict(net, x, "tanh"), np.argmax(h2 @ k2 + b2, axis=1))


def test_evaluate_bce_matches_sklearn_log_loss(build, moons):
    net = build.random_net(np.random.default_rng(1))
    z = logits(net, moons.x_train, "tanh")[:, 0]
    loss, error = evaluate(net, moons.x_train, moons.y_train, "tanh")
    assert loss == pytest.approx(log_loss(moons.y_train, 1 / (1 + np.exp(-z))), rel=1e-9)
    assert error == pytest.approx(np.mean((z > 0) != moons.y_train))
    assert evaluate(net, moons.x_train, moons.y_train, "tanh", "ce")[0] == pytest.approx(loss)


def test_evaluate_cross_entropy_and_mse_for_softmax(build):
    rng = np.random.default_rng(2)
    net = build.random_net(rng, (2, 4, 3))
    x, y = rng.normal(size=(50, 2)), rng.integers(0, 3, 50)
    z = logits(net, x, "relu")
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert evaluate(net, x, y, "relu")[0] == pytest.approx(log_loss(y, p, labels=[0, 1, 2]))
    assert evaluate(net, x, y, "relu", "mse")[0] == pytest.approx(np.mean((p - np.eye(3)[y]) ** 2))
    with pytest.raises(ValueError, match="bce"):
        evaluate(net, x, y, "relu", "bce")


def test_disagreement_counts_points_with_different_classes(build, moons):
    net = build.random_net(np.random.default_rng(3))
    flipped = dict(net, **{"layers.1.kernel": -net["layers.1.kernel"],
                           "layers.1.bias": -net["layers.1.bias"]})
    assert disagreement(net, net, moons.x_test, "tanh") == 0.0
    z = logits(net, moons.x_test, "tanh")
    assert disagreement(net, flipped, moons.x_test, "tanh") == pytest.approx(np.mean(z != 0))


def test_interpolate_ends_at_the_two_networks(trained, moons):
    a, b = trained[0], trained[1]
    line = interpolate(a, b, moons.x_train, moons.y_train, "tanh")
    assert line.alphas.size == 25 and line.alphas[0] == 0.0 and line.alphas[-1] == 1.0
    assert line.loss[-1] == pytest.approx(evaluate(a, moons.x_train, moons.y_train, "tanh")[0])
    assert line.loss[0] == pytest.approx(evaluate(b, moons.x_train, moons.y_train, "tanh")[0])
    assert line.error[-1] == pytest.approx(evaluate(a, moons.x_train, moons.y_train, "tanh")[1])
    assert line.barrier >= 0.0


def test_barrier_to_an_aligned_permuted_copy_is_zero_and_raw_is_not(build, trained, moons):
    net = trained[0]
    copy = build.signed_permutation(net, np.random.default_rng(12), signed=True)
    result = barrier(net, copy, moons.x_train, moons.y_train, "tanh")
    assert result.aligned.barrier == pytest.approx(0.0, abs=1e-9)
    assert result.raw.barrier > 0.05  # the midpoint of two shuffled copies is another net


def test_barrier_between_two_different_seeds_is_reported(trained, moons):
    result = barrier(trained[0], trained[1], moons.x_train, moons.y_train, "tanh")
    assert result.raw.barrier > 0.0
    assert 0.0 <= result.aligned.barrier < result.raw.barrier


def test_barrier_baseline_uses_the_end_points_off_the_grid(trained, moons):
    line = interpolate(trained[0], trained[1], moons.x_train, moons.y_train, "tanh",
                       alphas=np.array([0.5]))
    la = evaluate(trained[0], moons.x_train, moons.y_train, "tanh")[0]
    lb = evaluate(trained[1], moons.x_train, moons.y_train, "tanh")[0]
    assert line.barrier == pytest.approx(line.loss[0] - (la + lb) / 2)


def test_interpolate_rejects_different_architectures(build, moons):
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="architectures"):
        interpolate(build.random_net(rng, (2, 4, 1)), build.random_net(rng, (2, 3, 1)),
                    moons.x_train, moons.y_train, "tanh")


def test_linear_cka_is_one_under_signed_permutations_and_none_when_constant(build, moons):
    net = build.random_net(np.random.default_rng(5), (2, 6, 1))
    copy = build.signed_permutation(net, np.random.default_rng(6), signed=True)
    h1 = hidden_activations(net, moons.x_test, "tanh")[0]
    h2 = hidden_activations(copy, moons.x_test, "tanh")[0]
    assert linear_cka(h1, h2) == pytest.approx(1.0)
    assert linear_cka(h1, np.zeros_like(h1)) is None


def test_linear_cka_of_unrelated_noise_is_small():
    rng = np.random.default_rng(7)
    assert linear_cka(rng.normal(size=(5000, 3)), rng.normal(size=(5000, 3))) < 0.01


def test_linear_cka_rejects_different_point_counts():
    with pytest.raises(ValueError, match="points"):
        linear_cka(np.zeros((3, 2)), np.zeros((4, 2)))


def test_logits_accept_pairs_as_well_as_named_weights(build):
    net = build.random_net(np.random.default_rng(8))
    x = np.ones((2, 2))
    assert np.array_equal(logits(layers(net), x, "tanh"),
                          logits(from_layers(layers(net)), x, "tanh"))
