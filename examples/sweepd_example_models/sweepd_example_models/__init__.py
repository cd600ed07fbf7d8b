"""An example external sweepd model plugin: a residual MLP with LayerNorm (issue 18)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from sweepd.models_registry import ModelPlugin, PluginParams


class ResMLPParams(PluginParams):
    """A residual MLP: an input layer, `blocks` residual blocks of `width` units, an output."""

    width: int = Field(16, ge=1, le=1024, description="Units of every hidden layer.")
    blocks: int = Field(1, ge=0, le=8, description="Residual blocks (LayerNorm, Linear, tanh).")


def build(input_shape: tuple[int, ...], n_outputs: int, *, width: int, blocks: int) -> Any:
    import torch

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = torch.nn.LayerNorm(width)
            self.linear = torch.nn.Linear(width, width)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + torch.tanh(self.linear(self.norm(x)))

    return torch.nn.Sequential(torch.nn.Linear(math.prod(input_shape), width), torch.nn.Tanh(),
                               *[Block() for _ in range(blocks)],
                               torch.nn.Linear(width, n_outputs))


PLUGIN = ModelPlugin(description="Example: a residual MLP with LayerNorm (an external plugin).",
                     params=ResMLPParams, build=build)
