"""What a sweep will cost, estimated from its spec before anything is stored (issue 14, item 1).

A valid spec could ask for a 16 × 4096 float64 MLP × 256 seeds × 10⁷ steps on 10⁶ samples, or a
curve point every step of 10⁷ (5 GiB of curve, workers OOM-killed). The submission use case
refuses sweeps over the caps of the settings, saying the estimate, the cap and the setting that
raises it. Plain Python from the spec and `sweepd.shapes`: no data is generated, no torch.

Per trial, with P parameters (weights and biases), B examples per step, S steps, N_train and
N_test examples, C curve points and E = min(8, S) evaluations at the end:

    FLOPs  = 6·P·B·S                 forward 2·P·B (a multiply and an add per weight and
                                     example), backward twice that (the usual 6·N·D)
           + 2·P·N_train·C           minibatch optimizers only: the curve's full-set forward
           + 2·P·(N_train + N_test)·(E + 1)   the last steps' and the final evaluations
    memory = P·(5 | 6 | 8)·d         parameters, gradients, initial copy, the optimizer's two
                                     work buffers (+1 momentum, +3 adam); d bytes per value
           + R·(N_train + N_test + B')·d   activations: R values per example (inputs, z, a,
                                     dL/dz, targets), B' = B for minibatches, else 0
           + C·(d + 32)              the curve on the device and as Python floats
    stored = P·d·(2 with initial weights, else 1) + 24·C   weights and curve as JSON

The sweep's FLOPs and stored bytes are the sums over its trials. The estimate counts what
dominates and errs high: the peak memory of `run_batch` measured 0.7-1.0 × the estimate (moons
with [256, 256] gd, [1024] adam on 5·10⁴ samples, [2048, 2048] adam on 2·10³). The FLOP caps
bound arithmetic; the per-step overhead that dominates tiny networks is bounded by `steps`.
A worker trains up to `batch_max_cpu` trials of a grid point at once, so its memory is that
many times a trial's.
"""

from __future__ import annotations

import dataclasses
import math

from sweepd.errors import OverBudget
from sweepd.outputs import output_units, resolve_output
from sweepd.settings import Settings
from sweepd.shapes import UploadedShapes, dataset_shape
from sweepd.spec import (
    DatasetSpec,
    ModelSpec,
    StoreSpec,
    SweepSpec,
    TrainingSpec,
    resolved_curve_every,
    resolved_steps,
)

BYTES_PER_VALUE = {"float32": 4, "float64": 8}
PARAMETER_COPIES = {"gd": 5, "sgd": 5, "momentum": 6, "adam": 8}
TAIL_EVALS = 8  # sweepd.engine.loop.TAIL_EVALS (the engine imports torch; this module may not)
PYTHON_FLOAT_BYTES = 32  # a float object and its list slot
JSON_FLOAT_BYTES = 24


@dataclasses.dataclass(frozen=True)
class TrialCost:
    """The estimated cost of one trial (see the module docstring for the formulas)."""

    parameters: int
    steps: int
    rows_per_step: int
    curve_points: int
    flops: float
    parameter_bytes: int
    activation_bytes: int
    curve_bytes: int
    stored_bytes: int

    @property
    def memory_bytes(self) -> int:
        return self.parameter_bytes + self.activation_bytes + self.curve_bytes


@dataclasses.dataclass(frozen=True)
class SweepCost:
    """The sweep's totals, and its most expensive trials by compute and by memory."""

    trials: int
    flops: float
    stored_bytes: int
    most_flops: TrialCost
    most_memory: TrialCost


