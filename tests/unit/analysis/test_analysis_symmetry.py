import numpy as np
import pytest

from sweepd.analysis.functional import logits
from sweepd.analysis.symmetry import canonical_form
from sweepd.weights import layers

ALL = ["tanh", "relu", "leaky_relu", "sigmoid", "gelu", "linear"]


def _same(a, b, atol=1e-12):
    return a.keys() == b.keys() and all(np.allclose(a[k], b[k], atol=atol, rtol=0) for k in a)


@pytest.mark.parametrize("widths", [(2, 4, 1), (3, 5, 3), (2, 4, 3, 1)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_canonical_form_is_equal_for_signed_permutations_tanh(build, widths, seed):
    rng = np.random.default_rng(seed)
    net = build.random_net(rng, widths)
    copy = build.signed_permutation(net, rng, signed=True)
    assert not _same(net, copy)
    assert _same(canonical_form(net, "tanh"), canonical_form(copy, "tanh"))


@pytest.mark.parametrize("activation", ALL)
def test_canonical_form_keeps_the_function(build, activation):
    rng = np.random.default_rng(5)
    net = build.random_net(rng, (2, 4, 3, 2))
    x = rng.normal(size=(50, 2))
    assert np.allclose(logits(canonical_form(net, activation), x, activation),
                       logits(net, x, activation), atol=1e-10)


def test_canonical_form_makes_outgoing_weights_nonnegative_and_sorted_tanh(build):
    net = build.random_net(np.random.default_rng(6), (2, 6, 1))
    v = canonical_form(net, "tanh")["layers.1.kernel"][:, 0]
    assert np.all(v >= 0) and np.all(np.diff(v) <= 0)


def test_canonical_form_breaks_zero_outgoing_ties_by_bias_sign(build):
    (k0, b0), (k1, b1) = layers(build.random_net(np.random.default_rng(7), (2, 2, 1)))
    k1[:] = 0.0
    b0[:] = [-0.5, 0.25]
    canon = layers(canonical_form({"layers.0.kernel": k0, "layers.0.bias": b0,
                                   "layers.1.kernel": k1, "layers.1.bias": b1}, "tanh"))
    assert np.all(canon[0][1] > 0)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("widths", [(2, 4, 1), (2, 5, 3, 2)])
def test_canonical_form_is_equal_for_rescaled_relu_copies(build, activation, widths):
    rng = np.random.default_rng(8)
    net = build.random_net(rng, widths)
    copy = build.signed_permutation(net, rng, signed=False, rescale=True)
    assert not _same(net, copy)
    canon = canonical_form(net, activation)
    assert _same(canon, canonical_form(copy, activation), atol=1e-10)
    incoming = np.vstack([canon["layers.0.kernel"], canon["layers.0.bias"]])
    assert np.allclose(np.linalg.norm(incoming, axis=0), 1.0)


@pytest.mark.parametrize("activation", ["sigmoid", "gelu"])
def test_canonical_form_is_equal_for_permuted_copies_without_sign_symmetry(build, activation):
    rng = np.random.default_rng(9)
    net = build.random_net(rng, (2, 5, 4, 1))
    copy = build.signed_permutation(net, rng, signed=False)
    assert _same(canonical_form(net, activation), canonical_form(copy, activation))


def test_canonical_form_keeps_float32_dtype(build):
    net = {k: v.astype(np.float32) for k, v in build.random_net(np.random.default_rng(1)).items()}
    assert all(v.dtype == np.float32 for v in canonical_form(net, "tanh").values())


def test_canonical_form_rejects_an_unknown_activation(build):
    with pytest.raises(ValueError, match="activation"):
        canonical_form(build.random_net(np.random.default_rng(1)), "swish")
