"""Initializers: Keras 3 formulas (SCIENCE.md §1), fans, layout, generators and bad input."""

from __future__ import annotations

import math

import pytest
import torch

from sweepd.errors import InvalidSpec
from sweepd.initializers import TRUNCATED_STD, compute_fans, make, make_bias

SHAPE = (400, 300)  # fan_in 400, fan_out 300
FAN_IN, FAN_OUT = SHAPE
FAN_AVG = (FAN_IN + FAN_OUT) / 2


def _draw(init: object, shape: tuple[int, ...] = SHAPE, seed: int = 0,
          dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return make(init, shape, torch.Generator().manual_seed(seed), dtype=dtype)


def _normal(init: object, mean: float, std: float) -> tuple:
    return init, mean, std, "normal", None


def _uniform(init: object, center: float, limit: float) -> tuple:
    return init, center, limit / math.sqrt(3.0), "uniform", limit


def _truncated(init: object, mean: float, std_after: float) -> tuple:
    """TN(σ) has std 0.8796σ after truncation and bound 2σ = 2·std_after / 0.8796."""
    return init, mean, std_after, "truncated", 2.0 * std_after / TRUNCATED_STD


# (initializer, mean, std, kind, bound): "uniform" and "truncated" draws stay within `bound`
# of the mean and reach it; "normal" draws have tails beyond 3σ.
RANDOM_CASES = [
    _normal({"name": "random_normal"}, 0.0, 0.05),
    _normal({"name": "random_normal", "mean": 1.0, "stddev": 0.3}, 1.0, 0.3),
    _uniform({"name": "random_uniform"}, 0.0, 0.05),
    _uniform({"name": "random_uniform", "minval": 1.0, "maxval": 3.0}, 2.0, 1.0),
    _truncated({"name": "truncated_normal"}, 0.0, 0.05 * TRUNCATED_STD),
    _truncated({"name": "truncated_normal", "mean": -0.5, "stddev": 0.2}, -0.5,
               0.2 * TRUNCATED_STD),
    _truncated({"name": "variance_scaling"}, 0.0, math.sqrt(1 / FAN_IN)),
    _truncated({"name": "variance_scaling", "scale": 3.0, "mode": "fan_out"}, 0.0,
               math.sqrt(3 / FAN_OUT)),
    _truncated({"name": "variance_scaling", "mode": "fan_avg", "distribution": "normal"}, 0.0,
               math.sqrt(1 / FAN_AVG)),
    _normal({"name": "variance_scaling", "scale": 2.0, "distribution": "untruncated_normal"},
            0.0, math.sqrt(2 / FAN_IN)),
    _uniform({"name": "variance_scaling", "scale": 0.5, "mode": "fan_avg",
              "distribution": "uniform"}, 0.0, math.sqrt(1.5 / FAN_AVG)),
    _uniform({"name": "glorot_uniform"}, 0.0, math.sqrt(6 / (FAN_IN + FAN_OUT))),
    _truncated({"name": "glorot_normal"}, 0.0, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    _uniform({"name": "lecun_uniform"}, 0.0, math.sqrt(3 / FAN_IN)),
    _truncated({"name": "lecun_normal"}, 0.0, math.sqrt(1 / FAN_IN)),
    _uniform({"name": "he_uniform"}, 0.0, math.sqrt(6 / FAN_IN)),
    _truncated({"name": "he_normal"}, 0.0, math.sqrt(2 / FAN_IN)),
    _uniform({"name": "torch_default"}, 0.0, 1 / math.sqrt(FAN_IN)),
]


def _case_id(init: dict) -> str:
    return "-".join(str(v) for v in init.values())


@pytest.mark.parametrize(("init", "mean", "std", "kind", "bound"), RANDOM_CASES,
                         ids=[_case_id(case[0]) for case in RANDOM_CASES])
def test_make_random_kernel_matches_keras_formula(init: dict, mean: float, std: float,
                                                  kind: str, bound: float | None) -> None:
    x = _draw(init)
    assert x.shape == SHAPE
    assert abs(x.mean().item() - mean) < 0.02 * std
    assert x.std().item() == pytest.approx(std, rel=0.02)
    spread = (x - mean).abs().max().item()
    if kind == "normal":
        assert spread > 3.0 * std  # an untruncated normal of 120 000 draws has tails
    else:
        assert spread <= bound * (1 + 1e-12)
        assert spread > 0.99 * bound  # the bound is reached: truncation is exactly there


def test_make_truncated_normal_redraws_only_outside_two_sigma() -> None:
    x = _draw({"name": "truncated_normal", "stddev": 1.0}, shape=(1000, 1000))
    inside = x.abs() <= 2.0
    assert bool(inside.all())
    # Redrawing (not clipping) leaves no pile-up at the bounds.
    assert (x.abs() > 1.999).float().mean().item() < 1e-3


@pytest.mark.parametrize("shape", [(400, 300), (300, 400), (3, 5, 7)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_make_orthogonal_gives_scaled_orthonormal_matrix(shape: tuple[int, ...],
                                                         gain: float) -> None:
    q = _draw({"name": "orthogonal", "gain": gain}, shape=shape).reshape(-1, shape[-1])
    small = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    eye = torch.eye(small.shape[0], dtype=small.dtype)
    torch.testing.assert_close(small, gain**2 * eye, atol=1e-10, rtol=0)


def test_make_orthogonal_rank_one_raises_invalid_spec() -> None:
    with pytest.raises(InvalidSpec, match="orthogonal"):
        _draw("orthogonal", shape=(5,))


@pytest.mark.parametrize(("init", "expected"), [
    ("zeros", torch.zeros(2, 4)),
    ("ones", torch.ones(2, 4)),
    ({"name": "constant", "value": -1.5}, torch.full((2, 4), -1.5)),
    ({"name": "identity"}, torch.eye(2, 4)),
    ({"name": "identity", "gain": 3.0}, 3.0 * torch.eye(2, 4)),
])
def test_make_deterministic_initializer_is_exact(init: object, expected: torch.Tensor) -> None:
    assert torch.equal(_draw(init, shape=(2, 4), dtype=torch.float32), expected)


def test_make_identity_on_non_2d_kernel_raises_invalid_spec() -> None:
    with pytest.raises(InvalidSpec, match="2-D"):
        _draw("identity", shape=(2, 3, 4))


def test_compute_fans_of_dense_and_conv_kernels() -> None:
    assert compute_fans((2, 4)) == (2, 4)
    assert compute_fans((3, 5, 2, 4)) == (30, 60)  # receptive field 15 multiplies both
    assert compute_fans((7,)) == (7, 7)
    assert compute_fans(()) == (1, 1)


@pytest.mark.parametrize(("mode", "fan"), [("fan_in", 2), ("fan_out", 4), ("fan_avg", 3)])
def test_make_two_by_four_kernel_uses_keras_fans(mode: str, fan: int) -> None:
    init = {"name": "variance_scaling", "mode": mode, "distribution": "uniform"}
    limit = math.sqrt(3.0 / fan)
    draws = torch.stack([_draw(init, shape=(2, 4), seed=s) for s in range(500)])
    assert draws.abs().max().item() <= limit
    assert draws.abs().max().item() > 0.99 * limit


def test_make_draws_only_from_the_given_generator() -> None:
    before = torch.get_rng_state()
    first = _draw("he_normal", seed=7)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(first, _draw("he_normal", seed=7))
    assert not torch.equal(first, _draw("he_normal", seed=8))


def test_make_float32_is_the_rounded_float64_draw() -> None:
    f64 = _draw("glorot_normal", seed=3, dtype=torch.float64)
    f32 = _draw("glorot_normal", seed=3, dtype=torch.float32)
    assert f32.dtype == torch.float32
    assert torch.equal(f32, f64.to(torch.float32))


@pytest.mark.parametrize("init", [
    {"name": "he_uniform", "bogus": 1},
    {"name": "variance_scaling", "scale": 0.0},
    {"name": "variance_scaling", "scale": -1.0},
    {"name": "random_uniform", "minval": 0.1, "maxval": 0.1},
    {"name": "random_normal", "stddev": float("nan")},
    "kaiming_magic",
])
def test_make_bad_initializer_raises_invalid_spec(init: object) -> None:
    with pytest.raises(InvalidSpec, match="initializer"):
        _draw(init, shape=(2, 4))


def test_make_bias_defaults_to_zeros_and_draws_nothing() -> None:
    generator = torch.Generator().manual_seed(0)
    state = generator.get_state()
    bias = make_bias(None, "he_normal", (2, 4), generator)
    assert torch.equal(bias, torch.zeros(4))
    assert torch.equal(generator.get_state(), state)


def test_make_bias_follows_torch_default_kernel() -> None:
    fan_in = 25
    bias = make_bias(None, "torch_default", (fan_in, 3000), torch.Generator().manual_seed(0))
    assert bias.shape == (3000,)
    assert bias.abs().max().item() <= 1 / math.sqrt(fan_in)
    assert bias.abs().max().item() > 0.99 / math.sqrt(fan_in)


def test_make_bias_uses_given_initializer_after_kernel_draw() -> None:
    generator = torch.Generator().manual_seed(5)
    kernel = make("glorot_uniform", (3, 4), generator)
    bias = make_bias({"name": "constant", "value": 0.1}, "glorot_uniform", (3, 4), generator)
    assert torch.equal(bias, torch.full((4,), 0.1))
    replay = torch.Generator().manual_seed(5)
    assert torch.equal(make("glorot_uniform", (3, 4), replay), kernel)
    random_bias = make_bias("random_normal", "glorot_uniform", (3, 4), replay)
    assert random_bias.shape == (4,) and bool((random_bias != 0).all())
