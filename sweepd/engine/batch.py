"""`run_batch`: train K trials that share dataset, architecture and training config, together.

A trial's result depends only on its spec, seeds (init, order, data draw) and initializer and this code path
(`ENGINE_ID`): its arithmetic is the same whatever K and its position in the batch (see
`layout`), and reruns are bitwise identical on CPU.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np
import torch

from sweepd import datasets, oscillation, weights
from sweepd.engine.data import FullBatch, MiniBatches, make_generator
from sweepd.engine.environment import deterministic, fingerprint
from sweepd.engine.heads import make_head
from sweepd.engine.layout import ParamLayout
from sweepd.engine.loop import Progress, Schedule, Trace, train
from sweepd.engine.mlp import ACTIVATIONS, BatchedMLP
from sweepd.engine.optimizers import make_optimizer
from sweepd.engine.workspace import Workspace
from sweepd.initializers import make, make_bias
from sweepd.results import TailMetrics, TrialResult
from sweepd.spec import TrialSpec, resolved_curve_every, resolved_steps

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclasses.dataclass
class _Batch:
    """Everything built once per batch before training."""

    trials: list[TrialSpec]
    net: BatchedMLP
    widths: list[int]
    dtype: torch.dtype
    device: torch.device
    data: datasets.Dataset
    initial: torch.Tensor  # (K, width) on the CPU
    params: torch.Tensor  # (K, width) on the device, trained in place (on the CPU at the end)
    schedule: Schedule
    full: Workspace = dataclasses.field(init=False)  # the whole training set
    test: Workspace | None = dataclasses.field(init=False)  # the test set, when there is one

    def __post_init__(self) -> None:
        self.full = self.workspace(len(self.data.y_train))
        self.full.fill(self.tensor(self.data.x_train), self.targets(self.data.y_train))
        self.test = None
        if len(self.data.y_test):
            self.test = self.workspace(len(self.data.y_test))
            self.test.fill(self.tensor(self.data.x_test), self.targets(self.data.y_test))

    def workspace(self, rows: int) -> Workspace:
        return Workspace(len(self.trials), rows, self.widths, self.net.activation,
                         dtype=self.dtype, device=self.device)

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        """Feature-major (n_features, n) copy of examples (n, n_features) on the device."""
        return torch.tensor(array.T, dtype=self.dtype).to(self.device)

    def targets(self, labels: np.ndarray) -> torch.Tensor:
        return self.net.head.targets(torch.tensor(labels), self.dtype).to(self.device)


def run_batch(trials: list[TrialSpec], device: str | torch.device | None = None,
              progress: Progress | None = None) -> list[TrialResult]:
    """Train trials that share a `batch_key` together, vectorised over K.

    Args:
        trials: the K trials (same `batch_key`: same dataset, model, training and store).
        device: "cpu" (default when None), "cuda", "cuda:1", ...
        progress: optional callback(step, total), about once a second and at the end.

    Returns:
        One `TrialResult` per trial, in the order given.

    Raises:
        ValueError: no trials, or trials with different batch keys.
        InvalidSpec: a configuration the engine cannot train (e.g. sigmoid on 3 classes).
    """
    _check_batch(trials)
    dev = torch.device(device if device is not None else "cpu")
    started = time.perf_counter()
    with deterministic(dev):
        environment = fingerprint(dev, _DTYPES[trials[0].training.dtype])
        batch = _prepare(_at_least_two(trials), dev)
        optimizer = make_optimizer(trials[0].training, batch.params)
        tail = _TailRecorder(batch)
        trace = train(batch.net, optimizer, _batches(batch), batch.full, batch.schedule,
                      progress, tail.observe)
        metrics = _evaluate(batch)
        diverged = optimizer.diverged_steps()
        # One transfer each, not one per trial (matters on a GPU with K in the thousands).
        trace = Trace(curve=trace.curve.cpu(), tail_sum=trace.tail_sum.cpu())
        tails = tail.lists()
        batch.params = batch.params.cpu()
    seconds = time.perf_counter() - started
    wall = seconds / len(trials)  # the batch's time shared out: trials train together
    # Say so beside the share, so nobody reads it as one trial's own time.
    environment = {**environment, "batch_trials": len(trials), "batch_seconds": round(seconds, 3)}
    return [_result(batch, k, trace, metrics, diverged[k], wall, environment, tails)
            for k in range(len(trials))]


def _at_least_two(trials: list[TrialSpec]) -> list[TrialSpec]:
    """Train a lone trial beside a copy of itself (its result is dropped).

    A single (1, w, b) slice is a contiguous tensor while K ≥ 2 padded slices are strided, and
    some ATen kernels round differently on the two paths when w·b is not a multiple of the
    vector width (gelu_backward: 2.4e-7 on a (5, 455) slice, measured). With at least two
    slices every trial takes the strided path, so its result does not depend on K.
    """
    return trials * 2 if len(trials) == 1 else trials


def _check_batch(trials: list[TrialSpec]) -> None:
    if not trials:
        raise ValueError("run_batch needs at least one trial")
    keys = {t.batch_key for t in trials}
    if len(keys) != 1:
        raise ValueError(f"trials of one batch must share a batch_key, got {len(keys)} keys")


def _prepare(trials: list[TrialSpec], device: torch.device) -> _Batch:
    first = trials[0]
    data = datasets.load(first.dataset, draw=first.data_seed)  # one draw per batch (batch_key)
    head = make_head(first.model.output, first.training.loss, data.n_classes)
    widths = [data.n_features, *first.model.hidden, head.n_out]
    layout = ParamLayout.for_widths(widths)
    dtype = _DTYPES[first.training.dtype]
    initial = _initial_params(trials, layout, dtype)
    total = resolved_steps(first.training, len(data.y_train))
    # At most MAX_CURVE_POINTS per trial, on the device and in the result (issue 14, item 1).
    schedule = Schedule(total, resolved_curve_every(first.store, total))
    params = initial.to(device, copy=True)
    net = BatchedMLP(layout, ACTIVATIONS[first.model.activation], head, params,
                     torch.zeros_like(params))
    return _Batch(trials, net, widths, dtype, device, data, initial, params, schedule)


def _initial_params(trials: list[TrialSpec], layout: ParamLayout,
                    dtype: torch.dtype) -> torch.Tensor:
    """Draw each trial's parameters from its own `init` stream: kernel 0, bias 0, kernel 1, ..."""
    flat = layout.zeros(len(trials), dtype=dtype, device=torch.device("cpu"))
    kernels, biases = layout.kernels(flat), layout.biases(flat)
    for k, trial in enumerate(trials):
        generator = make_generator(trial.seed, "init")
        for layer, shape in enumerate(layout.shapes):
            kernels[layer][k] = make(trial.initializer, shape, generator, dtype=dtype)
            biases[layer][k] = make_bias(trial.bias_initializer, trial.initializer, shape,
                                         generator, dtype=dtype)
    return flat


