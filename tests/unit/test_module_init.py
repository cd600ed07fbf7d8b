"""Initializers on any module (issue 18, item 3): Keras fan rules on torch's conv layout."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from sweepd.engine.data import make_generator
from sweepd.engine.module_init import initialize, keras_shape, to_torch_layout
from sweepd.initializers import TRUNCATED_STD, compute_fans, make

SHAPE = (16, 8, 3, 3)  # Conv2d(8, 16, 3): torch's (out, in, kh, kw)
FAN_IN, FAN_OUT = 8 * 9, 16 * 9


def _conv() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(8, 16, 3))


def _trial(init, seed: int = 0, bias=None) -> SimpleNamespace:
    return SimpleNamespace(seed=seed, initializer=init, bias_initializer=bias)


def test_conv_kernel_fans_count_the_receptive_field_into_both():
    assert keras_shape(SHAPE) == (3, 3, 8, 16)
    assert compute_fans(keras_shape(SHAPE)) == (FAN_IN, FAN_OUT)
    assert keras_shape((5, 7)) == (7, 5)  # Linear: (out, in) → (fan_in, fan_out)
    x = torch.arange(16 * 8 * 9.0).reshape(3, 3, 8, 16)
    assert torch.equal(to_torch_layout(x)[4, 2, 1, 0], x[1, 0, 2, 4])


def test_glorot_uniform_on_a_conv2d_uses_fan_in_72_and_fan_out_144():
    limit = math.sqrt(6 / (FAN_IN + FAN_OUT))
    init = initialize(_conv, _trial("glorot_uniform"), torch.float64)
    kernel = init.params["0.weight"]
    assert kernel.shape == SHAPE
    assert kernel.abs().max() <= limit and kernel.abs().max() > 0.98 * limit
    # Exactly the Keras draw of the (kh, kw, in, out) kernel, moved to torch's layout.
    expected = make("glorot_uniform", (3, 3, 8, 16), make_generator(0, "init"),
                    dtype=torch.float64)
    assert torch.equal(kernel, to_torch_layout(expected))
    assert torch.equal(init.params["0.bias"], torch.zeros(16, dtype=torch.float64))
    assert init.defaults == []


def _expected_std(init: dict) -> float:
    name = init["name"]
    avg = (FAN_IN + FAN_OUT) / 2
    table = {
        "random_normal": 0.05, "random_uniform": 0.1 / math.sqrt(12),
        "truncated_normal": TRUNCATED_STD * 0.05,
        "glorot_uniform": math.sqrt(1 / avg), "glorot_normal": math.sqrt(1 / avg),
        "lecun_uniform": math.sqrt(1 / FAN_IN), "lecun_normal": math.sqrt(1 / FAN_IN),
        "he_uniform": math.sqrt(2 / FAN_IN), "he_normal": math.sqrt(2 / FAN_IN),
        "torch_default": 1 / math.sqrt(FAN_IN) / math.sqrt(3),
        "orthogonal": math.sqrt(1 / FAN_IN),  # orthonormal columns of a (72, 16) matrix
    }
    if name == "variance_scaling":
        n = {"fan_in": FAN_IN, "fan_out": FAN_OUT, "fan_avg": avg}[init["mode"]]
        return math.sqrt(init["scale"] / n)
    return table[name]


@pytest.mark.parametrize("init", [
    {"name": n} for n in ("random_normal", "random_uniform", "truncated_normal", "glorot_uniform",
                          "glorot_normal", "lecun_uniform", "lecun_normal", "he_uniform",
                          "he_normal", "torch_default", "orthogonal")
] + [{"name": "variance_scaling", "scale": 2.0, "mode": m, "distribution": d}
     for m in ("fan_in", "fan_out", "fan_avg")
     for d in ("truncated_normal", "untruncated_normal", "uniform")], ids=str)
def test_every_random_initializer_has_its_std_within_2_percent_on_a_conv_kernel(init):
    draws = torch.cat([initialize(_conv, _trial(init, seed), torch.float64)
                       .params["0.weight"].flatten() for seed in range(40)])  # 46 080 values
    assert abs(draws.std().item() / _expected_std(init) - 1) < 0.02


def test_torch_default_draws_pytorchs_own_distribution_and_bias():
    init = initialize(_conv, _trial("torch_default"), torch.float64)
    bound = 1 / math.sqrt(FAN_IN)  # kaiming_uniform(a=√5) and the bias: U(±1/√fan_in)
    assert init.params["0.weight"].abs().max() <= bound
    assert init.params["0.bias"].abs().max() <= bound and init.params["0.bias"].abs().min() > 0


def test_other_parameter_kinds_keep_their_module_defaults_reproducibly():
    def build() -> torch.nn.Module:
        return torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.LayerNorm(3),
                                   torch.nn.Linear(3, 2))

    a = initialize(build, _trial("he_normal", seed=3), torch.float32)
    b = initialize(build, _trial("he_normal", seed=3), torch.float32)
    c = initialize(build, _trial("he_normal", seed=4), torch.float32)
    assert a.defaults == ["0.weight", "1.weight", "1.bias"]
    assert all(torch.equal(a.params[n], b.params[n]) for n in a.params)
    assert not torch.equal(a.params["0.weight"], c.params["0.weight"])  # the trial's own RNG
    assert torch.equal(a.params["1.weight"], torch.ones(3))
