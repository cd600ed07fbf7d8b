"""Forward and backward passes of K stacked MLPs with batched matmuls and manual backprop.

No autograd: each step is a fixed sequence of batched kernels writing into preallocated,
aligned buffers (see `layout`). That is faster than autograd for tiny nets, and every model's
gradient is computed from its own slices only, so models never influence each other.

Activations are feature-major: inputs (K, n_in, b), pre-activation z_l and activation a_l
(K, fan_out, b), with the b examples contiguous. MKL's GEMM is ~10x faster on (4 × 2)·(2 × 5000)
than on (5000 × 2)·(2 × 4), and the gradient contractions over b become dot products of
contiguous rows. Parameters stay in Keras layout: kernel (K, fan_in, fan_out), bias
(K, fan_out). Hidden layers share one activation; the last layer's z is the logits.
"""

from __future__ import annotations

import dataclasses

import torch

from sweepd.engine.heads import Head
from sweepd.engine.layout import ParamLayout
from sweepd.engine.workspace import Workspace

_aten = torch.ops.aten

# PyTorch's default negative slope (Keras 3's LeakyReLU default is 0.2).
LEAKY_SLOPE = 0.01


@dataclasses.dataclass(frozen=True)
class Activation:
    """An activation applied in place or into a separate buffer, and its backward kernel.

    `in_place` activations overwrite z with a (their backward needs only a, or nothing).
    Backward uses ATen's own derivative kernels, the ones autograd would call.
    """

    name: str
    in_place: bool

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> None:
        if self.name == "tanh":
            z.tanh_()
        elif self.name == "sigmoid":
            z.sigmoid_()
        elif self.name == "relu":
            z.clamp_(min=0)
        elif self.name == "leaky_relu":
            _aten.leaky_relu.out(z, LEAKY_SLOPE, out=z)
        elif self.name == "gelu":
            _aten.gelu.out(z, approximate="none", out=a)

    def backward(self, grad: torch.Tensor, z: torch.Tensor, a: torch.Tensor) -> None:
        """Multiply `grad` (dL/da) in place by da/dz."""
        if self.name == "tanh":
            _aten.tanh_backward.grad_input(grad, a, grad_input=grad)
        elif self.name == "sigmoid":
            _aten.sigmoid_backward.grad_input(grad, a, grad_input=grad)
        elif self.name == "relu":
            _aten.threshold_backward.grad_input(grad, a, 0, grad_input=grad)
        elif self.name == "leaky_relu":
            _aten.leaky_relu_backward.grad_input(grad, a, LEAKY_SLOPE, True, grad_input=grad)
        elif self.name == "gelu":
            _aten.gelu_backward.grad_input(grad, z, approximate="none", grad_input=grad)


ACTIVATIONS = {name: Activation(name, in_place=name != "gelu")
               for name in ("tanh", "relu", "leaky_relu", "sigmoid", "gelu", "linear")}


class _Views:
    """Per-layer views of the (K, width) parameter and gradient tensors, built once."""

    def __init__(self, layout: ParamLayout, params: torch.Tensor, grads: torch.Tensor) -> None:
        self.kernels = layout.kernels(params)
        self.kernels_t = [w.transpose(1, 2) for w in self.kernels]
        self.bias_columns = [b.unsqueeze(2) for b in layout.biases(params)]
        self.g_kernels = layout.kernels(grads)
        self.g_biases = layout.biases(grads)


class BatchedMLP:
    """K MLPs of the same architecture, bound to one (K, width) parameter tensor."""

    def __init__(self, layout: ParamLayout, activation: Activation, head: Head,
                 params: torch.Tensor, grads: torch.Tensor) -> None:
        self.layout = layout
        self.activation = activation
        self.head = head
        self.params = params
        self.grads = grads
        self._views = _Views(layout, params, grads)
        self._last = len(layout.shapes) - 1

    def forward(self, ws: Workspace) -> torch.Tensor:
        """Fill ws.z / ws.a from ws.x; return the logits (K, n_out, b)."""
        v = self._views
        for i in range(self._last + 1):
            torch.baddbmm(v.bias_columns[i], v.kernels_t[i], ws.inputs[i], out=ws.z[i])
            if i < self._last:
                self.activation.forward(ws.z[i], ws.a[i])
        return ws.z[-1]

    def backward(self, ws: Workspace) -> None:
        """Write d(mean loss)/d(params) of each model into `grads`, after `forward`."""
        v = self._views
        self.head.grad(ws)
        for i in range(self._last, -1, -1):
            torch.bmm(ws.inputs[i], ws.delta_t[i], out=v.g_kernels[i])
            torch.sum(ws.delta[i], dim=2, out=v.g_biases[i])
            if i > 0:
                torch.bmm(v.kernels[i], ws.delta[i], out=ws.delta[i - 1])
                self.activation.backward(ws.delta[i - 1], ws.z[i - 1], ws.a[i - 1])

    def evaluate(self, ws: Workspace) -> tuple[torch.Tensor, torch.Tensor]:
        """Cost (K,) and number of correct predictions (K,) on the examples in `ws`."""
        self.forward(ws)
        return self.head.loss(ws), self.head.correct(ws)