def _batches(batch: _Batch) -> FullBatch | MiniBatches:
    training = batch.trials[0].training
    n = len(batch.data.y_train)
    size = training.batch_size
    if training.optimizer == "gd" or size is None or size >= n:
        return FullBatch(batch.full)  # a full batch has no order to draw
    # The order stream (named "data" since before issue 16) is the order seed's, the seed's
    # when the spec has no order_seeds: old sweeps draw the same minibatches.
    generators = [make_generator(t.seed if t.order_seed is None else t.order_seed, "data")
                  for t in batch.trials]
    return MiniBatches(batch.tensor(batch.data.x_train), batch.targets(batch.data.y_train), size,
                       generators, batch.workspace)


@dataclasses.dataclass
class _Metrics:
    """Final metrics per model, on the CPU; test entries are None without a test set.

    For a regression target the accuracies are None and the scores are R² (`_scores`)."""

    train_cost: list[float]
    train_accuracy: list[float] | None
    test_cost: list[float] | None
    test_accuracy: list[float] | None
    train_r2: list[float] | None = None
    test_r2: list[float] | None = None


def _scores(batch: _Batch, cost: list[float], correct: list[float], y: np.ndarray
            ) -> tuple[list[float] | None, list[float] | None]:
    """(accuracies, None) for classes; (None, R² = 1 − mse / Var(y)) for a regression target."""
    if batch.data.n_classes:  # classes (a regression target has none)
        return [c / len(y) for c in correct], None
    variance = float(np.var(y))
    return None, [1.0 - c / variance for c in cost]


def _evaluate(batch: _Batch) -> _Metrics:
    train_cost, train_correct = (v.tolist() for v in batch.net.evaluate(batch.full))
    train_acc, train_r2 = _scores(batch, train_cost, train_correct, batch.data.y_train)
    metrics = _Metrics(train_cost, train_acc, None, None, train_r2=train_r2)
    if batch.test is not None:
        test_cost, test_correct = (v.tolist() for v in batch.net.evaluate(batch.test))
        metrics.test_cost = test_cost
        metrics.test_accuracy, metrics.test_r2 = _scores(batch, test_cost, test_correct,
                                                         batch.data.y_test)
    return metrics


class _TailRecorder:
    """Train and test metrics after each of the last `n_evals` steps, kept on the device."""

    def __init__(self, batch: _Batch) -> None:
        self.batch = batch
        k, n = len(batch.trials), batch.schedule.n_evals
        self.values = batch.params.new_zeros(4, k, max(1, n))  # cost, correct; train, test

    def observe(self, i: int) -> None:
        net = self.batch.net
        self.values[0, :, i], self.values[1, :, i] = net.evaluate(self.batch.full)
        if self.batch.test is not None:
            self.values[2, :, i], self.values[3, :, i] = net.evaluate(self.batch.test)

    def lists(self) -> list[list[list[float]]] | None:
        """[train cost, train correct, test cost, test correct] per model, or None (no steps)."""
        if self.batch.schedule.n_evals == 0:
            return None
        return self.values.cpu().permute(1, 0, 2).tolist()


