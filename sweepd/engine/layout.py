"""Memory layout of K stacked models: every per-model slice starts on a 64-byte boundary.

K-invariance (docs/design.md) needs each model's arithmetic to be the same whatever
K and its position in the batch. MKL's batched GEMM and ATen's vectorised loops pick their
code path per slice from its address: measured on this stack, a contiguous (K, 5003, 5) buffer
gives slice 1 a gradient 2.5e-5 away from slice 0's for identical inputs. So every stacked
tensor here is a (K, stride) allocation whose per-model stride is padded to a multiple of
`ALIGN` elements, viewed as (K, *shape); the allocator aligns the base to 64 bytes.
"""

from __future__ import annotations

import dataclasses
import math

import torch

ALIGN = 16  # elements: 64 bytes in float32, 128 in float64


def padded(n: int) -> int:
    """n rounded up to a multiple of ALIGN (at least ALIGN)."""
    return max(1, -(-n // ALIGN)) * ALIGN


def stacked(k: int, shape: tuple[int, ...], *, dtype: torch.dtype,
            device: torch.device) -> torch.Tensor:
    """A zeroed (k, *shape) tensor whose k slices each start on an aligned address.

    Args:
        k: number of models.
        shape: per-model shape.
        dtype: element type.
        device: where to allocate.

    Returns:
        A view of a (k, padded(prod(shape))) allocation.
    """
    n = math.prod(shape)
    return torch.zeros(k, padded(n), dtype=dtype, device=device)[:, :n].view(k, *shape)


@dataclasses.dataclass(frozen=True)
class ParamLayout:
    """Where each layer's kernel and bias live inside one model's flat parameter row.

    All K models' parameters are one (K, width) tensor: the optimizer and the divergence check
    then run as a handful of whole-tensor ops per step, independent of depth. Each kernel and
    bias segment starts on an aligned offset.
    """

    shapes: tuple[tuple[int, int], ...]
    kernel_offsets: tuple[int, ...]
    bias_offsets: tuple[int, ...]
    width: int

    @classmethod
    def for_widths(cls, widths: list[int]) -> ParamLayout:
        """Layout of an MLP with layer widths [n_in, h1, ..., n_out]."""
        shapes = tuple(zip(widths[:-1], widths[1:]))
        kernels, biases, offset = [], [], 0
        for fan_in, fan_out in shapes:
            kernels.append(offset)
            offset += padded(fan_in * fan_out)
            biases.append(offset)
            offset += padded(fan_out)
        return cls(shapes, tuple(kernels), tuple(biases), offset)

    def zeros(self, k: int, *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """A zeroed (k, width) parameter (or gradient, or optimizer state) tensor."""
        return torch.zeros(k, self.width, dtype=dtype, device=device)

    def kernels(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Views (K, fan_in, fan_out) of the kernels inside `flat`."""
        return [flat[:, o:o + fi * fo].view(flat.shape[0], fi, fo)
                for o, (fi, fo) in zip(self.kernel_offsets, self.shapes)]

    def biases(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Views (K, fan_out) of the biases inside `flat`."""
        return [flat[:, o:o + fo] for o, (_, fo) in zip(self.bias_offsets, self.shapes)]
