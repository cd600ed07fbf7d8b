"""The benchmark's workloads and its "ideal" contender: a plain sequential PyTorch loop.

Workloads (issue 8):

  moons      the seed example (docs/science.md §2): moons 5000/0.2, 2-4-1 tanh/sigmoid, full-batch
             GD at lr 1.2, 10 000 steps, 16 initializers × 8 seeds = 128 trials
  overhead   the same sweep with 1 step per trial and 125 seeds: 2 000 trials whose training is
             negligible, so what is measured is the cost of scheduling and storing a trial
  compare    15 initializers × 100 seeds = 1 500 trials (fewer steps), for GET /compare

The ideal is what a user gets from the hand-written loop on every core at once: cores × the
rate of `plain_trial` run one trial at a time on one thread. It does the same work per trial
as the service (initialise with the trial's initializer, train, evaluate on train and test,
copy the weights out) but schedules nothing and stores nothing.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sweepd import datasets
from sweepd.examples import seed_example
from sweepd.initializers import make, make_bias
from sweepd.spec import SweepSpec, TrialSpec

N_INITIALIZERS = 16  # every initializer sweepd knows (seed_example(all_initializers=True))
_ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}


def moons_spec(steps: int = 10_000, seeds: int = 8,
               initializers: int = N_INITIALIZERS) -> SweepSpec:
    """The seed example: `initializers` × `seeds` seeds × `steps` full-batch GD steps."""
    return _example(steps, seeds, initializers, f"moons-{initializers}x{seeds}-{steps}-steps")


def overhead_spec(trials: int = 2000, initializers: int = N_INITIALIZERS) -> SweepSpec:
    """`trials` (rounded up to a multiple of `initializers`) one-step seed-example trials."""
    seeds = max(1, -(-trials // initializers))
    return _example(1, seeds, initializers, f"overhead-{initializers}x{seeds}-1-step")


def compare_spec(steps: int = 1000, seeds: int = 100, initializers: int = 15) -> SweepSpec:
    """The comparison workload: `initializers` of the seed example's × `seeds` seeds."""
    return _example(steps, seeds, initializers, f"compare-{initializers}x{seeds}-{steps}-steps")


def _example(steps: int, seeds: int, initializers: int, name: str) -> SweepSpec:
    raw = seed_example(steps=steps, seeds=seeds).model_dump(mode="json")
    raw["initializers"] = raw["initializers"][:initializers]
    raw["name"] = name
    return SweepSpec.model_validate(raw)


