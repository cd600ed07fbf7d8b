"""Initializers on any torch module, and a module's weights as stored (issue 18, item 3).

Every `Linear` and (non-transposed) `ConvNd` kernel is drawn by `sweepd.initializers.make` in
Keras layout — a dense kernel (fan_in, fan_out), a conv kernel (*k, in/groups, out), so the
receptive field counts into both fans — and moved to torch's layout ((out, in) and
(out, in/groups, *k)). Biases follow `make_bias` (zeros, the spec's bias initializer, or
PyTorch's U(±1/√fan_in) under `torch_default`). Draws come from the trial's `init` stream in
module order: kernel 0, bias 0, kernel 1, ... — for an MLP the fast engine's order, so both
engines start a trial from the same point.

`torch_default` on a Linear or ConvNd whose `reset_parameters` is torch's own draws PyTorch's
distribution (kaiming_uniform(a=√5): U(±1/√fan_in), bias the same) from the trial's stream; a
subclass with its own `reset_parameters` keeps what it drew. The module is built by the plugin on
a global RNG seeded from the trial's `module` stream, so every other parameter (norm layers,
embeddings, ...) keeps the value the module was built with, reproducibly; those are listed in
the result's environment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from sweepd import weights
from sweepd.engine.data import make_generator, stream_seed
from sweepd.initializers import make, make_bias, validate_initializer

_CONV = torch.nn.modules.conv._ConvNd
_TORCH_RESETS = (torch.nn.Linear.reset_parameters, _CONV.reset_parameters)


@dataclasses.dataclass
class Initialized:
    """One trial's initial parameters (CPU, the training dtype) and what kept module defaults."""

    params: dict[str, torch.Tensor]
    defaults: list[str]
    buffers: dict[str, torch.Tensor]  # as built (floating ones in the training dtype)


def _kernel_modules(module: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    return [(name, m) for name, m in module.named_modules()
            if isinstance(m, torch.nn.Linear) or (isinstance(m, _CONV) and not m.transposed)]


def keras_shape(weight_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Torch (out, in, *k) → Keras (*k, in, out); (out, in) → (in, out)."""
    out, inp, *k = weight_shape
    return (*k, inp, out)


def to_torch_layout(kernel: torch.Tensor) -> torch.Tensor:
    """Keras (*k, in, out) → torch (out, in, *k)."""
    rank = kernel.dim()
    return kernel.permute(rank - 1, rank - 2, *range(rank - 2)).contiguous()


def initialize(build: Callable[[], torch.nn.Module], trial: Any,
               dtype: torch.dtype) -> Initialized:
    """Draw the initial parameters of `trial`.

    Args:
        build: builds the plugin's module (called once, under the trial's seeded RNG).
        trial: the `TrialSpec` (seed, initializer, bias_initializer).
        dtype: the training dtype.
    """
    fresh = seeded_build(build, trial.seed)
    generator = make_generator(trial.seed, "init")
    kernel_init = validate_initializer(trial.initializer)
    drawn: dict[str, torch.Tensor] = {}
    for name, m in _kernel_modules(fresh):
        prefix = f"{name}." if name else ""
        if kernel_init.name == "torch_default" and type(m).reset_parameters not in _TORCH_RESETS:
            continue  # the module's own draw: keep it
        shape = keras_shape(tuple(m.weight.shape))
        kernel = make(kernel_init, shape, generator, dtype=torch.float64)
        drawn[prefix + "weight"] = to_torch_layout(kernel)
        if m.bias is not None:
            drawn[prefix + "bias"] = make_bias(trial.bias_initializer, kernel_init, shape,
                                               generator, dtype=torch.float64)
    params, defaults = {}, []
    for name, p in fresh.named_parameters():
        if name in drawn:
            params[name] = drawn[name].to(dtype)
        else:
            params[name] = p.detach().to(dtype).clone()
            defaults.append(name)
    buffers = {n: (b.detach().to(dtype) if b.is_floating_point() else b.detach()).clone()
               for n, b in fresh.named_buffers()}
    return Initialized(params, defaults, buffers)


def seeded_build(build: Callable[[], torch.nn.Module], seed: int) -> torch.nn.Module:
    """`build()` on a global RNG seeded from the trial's `module` stream, so every parameter
    the module draws itself is the trial's own (the caller's RNG state is restored)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream_seed(seed, "module") % 2**63)
        return build()


def linear_stack(module: torch.nn.Module) -> list[str] | None:
    """The Linear layers' names in order when the module's parameters are exactly their weights
    and biases (an MLP: stored in the fast engine's Keras layout), else None."""
    linears = [(n, m) for n, m in module.named_modules() if isinstance(m, torch.nn.Linear)]
    names = [n for n, _ in module.named_parameters()]
    expected = [f"{n}.{p}" if n else p for n, m in linears for p in ("weight", "bias")]
    if not linears or names != expected or any(m.bias is None for _, m in linears):
        return None
    return [n for n, _ in linears]


def pack(params: dict[str, torch.Tensor], stack: list[str] | None) -> tuple[bytes, str]:
    """Safetensors bytes and sha256: an MLP as `layers.{i}.kernel` (fan_in, fan_out) and
    `layers.{i}.bias`, like the fast engine; any other module by parameter name, torch layout."""
    if stack is not None:
        pairs = []
        for name in stack:
            prefix = f"{name}." if name else ""
            pairs.append((params[prefix + "weight"].T.numpy().copy(),
                          params[prefix + "bias"].numpy().copy()))
        return weights.pack(weights.from_layers(pairs))
    return weights.pack({n: np.ascontiguousarray(t.numpy()) for n, t in params.items()})
