"""Per-model optimizers on the (K, width) parameter tensor, with divergence isolation.

The update rules are PyTorch's (`torch.optim.SGD` with and without momentum, `torch.optim.Adam`
without amsgrad), written with the same kernels in the same order so that one step equals
theirs on the same gradient. L2 is PyTorch's `weight_decay`: l2·θ added to the gradient of
every parameter. The learning rate and hyperparameters are shared by the batch (same
`batch_key`); all state is per model, element-wise, so the K models never interact.

Divergence: each step's candidate parameters are checked; a model whose candidate has a
non-finite value is frozen at its last finite parameters for the rest of the run, and the
number of steps it completed is kept as the step where it diverged.
"""

from __future__ import annotations

import torch

from sweepd.spec import TrainingSpec


class Optimizer:
    """Plain gradient descent (`gd`, `sgd`): θ ← θ − lr·g."""

    def __init__(self, training: TrainingSpec, params: torch.Tensor) -> None:
        self.lr = training.learning_rate
        self.l2 = training.l2
        self.params = params
        self.candidate = torch.empty_like(params)
        self.probe = torch.empty_like(params)
        k = params.shape[0]
        self.alive = torch.ones(k, 1, dtype=torch.bool, device=params.device)
        self.completed = torch.zeros(k, 1, dtype=torch.int64, device=params.device)

    def step(self, grads: torch.Tensor, step: int) -> None:
        """Apply one update from `grads` (modified in place when l2 > 0).

        Args:
            grads: d(cost)/d(params), shape (K, width).
            step: the 0-based index of this step.
        """
        if self.l2:
            grads.add_(self.params, alpha=self.l2)
        self._propose(grads, step)
        self._commit()

    def _propose(self, grads: torch.Tensor, step: int) -> None:
        torch.add(self.params, grads, alpha=-self.lr, out=self.candidate)

    def _commit(self) -> None:
        # 0·θ is 0 for finite θ and NaN for ±inf/NaN, and a row sum of zeros is exactly 0:
        # an exact finiteness test, cheaper than isfinite().all() on small tensors.
        torch.mul(self.candidate, 0, out=self.probe)
        finite = self.probe.sum(dim=1, keepdim=True) == 0
        # Models that were frozen stay frozen even if a later candidate is finite again.
        self.alive &= finite
        torch.where(self.alive, self.candidate, self.params, out=self.params)
        self.completed += self.alive

    def diverged_steps(self) -> list[int | None]:
        """Per model: the step whose update went non-finite, or None if it never did."""
        alive = self.alive.squeeze(1).tolist()
        done = self.completed.squeeze(1).tolist()
        return [None if ok else int(n) for ok, n in zip(alive, done)]


class Momentum(Optimizer):
    """Heavy ball, as `torch.optim.SGD(momentum=μ)`: b ← μ·b + g; θ ← θ − lr·b."""

    def __init__(self, training: TrainingSpec, params: torch.Tensor) -> None:
        super().__init__(training, params)
        self.momentum = training.momentum
        # PyTorch starts the buffer at g on the first step; μ·0 + g is the same value.
        self.buffer = torch.zeros_like(params)

    def _propose(self, grads: torch.Tensor, step: int) -> None:
        self.buffer.mul_(self.momentum).add_(grads)
        torch.add(self.params, self.buffer, alpha=-self.lr, out=self.candidate)


class Adam(Optimizer):
    """`torch.optim.Adam` (amsgrad off), single-tensor code path."""

    def __init__(self, training: TrainingSpec, params: torch.Tensor) -> None:
        super().__init__(training, params)
        self.beta1, self.beta2, self.eps = training.beta1, training.beta2, training.eps
        self.exp_avg = torch.zeros_like(params)
        self.exp_avg_sq = torch.zeros_like(params)
        self.denom = torch.empty_like(params)

    def _propose(self, grads: torch.Tensor, step: int) -> None:
        t = float(step + 1)
        self.exp_avg.lerp_(grads, 1 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(grads, grads, value=1 - self.beta2)
        step_size = self.lr / (1 - self.beta1 ** t)
        bias_correction2_sqrt = (1 - self.beta2 ** t) ** 0.5
        torch.sqrt(self.exp_avg_sq, out=self.denom).div_(bias_correction2_sqrt).add_(self.eps)
        torch.addcdiv(self.params, self.exp_avg, self.denom, value=-step_size,
                      out=self.candidate)


def make_optimizer(training: TrainingSpec, params: torch.Tensor) -> Optimizer:
    """The optimizer `training.optimizer` names, updating `params` in place.

    Args:
        training: the batch's training configuration.
        params: the (K, width) parameter tensor.

    Returns:
        The optimizer.
    """
    kinds = {"gd": Optimizer, "sgd": Optimizer, "momentum": Momentum, "adam": Adam}
    return kinds[training.optimizer](training, params)
