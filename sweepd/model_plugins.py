"""The two built-in model plugins, registered through the same `sweepd.models` entry points as
any user's (pyproject.toml): the MLP (`sweepd.mlp`, trained by the fast engine) and a small CNN
for images given as flat features (`sweepd.cnn`: `digits` is 64 features, 1×8×8).

Light at import: torch is imported inside `build`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field

from sweepd.models_registry import ModelPlugin, PermutationGroup, PluginParams

Activation = Literal["tanh", "relu", "leaky_relu", "sigmoid", "gelu", "linear"]


def _activation(name: str) -> Any:
    import torch

    return {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "leaky_relu": torch.nn.LeakyReLU,
            "sigmoid": torch.nn.Sigmoid, "gelu": torch.nn.GELU,
            "linear": torch.nn.Identity}[name]()


# -- the MLP -------------------------------------------------------------------------------------


class MLPParams(PluginParams):
    """The built-in MLP's params; in a spec they are the model's own `hidden` and `activation`
    fields (as before plugins existed), not `model.params`."""

    hidden: list[Annotated[int, Field(ge=1, le=4096)]] = Field(
        default_factory=lambda: [4], min_length=1, max_length=16,
        description="Width of each hidden layer, input side first.")
    activation: Activation = Field("tanh", description="Activation of every hidden layer.")


def build_mlp(input_shape: tuple[int, ...], n_outputs: int, *, hidden: list[int],
              activation: str) -> Any:
    """`Linear`, activation, ..., `Linear`: the fast engine's MLP as a torch module."""
    import torch

    widths = [math.prod(input_shape), *hidden, n_outputs]
    layers: list[Any] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers.append(_activation(activation))
    return torch.nn.Sequential(*layers)


def mlp_permutation(params: Any) -> list[PermutationGroup]:
    """Every hidden layer's units: its weight rows and bias, the next weight's columns."""
    n = len(params.hidden)
    return [PermutationGroup(out=(f"{2 * i}.weight", f"{2 * i}.bias"),
                             into=(f"{2 * i + 2}.weight",)) for i in range(n)]


MLP_PLUGIN = ModelPlugin(
    description="The built-in MLP (hidden widths, one activation): the fast batched engine.",
    params=MLPParams, build=build_mlp, permutation=mlp_permutation, engine="fast")


# -- the CNN -------------------------------------------------------------------------------------


class CNNParams(PluginParams):
    """A small CNN over square images given as flat features (channel-major, row by row)."""

    channels: list[Annotated[int, Field(ge=1, le=512)]] = Field(
        default_factory=lambda: [8, 16], min_length=1, max_length=8,
        description="Output channels of each convolution (stride 1, 'same' padding).")
    kernel_size: int = Field(3, ge=1, le=7, description="Height and width of every "
                                                        "convolution's kernel (odd).")
    activation: Activation = Field("relu", description="Activation after every convolution.")
    in_channels: int = Field(1, ge=1, le=16, description=(
        "Channels of the input image; its side is √(features / in_channels) (digits: 1, 8×8)."))


def _side(input_shape: tuple[int, ...], in_channels: int) -> int:
    n = math.prod(input_shape)
    side = math.isqrt(n // in_channels) if n % in_channels == 0 else 0
    if side * side * in_channels != n:
        raise ValueError(f"sweepd.cnn: {n} features are not {in_channels} square image(s)")
    return side


def build_cnn(input_shape: tuple[int, ...], n_outputs: int, *, channels: list[int],
              kernel_size: int, activation: str, in_channels: int) -> Any:
    """Unflatten → (Conv2d, activation) per entry of `channels` → Flatten → Linear."""
    import torch

    if kernel_size % 2 == 0:
        raise ValueError("sweepd.cnn: kernel_size must be odd ('same' padding)")
    side = _side(input_shape, in_channels)
    layers: list[Any] = [torch.nn.Unflatten(1, (in_channels, side, side))]
    previous = in_channels
    for c in channels:
        layers += [torch.nn.Conv2d(previous, c, kernel_size, padding=kernel_size // 2),
                   _activation(activation)]
        previous = c
    layers += [torch.nn.Flatten(), torch.nn.Linear(previous * side * side, n_outputs)]
    return torch.nn.Sequential(*layers)


def cnn_permutation(params: Any) -> list[PermutationGroup]:
    """Every convolution's channels: its kernel and bias, the next convolution's input channels
    (the last one's: the dense layer's columns, in blocks of side² after Flatten)."""
    n = len(params.channels)
    conv = [1 + 2 * i for i in range(n)]
    dense = 1 + 2 * n + 1
    return [PermutationGroup(out=(f"{c}.weight", f"{c}.bias"),
                             into=(f"{conv[i + 1] if i + 1 < n else dense}.weight",))
            for i, c in enumerate(conv)]


CNN_PLUGIN = ModelPlugin(
    description="A small CNN (3×3 convolutions, then one dense layer) for square images given "
                "as flat features, e.g. digits as 1×8×8.",
    params=CNNParams, build=build_cnn, permutation=cnn_permutation)
