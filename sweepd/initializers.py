"""Weight initializers with Keras 3 semantics, plus PyTorch's `nn.Linear` default.

`make(init, shape, generator)` draws one tensor in Keras layout: a dense kernel has shape
(fan_in, fan_out); for rank ≥ 3 the receptive field multiplies both fans (docs/science.md §1).
Every draw comes from the caller's `torch.Generator`, never from the global RNG, so a trial's
initial point depends only on its own seed.

Draws are made in float64 on the CPU and rounded to the requested dtype: the same seed then
starts a float32 and a float64 trial from the same point, up to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from pydantic import BaseModel, TypeAdapter, ValidationError

from sweepd.errors import InvalidSpec
from sweepd.spec import Initializer

__all__ = ["TRUNCATED_STD", "compute_fans", "make", "make_bias", "validate_initializer"]

# Standard deviation of N(0, 1) truncated to [-2, 2]: dividing by it gives the variance-scaling
# family a post-truncation std of exactly sqrt(scale / n), as in Keras.
TRUNCATED_STD = 0.87962566103423978

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Initializer)
_DRAW = torch.float64

# name -> (scale, mode, distribution) of the variance-scaling shorthands.
_SHORTHANDS = {
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated_normal"),
}


def validate_initializer(init: Any) -> BaseModel:
    """Turn a name, a mapping or an initializer model into a validated initializer model.

    Args:
        init: an initializer model of `sweepd.spec`, a mapping such as
            `{"name": "random_normal", "stddev": 0.01}`, or a bare name.

    Returns:
        The validated (frozen) initializer model.

    Raises:
        InvalidSpec: unknown name or a bad parameter; `errors` holds the pydantic details.
    """
    if isinstance(init, BaseModel):
        return init
    value = {"name": init} if isinstance(init, str) else init
    try:
        return _ADAPTER.validate_python(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        # A tag mismatch (unknown name) has an empty location: it is the name that is wrong.
        where = ".".join(str(p) for p in errors[0]["loc"]) or "name"
        raise InvalidSpec(f"initializer {where}: {errors[0]['msg']}", errors=errors) from None


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """Keras fan rule: (fan_in, fan_out) of a tensor in Keras layout.

    Args:
        shape: the tensor's shape; a dense kernel is (fan_in, fan_out).

    Returns:
        (fan_in, fan_out); rank 0 gives (1, 1), rank 1 gives (n, n), rank ≥ 3 multiplies
        both by the receptive field (the product of all but the last two dimensions).
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def make(init: Any, shape: Sequence[int], generator: torch.Generator, *,
         dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Draw one tensor from an initializer.

    Args:
        init: an initializer (model, mapping or name; see `validate_initializer`).
        shape: the tensor's shape in Keras layout, e.g. (fan_in, fan_out) for a dense kernel.
        generator: the trial's CPU `torch.Generator`; the only source of randomness.
        dtype: dtype of the returned tensor (draws are made in float64, then rounded).

    Returns:
        A CPU tensor of `shape` and `dtype`.

    Raises:
        InvalidSpec: a bad initializer, a non-positive dimension, `orthogonal` on a tensor of
            rank < 2, or `identity` on a tensor that is not 2-D.
    """
    model = validate_initializer(init)
    shape = _checked_shape(shape)
    return _DRAWERS[model.name](model, shape, generator).to(dtype)  # type: ignore[attr-defined]


def make_bias(bias_init: Any | None, kernel_init: Any, shape_of_kernel: Sequence[int],
              generator: torch.Generator, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Draw the bias of a dense layer, of shape (fan_out,).

    Keras's default bias is zeros. PyTorch's `nn.Linear` draws its bias from U(±1/√fan_in)
    too, so when the kernel initializer is `torch_default` and no bias initializer is given,
    the bias follows it; `torch_default` given as the bias initializer means the same rule.

    Args:
        bias_init: the bias initializer, or None for the default.
        kernel_init: the layer's kernel initializer (decides the default).
        shape_of_kernel: the kernel's shape in Keras layout (fan_in, fan_out).
        generator: the trial's CPU `torch.Generator`.
        dtype: dtype of the returned tensor.

    Returns:
        A CPU tensor of shape (fan_out,).

    Raises:
        InvalidSpec: as `make`.
    """
    kernel_shape = _checked_shape(shape_of_kernel)
    bias_shape = (kernel_shape[-1],) if kernel_shape else (1,)
    if bias_init is None:
        kernel_model = validate_initializer(kernel_init)
        bias_init = kernel_model if kernel_model.name == "torch_default" else "zeros"  # type: ignore[attr-defined]
    model = validate_initializer(bias_init)
    if model.name == "torch_default":  # type: ignore[attr-defined]
        bound = 1.0 / math.sqrt(max(1, compute_fans(kernel_shape)[0]))
        return _uniform(bias_shape, -bound, bound, generator).to(dtype)
    return make(model, bias_shape, generator, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Draws (float64, CPU).
# ---------------------------------------------------------------------------------------------


def _checked_shape(shape: Sequence[int]) -> tuple[int, ...]:
    dims = tuple(int(d) for d in shape)
    if any(d < 1 for d in dims):
        raise InvalidSpec(f"initializer: every dimension of a tensor must be ≥ 1, got {dims}")
    return dims


def _uniform(shape: tuple[int, ...], lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, generator=g, dtype=_DRAW).mul_(hi - lo).add_(lo)


def _normal(shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=g, dtype=_DRAW)


def _truncated_standard(shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    """N(0, 1) with every sample outside [-2, 2] redrawn until none is left (rejection)."""
    out = _normal(shape, g)
    outside = out.abs() > 2.0
    while bool(outside.any()):
        out[outside] = torch.randn(int(outside.sum()), generator=g, dtype=_DRAW)
        outside = out.abs() > 2.0
    return out


def _variance_scaling(scale: float, mode: str, distribution: str, shape: tuple[int, ...],
                      g: torch.Generator) -> torch.Tensor:
    fan_in, fan_out = compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
    variance = scale / max(1.0, n)
    if distribution == "uniform":
        limit = math.sqrt(3.0 * variance)
        return _uniform(shape, -limit, limit, g)
    if distribution == "untruncated_normal":
        return _normal(shape, g).mul_(math.sqrt(variance))
    return _truncated_standard(shape, g).mul_(math.sqrt(variance) / TRUNCATED_STD)


def _orthogonal(model: Any, shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    if len(shape) < 2:
        raise InvalidSpec(f"initializer: orthogonal needs a tensor of rank ≥ 2, got {shape}")
    rows, cols = math.prod(shape[:-1]), shape[-1]
    q, r = torch.linalg.qr(_normal((max(rows, cols), min(rows, cols)), g))
    # Sign correction makes q uniformly distributed (Haar), as in Keras.
    q = q * torch.sign(torch.diagonal(r))
    if rows < cols:
        q = q.T
    return (model.gain * q).reshape(shape).contiguous()


def _identity(model: Any, shape: tuple[int, ...], _g: torch.Generator) -> torch.Tensor:
    if len(shape) != 2:
        raise InvalidSpec(f"initializer: identity needs a 2-D kernel, got shape {shape}")
    return model.gain * torch.eye(shape[0], shape[1], dtype=_DRAW)


def _torch_default(_m: Any, shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    # kaiming_uniform_(a=√5) on nn.Linear's (out, in) weight: bound = 1/√fan_in.
    bound = 1.0 / math.sqrt(max(1, compute_fans(shape)[0]))
    return _uniform(shape, -bound, bound, g)


_DRAWERS: dict[str, Callable[[Any, tuple[int, ...], torch.Generator], torch.Tensor]] = {
    "zeros": lambda _m, shape, _g: torch.zeros(shape, dtype=_DRAW),
    "ones": lambda _m, shape, _g: torch.ones(shape, dtype=_DRAW),
    "constant": lambda m, shape, _g: torch.full(shape, m.value, dtype=_DRAW),
    "random_normal": lambda m, shape, g: _normal(shape, g).mul_(m.stddev).add_(m.mean),
    "random_uniform": lambda m, shape, g: _uniform(shape, m.minval, m.maxval, g),
    "truncated_normal": lambda m, shape, g: _truncated_standard(shape, g).mul_(m.stddev)
    .add_(m.mean),
    "variance_scaling": lambda m, shape, g: _variance_scaling(
        m.scale, m.mode, m.distribution, shape, g),
    **{name: (lambda _m, shape, g, _p=params: _variance_scaling(*_p, shape, g))
       for name, params in _SHORTHANDS.items()},
    "orthogonal": _orthogonal,
    "identity": _identity,
    "torch_default": _torch_default,
}
