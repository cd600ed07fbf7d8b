"""Preallocated, aligned buffers of K stacked models on b examples (see `layout`).

Its own module so that the heads (which read a workspace) and the MLP (which fills one) do
not import each other.
"""

from __future__ import annotations

from typing import Protocol

import torch

from sweepd.engine.layout import stacked


class _InPlace(Protocol):
    in_place: bool


class Workspace:
    """Preallocated buffers for K models on b examples: inputs, targets, z, a and dL/dz.

    `inputs[l]` is what layer l reads (x, then the hidden activations); views used every
    step are built once here, since creating them costs as much as a small kernel.
    """

    def __init__(self, k: int, rows: int, widths: list[int], activation: _InPlace, *,
                 dtype: torch.dtype, device: torch.device) -> None:
        def buf(features: int) -> torch.Tensor:
            return stacked(k, (features, rows), dtype=dtype, device=device)

        self.rows = rows
        self.x = buf(widths[0])
        self.target = buf(widths[-1])
        self.z = [buf(w) for w in widths[1:]]
        hidden = widths[1:-1]
        self.a = [z if activation.in_place else buf(w) for z, w in zip(self.z, hidden)]
        self.inputs = [self.x, *self.a]
        self.delta = [buf(w) for w in widths[1:]]
        self.delta_t = [d.transpose(1, 2) for d in self.delta]
        self.scratch = buf(widths[-1])
        # (K, 1, b) buffers for per-example reductions over the classes (see heads).
        self.row_a = stacked(k, (1, rows), dtype=dtype, device=device)
        self.row_b = stacked(k, (1, rows), dtype=dtype, device=device)

    def fill(self, x: torch.Tensor, target: torch.Tensor) -> None:
        """Copy feature-major inputs and targets, (K, ·, b) or broadcastable (·, b)."""
        self.x.copy_(x.expand_as(self.x))
        self.target.copy_(target.expand_as(self.target))

    @property
    def logits(self) -> torch.Tensor:
        return self.z[-1]