def subset(spec: SweepSpec, at_least: int) -> SweepSpec:
    """The first seeds of `spec`, every initializer: the smallest grid with ≥ `at_least` trials."""
    per_seed = spec.n_trials // spec.n_seeds
    seeds = min(spec.n_seeds, max(1, -(-at_least // per_seed)))
    raw = spec.model_dump(mode="json")
    raw["seeds"] = {"start": spec.seed_values[0], "count": seeds}
    return SweepSpec.model_validate(raw)


@dataclass
class IdealRate:
    """Per-trial seconds of the plain loop on one thread, and the rate on `cores` cores."""

    trials_timed: int
    seconds_per_trial: list[float]
    cores: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds_per_trial)

    @property
    def trials_per_second(self) -> float:
        return self.cores / self.median


def measure_ideal(spec: SweepSpec, n: int, cores: int) -> IdealRate:
    """Time `plain_trial` on `n` trials spread over the grid, one at a time on one thread.

    The dataset is loaded and converted once, outside the timing: a sequential loop does that
    once for all its trials.
    """
    trials = spec.trials()
    picks = [trials[i] for i in np.linspace(0, len(trials) - 1, min(n, len(trials))).astype(int)]
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = _tensors(picks[0])
        plain_trial(picks[0], data, steps=1)  # warm-up: first-call allocations, lazy imports
        times = []
        for trial in picks:
            started = time.perf_counter()
            plain_trial(trial, data)
            times.append(time.perf_counter() - started)
    finally:
        torch.set_num_threads(previous)
    return IdealRate(len(picks), times, cores)


@dataclass
class EngineRate:
    """sweepd's engine without the service: `trials` trials in `seconds` on `cores` cores."""

    batch: int
    steps_timed: int
    seconds: float  # the timed batches, scaled to the spec's step count
    cores: int
    trials: int = 0  # trials timed; 0: one batch alone, its rate × cores
    together: bool = False

    @property
    def trials_per_second(self) -> float:
        return (self.trials or self.cores * self.batch) / self.seconds


def measure_engine(spec: SweepSpec, cores: int, batch_max: int = 256,
                   max_steps: int = 10_000, *, together: bool = False) -> EngineRate:
    """Time `run_batch` on the batches the dispatcher would make, without the service.

    The dispatcher splits n pending trials into batches of ceil(n / slots), at most
    `batch_max` (SWEEPD_BATCH_MAX_CPU). With `together`, `cores` processes train every batch
    of the sweep, process i batches i, i + cores, ..., all starting at the same moment as the
    service's Ray workers do; the time is from the first start to the last end. Without it,
    this process times the first batch alone and the rate is multiplied by `cores`: that
    assumes the cores do not slow each other, and on a 2-core VM on 2026-12-06 two batches at
    once each took 1.34–1.49× as long as one alone.

    Batches longer than `max_steps` are timed at `max_steps` steps and scaled linearly. Scaling
    flatters the engine: a step costs more late in training than early (64 seed-example
    trials: 5.53 s at 1 000 steps, 60.45 s at 10 000, 9 % over ten times the first), so by
    default the seed example's 10 000 steps are timed in full.
    """
    size = max(1, min(batch_max, -(-spec.n_trials // cores)))
    steps = spec.trials()[0].training.steps or 1
    timed = min(steps, max_steps)
    raw = spec.model_dump(mode="json")
    raw["training"]["steps"] = timed
    if not together:
        started, ended = _engine_batches(raw, size, [0])
        return EngineRate(size, timed, (ended - started) * steps / timed, cores)
    batches = -(-spec.n_trials // size)
    shares = [list(range(i, batches, cores)) for i in range(cores)]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(cores) as pool:
        barrier = manager.Barrier(cores)  # each process warms up, then all start together
        spans = pool.starmap(_engine_batches, [(raw, size, share, barrier) for share in shares])
    seconds = max(end for _, end in spans) - min(start for start, _ in spans)
    return EngineRate(size, timed, seconds * steps / timed, cores, trials=spec.n_trials,
                      together=True)


def _engine_batches(raw: dict, size: int, indices: list[int], barrier: Any = None
                    ) -> tuple[float, float]:
    """Train batches `indices` of the spec `raw` once warm; start and end on the shared clock."""
    from sweepd.engine import run_batch

    trials = SweepSpec.model_validate(raw).trials()
    batches = [trials[i * size:(i + 1) * size] for i in indices]
    run_batch(trials[:2], device="cpu")  # warm-up: dataset cache, first-call allocations
    if barrier is not None:
        barrier.wait()
    started = time.perf_counter()  # CLOCK_MONOTONIC: comparable across this machine's processes
    for batch in batches:
        run_batch(batch, device="cpu")
    return started, time.perf_counter()


def _tensors(trial: TrialSpec) -> tuple[torch.Tensor, ...]:
    data = datasets.load(trial.dataset)
    as_x = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    as_y = lambda a: torch.tensor(a, dtype=torch.float32).unsqueeze(1)  # noqa: E731
    return as_x(data.x_train), as_y(data.y_train), as_x(data.x_test), as_y(data.y_test)


def plain_trial(trial: TrialSpec, data: tuple[torch.Tensor, ...],
                steps: int | None = None) -> dict[str, object]:
    """Train one binary-classification MLP trial the way a user writes it in PyTorch.

    nn.Sequential + BCEWithLogitsLoss + autograd + torch.optim.SGD (full batch), initialised
    from the trial's own initializer and seed.

    Args:
        trial: the trial (sigmoid output, gd optimizer).
        data: (x_train, y_train, x_test, y_test) float tensors, y as (n, 1).
        steps: override the trial's step count (warm-up).

    Returns:
        Final train/test cost and accuracy and the trained weights as NumPy arrays.
    """
    x, y, x_test, y_test = data
    model = _build(trial, x.shape[1])
    optimizer = torch.optim.SGD(model.parameters(), lr=trial.training.learning_rate)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(trial.training.steps if steps is None else steps):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        metrics = {f"{name}_{key}": value
                   for name, (xs, ys) in {"train": (x, y), "test": (x_test, y_test)}.items()
                   for key, value in _scores(model(xs), ys, loss_fn).items()}
    metrics["weights"] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return metrics


def _build(trial: TrialSpec, n_features: int) -> torch.nn.Sequential:
    widths = [n_features, *trial.model.hidden, 1]
    layers: list[torch.nn.Module] = []
    generator = torch.Generator().manual_seed(trial.seed)
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        linear = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            kernel = make(trial.initializer, (fan_in, fan_out), generator)
            linear.weight.copy_(kernel.T)  # sweepd draws Keras layout (fan_in, fan_out)
            linear.bias.copy_(make_bias(trial.bias_initializer, trial.initializer,
                                        (fan_in, fan_out), generator))
        layers.append(linear)
        if i < len(widths) - 2:
            layers.append(_ACTIVATIONS[trial.model.activation]())
    return torch.nn.Sequential(*layers)


def _scores(logits: torch.Tensor, y: torch.Tensor, loss_fn: torch.nn.Module) -> dict[str, float]:
    if len(y) == 0:
        return {"cost": float("nan"), "accuracy": float("nan")}
    accuracy = ((logits > 0).float() == y).float().mean()
    return {"cost": float(loss_fn(logits, y)), "accuracy": float(accuracy)}