def trial_cost(dataset: DatasetSpec, model: ModelSpec, training: TrainingSpec,
               store: StoreSpec, uploaded: UploadedShapes | None = None) -> TrialCost:
    """Estimate one trial from its resolved sections (a grid point applied)."""
    shape = dataset_shape(dataset, uploaded)
    output, _ = resolve_output(model.output, training.loss, shape.n_classes)
    widths = [shape.n_features, *model.hidden, output_units(output, shape.n_classes)]
    params = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(widths, widths[1:]))
    steps = resolved_steps(training, shape.n_train)
    batch = training.batch_size or shape.n_train
    minibatch = training.optimizer != "gd" and batch < shape.n_train
    rows = batch if minibatch else shape.n_train
    points = math.ceil(steps / resolved_curve_every(store, steps)) + 1
    evaluated = shape.n_train + shape.n_test
    flops = (6 * params * rows * steps + (2 * params * shape.n_train * points if minibatch else 0)
             + 2 * params * evaluated * (min(TAIL_EVALS, steps) + 1))
    d = BYTES_PER_VALUE[training.dtype]
    per_row = widths[0] + 2 * widths[-1] + 2 * sum(widths[1:]) + sum(widths[1:-1]) + 2
    workspace_rows = evaluated + (rows if minibatch else 0)
    return TrialCost(
        parameters=params, steps=steps, rows_per_step=rows, curve_points=points,
        flops=float(flops), parameter_bytes=params * PARAMETER_COPIES[training.optimizer] * d,
        activation_bytes=per_row * workspace_rows * d,
        curve_bytes=points * (d + PYTHON_FLOAT_BYTES),
        stored_bytes=params * d * (2 if store.initial_weights else 1) + JSON_FLOAT_BYTES * points,
    )


def sweep_cost(spec: SweepSpec, uploaded: UploadedShapes | None = None) -> SweepCost:
    """Estimate each grid point's trials (they differ only by seed and initializer) and add up;
    with a search, charge every trial as the costliest corner of its space; an adaptive sweep is
    charged at its cap (`max` seeds per initializer), the most it can grow to."""
    seeds = spec.adaptive.max if spec.adaptive is not None else spec.n_seeds
    per_point = seeds * len(spec.initializers)
    values = [trial_cost(dataset, model, training, spec.store, uploaded)
              for dataset, model, training in spec.grid_sections()]
    if spec.search is not None:
        # The points are not known yet: every trial is charged as the costliest of the
        # choices and range ends (cost grows with steps, samples and widths, not in between).
        flops = max(c.flops for c in values) * spec.n_trials
        stored = max(c.stored_bytes for c in values) * spec.n_trials
    else:
        flops = sum(c.flops for c in values) * per_point
        stored = sum(c.stored_bytes for c in values) * per_point
    return SweepCost(trials=spec.max_trials, flops=flops, stored_bytes=stored,
                     most_flops=max(values, key=lambda c: c.flops),
                     most_memory=max(values, key=lambda c: c.memory_bytes))


def check_budget(spec: SweepSpec, settings: Settings,
                 uploaded: UploadedShapes | None = None) -> SweepCost:
    """Refuse a sweep whose estimated cost is over a cap of `settings`.

    Returns:
        The estimate, when every cap holds.

    Raises:
        OverBudget: naming the estimate, the cap and the setting that raises it (the first
            cap exceeded, in the order trial compute, trial memory, sweep compute, storage).
    """
    cost = sweep_cost(spec, uploaded)
    worst, hungry = cost.most_flops, cost.most_memory
    checks = [
        (worst.flops, settings.max_trial_flops, "max_trial_flops",
         f"a trial needs about {worst.flops:.2g} FLOPs (6 × {worst.parameters:,} parameters × "
         f"{worst.rows_per_step:,} examples per step × {worst.steps:,} steps)", "FLOPs per trial"),
        (hungry.memory_bytes, settings.max_trial_memory_bytes, "max_trial_memory_bytes",
         f"a trial needs about {_bytes(hungry.memory_bytes)} of memory (parameters and "
         f"optimizer state {_bytes(hungry.parameter_bytes)}, activations "
         f"{_bytes(hungry.activation_bytes)}, curve {_bytes(hungry.curve_bytes)})",
         "of memory per trial"),
        (cost.flops, settings.max_sweep_flops, "max_sweep_flops",
         f"the sweep's {cost.trials:,} trials need about {cost.flops:.2g} FLOPs",
         "FLOPs per sweep"),
        (cost.stored_bytes, settings.max_sweep_stored_bytes, "max_sweep_stored_bytes",
         f"the sweep's {cost.trials:,} trials would store about {_bytes(cost.stored_bytes)} "
         f"(weights and curves)", "stored per sweep"),
    ]
    for estimate, cap, setting, what, unit in checks:
        if estimate > cap:
            shown = _bytes(cap) if setting.endswith("bytes") else f"{cap:.2g}"
            raise OverBudget(f"{what}, over the cap of {shown} {unit}; make the sweep smaller, "
                             f"or an admin raises the cap with SWEEPD_{setting.upper()}")
    return cost


def _bytes(n: float) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"