def _tail_metrics(batch: _Batch, values: list[list[float]]) -> TailMetrics | None:
    """Means over the last steps, the 2-cycle check and the phase gaps of one model."""
    train_cost, train_correct, test_cost, test_correct = values
    if not all(math.isfinite(v) for v in train_cost):
        return None
    train_acc, train_r2 = _scores(batch, train_cost, train_correct, batch.data.y_train)
    test_acc, test_r2 = (_scores(batch, test_cost, test_correct, batch.data.y_test)
                         if batch.test is not None else (None, None))
    tested = batch.test is not None
    finite_test = tested and all(math.isfinite(v) for v in test_cost)
    scored = (test_acc or test_r2) if tested else (train_acc or train_r2)
    return TailMetrics(
        steps=len(train_cost), train_cost=_mean(train_cost),
        train_accuracy=_mean(train_acc) if train_acc is not None else None,
        test_cost=_mean(test_cost) if finite_test else None,
        test_accuracy=_mean(test_acc) if test_acc is not None else None,
        oscillating=oscillation.is_period_two(train_cost),
        cost_gap=oscillation.phase_gap(train_cost),
        accuracy_gap=oscillation.phase_gap(scored) if scored is not None else None,
        train_r2=_mean(train_r2) if train_r2 is not None else None,
        test_r2=_mean(test_r2) if test_r2 is not None and finite_test else None,
    )


def _at(values: list[float] | None, k: int, ok: bool) -> float | None:
    return _finite(values[k], ok) if values else None


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values))


def _result(batch: _Batch, k: int, trace: Trace, metrics: _Metrics, diverged_at: int | None,
            wall: float, environment: dict[str, Any],
            tails: list[list[list[float]]] | None) -> TrialResult:
    schedule, trial = batch.schedule, batch.trials[k]
    if diverged_at is None and not math.isfinite(metrics.train_cost[k]):
        diverged_at = schedule.total  # finite parameters, non-finite cost: diverged at the end
    ok = diverged_at is None
    final, final_sha = _pack(batch, batch.params[k])
    initial, initial_sha = (_pack(batch, batch.initial[k]) if trial.store.initial_weights
                            else (None, None))
    return TrialResult(
        cell_key=trial.cell_key, status="ok" if ok else "diverged",
        train_cost=_finite(metrics.train_cost[k], ok),
        train_accuracy=_at(metrics.train_accuracy, k, ok),
        test_cost=_finite(metrics.test_cost[k], ok) if metrics.test_cost else None,
        test_accuracy=_at(metrics.test_accuracy, k, ok),
        train_r2=_at(metrics.train_r2, k, ok), test_r2=_at(metrics.test_r2, k, ok),
        train_cost_tail=_tail(trace, k, schedule, metrics.train_cost[k], ok),
        steps=schedule.total if ok else diverged_at, diverged_step=diverged_at,
        wall_seconds=wall, curve_every=schedule.curve_every,
        curve=_curve(trace, k, schedule, metrics.train_cost[k], diverged_at),
        final_weights=final, final_sha256=final_sha, initial_weights=initial,
        initial_sha256=initial_sha, environment=environment,
        tail=_tail_metrics(batch, tails[k]) if ok and tails is not None else None,
    )


def _finite(value: float, ok: bool = True) -> float | None:
    return float(value) if ok and math.isfinite(value) else None


def _tail(trace: Trace, k: int, schedule: Schedule, final_cost: float, ok: bool) -> float | None:
    if schedule.n_tail == 0:
        return _finite(final_cost, ok)
    return _finite(float(trace.tail_sum[k]) / schedule.n_tail, ok)


def _curve(trace: Trace, k: int, schedule: Schedule, final_cost: float,
           diverged_at: int | None) -> list[float | None]:
    """Costs before steps 0, every, ...; then the final cost. None after a divergence."""
    points = trace.curve[k].tolist()
    limit = schedule.total if diverged_at is None else diverged_at
    out = [_finite(c, i * schedule.curve_every <= limit) for i, c in enumerate(points)]
    return out + [_finite(final_cost, diverged_at is None)]


def _pack(batch: _Batch, flat: torch.Tensor) -> tuple[bytes, str]:
    layout = batch.net.layout
    row = flat.unsqueeze(0)
    pairs = [(kernel[0].numpy().copy(), bias[0].numpy().copy())
             for kernel, bias in zip(layout.kernels(row), layout.biases(row))]
    return weights.pack(weights.from_layers(pairs))
