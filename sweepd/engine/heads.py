"""Output layer + loss ("head") of K stacked models: gradient, cost and correct predictions.

Heads read a workspace's feature-major logits (K, n_out, b) and float targets of the same
shape (the label for a sigmoid output, one-hot columns for softmax). The cost of a model is
the mean loss over its b examples; `grad` writes d(mean loss)/d(logits). Nothing mixes K.

Supported pairs (the output is sigmoid with one unit for binary problems, softmax otherwise):

    sigmoid + bce   loss = softplus(z) - y·z (from the logit, stable); grad (σ(z) - y)/b
    sigmoid + ce    the same: the cross-entropy of a Bernoulli output *is* bce
    sigmoid + mse   loss = (σ(z) - y)²
    softmax + ce    loss = logsumexp(z) - z_y; grad (softmax(z) - t)/b
    softmax + mse   loss = mean over classes of (softmax(z) - t)², as Keras
    linear  + mse   loss = (z - y)², y a regression target (issue 17); no correct predictions:
                    the engine reports R² = 1 - cost / Var(y) beside the cost instead

K-invariance: transcendental functions (exp, log) are evaluated only into the workspace's
aligned buffers. On a freshly allocated contiguous (K, ·, b) tensor ATen would iterate all K
slices as one run, so where its vector loop ends and the scalar tail starts — two
implementations of exp that differ in the last bit — would depend on the slice's position.
"""

from __future__ import annotations

import torch

from sweepd.engine.workspace import Workspace
from sweepd.outputs import resolve_output

_aten = torch.ops.aten


def _softmax(logits: torch.Tensor, out: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
    """Softmax over the class axis into `out`, via the aligned (K, 1, b) buffer `row`."""
    torch.amax(logits, dim=1, keepdim=True, out=row)
    torch.sub(logits, row, out=out).exp_()
    torch.sum(out, dim=1, keepdim=True, out=row)
    return out.div_(row)


class Head:
    """Base: a sigmoid or softmax output with a loss."""

    def __init__(self, n_out: int) -> None:
        self.n_out = n_out

    def targets(self, labels: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Feature-major float targets (n_out, n) from int64 class labels (n,)."""
        if self.n_out == 1:
            return labels.to(dtype).unsqueeze(0)
        return torch.nn.functional.one_hot(labels, self.n_out).to(dtype).T.contiguous()

    def grad(self, ws: Workspace) -> None:
        """Write d(mean loss)/d(logits) into ws.delta[-1], after a forward pass."""
        raise NotImplementedError

    def loss(self, ws: Workspace) -> torch.Tensor:
        """Mean loss per model, shape (K,), after a forward pass."""
        raise NotImplementedError

    def correct(self, ws: Workspace) -> torch.Tensor:
        """Number of correctly classified examples per model, shape (K,), int64."""
        logits, target = ws.logits, ws.target
        if self.n_out == 1:
            return ((logits > 0) == (target > 0.5)).sum(dim=(1, 2))
        return (logits.argmax(dim=1) == target.argmax(dim=1)).sum(dim=1)

    def probabilities(self, ws: Workspace) -> torch.Tensor:
        """Output probabilities into ws.scratch."""
        if self.n_out == 1:
            return torch.sigmoid(ws.logits, out=ws.scratch)
        return _softmax(ws.logits, ws.scratch, ws.row_a)


class SigmoidBCE(Head):
    def grad(self, ws: Workspace) -> None:
        out = torch.sigmoid(ws.logits, out=ws.delta[-1])
        out.sub_(ws.target).div_(ws.rows)

    def loss(self, ws: Workspace) -> torch.Tensor:
        softplus = torch.logaddexp(ws.logits, ws.row_b.new_zeros(()), out=ws.scratch)
        return (softplus - ws.target * ws.logits).sum(dim=(1, 2)) / ws.rows


class SoftmaxCE(Head):
    def grad(self, ws: Workspace) -> None:
        out = _softmax(ws.logits, ws.delta[-1], ws.row_a)
        out.sub_(ws.target).div_(ws.rows)

    def loss(self, ws: Workspace) -> torch.Tensor:
        logits, peak, total = ws.logits, ws.row_a, ws.row_b
        torch.amax(logits, dim=1, keepdim=True, out=peak)
        torch.sub(logits, peak, out=ws.scratch).exp_()
        torch.sum(ws.scratch, dim=1, keepdim=True, out=total).log_().add_(peak)  # logsumexp
        torch.mul(ws.target, logits, out=ws.scratch)
        torch.sum(ws.scratch, dim=1, keepdim=True, out=peak)  # the true class's logit
        return (total - peak).sum(dim=(1, 2)) / ws.rows


class MSE(Head):
    """Mean squared error of the probabilities (sigmoid or softmax) against the targets."""

    def grad(self, ws: Workspace) -> None:
        prob, out = self.probabilities(ws), ws.delta[-1]
        torch.sub(prob, ws.target, out=out).mul_(2.0 / (ws.rows * self.n_out))  # dL/dp
        if self.n_out == 1:
            _aten.sigmoid_backward.grad_input(out, prob, grad_input=out)
            return
        # Softmax Jacobian: dL/dz = p ⊙ (g − Σ_c g·p).
        torch.sum(out * prob, dim=1, keepdim=True, out=ws.row_b)
        out.sub_(ws.row_b).mul_(prob)

    def loss(self, ws: Workspace) -> torch.Tensor:
        prob = self.probabilities(ws)
        return prob.sub_(ws.target).square_().sum(dim=(1, 2)) / (ws.rows * self.n_out)


class LinearMSE(Head):
    """A linear output unit and the squared error against a float target (regression)."""

    def targets(self, labels: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return labels.to(dtype).unsqueeze(0)

    def grad(self, ws: Workspace) -> None:
        torch.sub(ws.logits, ws.target, out=ws.delta[-1]).mul_(2.0 / ws.rows)

    def loss(self, ws: Workspace) -> torch.Tensor:
        torch.sub(ws.logits, ws.target, out=ws.scratch)
        return ws.scratch.square_().sum(dim=(1, 2)) / ws.rows

    def correct(self, ws: Workspace) -> torch.Tensor:
        """Nothing is classified: zeros (the engine reports R² instead of an accuracy)."""
        return ws.logits.new_zeros(ws.logits.shape[0], dtype=torch.int64)


def make_head(output: str, loss: str, n_classes: int) -> Head:
    """The head for a model's `output` and a training `loss` on `n_classes` classes.

    Args:
        output: "auto", "sigmoid", "softmax" or "linear" (`sweepd.outputs.resolve_output`).
        loss: "auto", "bce", "ce" or "mse" (auto: bce for sigmoid, ce for softmax).
        n_classes: number of classes in the dataset; 0 for a regression target.

    Returns:
        The head, with `n_out` 1 for sigmoid and linear and `n_classes` for softmax.

    Raises:
        InvalidSpec: an output or loss that does not fit the dataset (`resolve_output`).
    """
    output, loss = resolve_output(output, loss, n_classes)
    if output == "linear":
        return LinearMSE(1)
    if output == "sigmoid":
        return MSE(1) if loss == "mse" else SigmoidBCE(1)
    return MSE(n_classes) if loss == "mse" else SoftmaxCE(n_classes)
