"""The training loop of a batch: steps, the cost curve, the tail average and progress.

Costs are computed only where they are reported, never every step: at curve points (every
`curve_every` steps, on the full training set) and over the tail (the last 5 % of steps, at
least one, averaging the cost of the batch each step trained on — for full-batch gd that is
the training cost). Costs are the data loss only, without the L2 term. Everything stays on
the device until the loop ends: no per-step sync.

After each of the last `TAIL_EVALS` steps an optional observer evaluates the parameters (the
engine records train and test metrics there): at the edge of stability full-batch GD ends on a
period-2 cycle whose phases differ in accuracy by more than the seed spread (issue 11), so the
final metrics are averaged over both phases and the cycle is detected from consecutive steps.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

import torch

from sweepd.engine.data import FullBatch, MiniBatches
from sweepd.engine.mlp import BatchedMLP
from sweepd.engine.optimizers import Optimizer
from sweepd.engine.workspace import Workspace

TAIL_SHARE = 0.05
TAIL_EVALS = 8  # even: both phases of a 2-cycle (and of a 4-cycle) weigh the same
PROGRESS_EVERY = 64  # steps between looks at the clock
PROGRESS_SECONDS = 1.0

Progress = Callable[[int, int], None]
Observer = Callable[[int], None]  # called with i in [0, n_evals) after step total − n_evals + i


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How many steps, where the curve points are, and where the tail starts."""

    total: int
    curve_every: int

    @property
    def n_points(self) -> int:
        """Curve points before the final one: steps 0, every, 2·every, ... < total."""
        return math.ceil(self.total / self.curve_every)

    @property
    def n_tail(self) -> int:
        return max(1, math.ceil(TAIL_SHARE * self.total)) if self.total else 0

    @property
    def tail_start(self) -> int:
        return self.total - self.n_tail

    @property
    def n_evals(self) -> int:
        """Parameter states evaluated at the end: after each of the last TAIL_EVALS steps."""
        return min(TAIL_EVALS, self.total)


@dataclasses.dataclass
class Trace:
    """Costs recorded during training, per model, still on the device."""

    curve: torch.Tensor  # (K, n_points): training cost before step i·curve_every
    tail_sum: torch.Tensor  # (K,): sum of the batch costs of the tail steps


class _Clock:
    """Calls `progress(step, total)` about once a second, and once at the end."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total = progress, total
        self.last = time.monotonic()

    def tick(self, step: int) -> None:
        now = time.monotonic()
        if self.progress is not None and now - self.last >= PROGRESS_SECONDS:
            self.progress(step, self.total)
            self.last = now

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)


def train(net: BatchedMLP, optimizer: Optimizer, batches: FullBatch | MiniBatches,
          full: Workspace, schedule: Schedule, progress: Progress | None = None,
          observe: Observer | None = None) -> Trace:
    """Run `schedule.total` steps, updating `net.params` in place.

    Args:
        net: the K stacked models, bound to their parameters and gradient buffers.
        optimizer: updates `net.params` from the gradients and isolates divergent models.
        batches: where each step's examples come from.
        full: the workspace holding the whole training set (curve points).
        schedule: steps and reporting points.
        progress: optional callback(step, total), about once a second and at the end.
        observe: optional callback(i) after each of the last `schedule.n_evals` steps; it may
            run forward passes (each step starts with its own), never touch the parameters.

    Returns:
        The recorded costs.
    """
    k = net.params.shape[0]
    trace = Trace(curve=net.params.new_zeros(k, schedule.n_points),
                  tail_sum=net.params.new_zeros(k))
    clock = _Clock(progress, schedule.total)
    full_batch = isinstance(batches, FullBatch)
    every, tail_start = schedule.curve_every, schedule.tail_start
    first_eval = schedule.total - schedule.n_evals
    for step in range(schedule.total):
        point = step % every == 0
        if point and not full_batch:
            net.forward(full)
            trace.curve[:, step // every] = net.head.loss(full)
        ws = batches.batch(step)
        net.forward(ws)
        if (point and full_batch) or step >= tail_start:
            _record(trace, net.head.loss(ws), step, every, point and full_batch,
                    step >= tail_start)
        net.backward(ws)
        optimizer.step(net.grads, step)
        if observe is not None and step >= first_eval:
            observe(step - first_eval)
        if step % PROGRESS_EVERY == PROGRESS_EVERY - 1:
            clock.tick(step + 1)
    clock.finish()
    return trace


def _record(trace: Trace, cost: torch.Tensor, step: int, every: int, point: bool,
            tail: bool) -> None:
    if point:
        trace.curve[:, step // every] = cost
    if tail:
        trace.tail_sum += cost
