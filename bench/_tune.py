"""Ray Tune, the way a user would run the same sweep: a grid over seed × initializer.

The trainable is a function trainable that builds the trial's `TrialSpec` from its config and
trains it with sweepd's own single-trial code path, `run_batch([trial])`, then reports the
metrics (and the sha256 of the weights) with `tune.report`. Tune's defaults are kept (a new
actor per trial, its result loggers, the experiment directory), except that its console output
is off and the experiment directory is a temporary one. `reuse_actors=True` can be asked for.

Tune stores the metrics in its experiment directory, not the weights: it does less work per
trial than the service, which stores both weight tensors in the database.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from sweepd.spec import SweepSpec


def available() -> bool:
    """Whether `ray[tune]` is installed (the benchmark skips Tune when it is not)."""
    try:
        import ray.tune  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class TuneRun:
    """One `Tuner.fit()`: how many trials, how long, how many errored."""

    n_trials: int
    wall_seconds: float
    errors: int
    reuse_actors: bool

    @property
    def trials_per_second(self) -> float:
        return self.n_trials / self.wall_seconds


def tune_trial(config: dict[str, Any], spec_json: dict[str, Any]) -> None:
    """The function trainable: one seed × initializer cell, trained by sweepd's engine."""
    from ray import tune

    from sweepd.engine import run_batch

    spec = SweepSpec.model_validate(spec_json)
    trial = spec.trial_for(config["seed"], spec.initializers[config["initializer"]], {})
    result = run_batch([trial])[0]
    tune.report({"train_cost": result.train_cost, "test_accuracy": result.test_accuracy,
                 "status": result.status, "final_sha256": result.final_sha256})


def run_tune(spec: SweepSpec, *, address: str, cores: int, reuse_actors: bool = False,
             ) -> TuneRun:
    """Run every cell of `spec` through Ray Tune on the cluster at `address`.

    Args:
        spec: the sweep (its seeds × initializers make the grid).
        address: the Ray cluster to join (the benchmark's own head).
        cores: `max_concurrent_trials`, one CPU per trial (Tune's default request).
        reuse_actors: Tune's actor reuse (off by default in Tune).

    Returns:
        The trial count, the wall time of `Tuner.fit()` and how many trials errored.
    """
    import ray
    from ray import cloudpickle, tune

    # The trainable lives in this script's module, which Ray's workers cannot import by name.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    if not ray.is_initialized():
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    trainable = tune.with_parameters(tune_trial, spec_json=spec.model_dump(mode="json"))
    param_space = {"seed": tune.grid_search(spec.seed_values),
                   "initializer": tune.grid_search(list(range(len(spec.initializers))))}
    with tempfile.TemporaryDirectory(prefix="swb-tune-") as storage:
        tuner = tune.Tuner(
            trainable, param_space=param_space,
            tune_config=tune.TuneConfig(max_concurrent_trials=cores, reuse_actors=reuse_actors),
            run_config=tune.RunConfig(storage_path=storage, name="bench", verbose=0))
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # Tune prints a box even at verbose=0
            grid = tuner.fit()
        wall = time.perf_counter() - started
        errors = sum(1 for r in grid if r.error is not None or "final_sha256" not in r.metrics)
    return TuneRun(len(grid), wall, errors, reuse_actors)


def shutdown() -> None:
    """Disconnect this process from Ray (the cluster itself keeps running)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
