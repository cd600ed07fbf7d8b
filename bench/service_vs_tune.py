"""sweepd against Ray Tune and against the ideal, side by side in one run (issue 8).

Starts a local Ray head with `--cores` CPUs and a `sweepd serve` (SQLite) joined to it, then
measures, on this machine and in this run:

  1. moons     16 initializers × 8 seeds × 10 000 steps (the seed example)
  2. overhead  2 000 trials of 1 step (what scheduling and storing a trial costs)
  3. storage   database size and bytes per stored trial; GET /compare latency on the moons
               sweep and on a 1 500-trial sweep (15 initializers × 100 seeds)

each three ways:

  service  REST submit → every result, with its weights, in the database (the service is
           started and Ray is warm: a small warm-up sweep runs first; start-up is reported apart)
  tune     Ray Tune: grid over seed × initializer, a function trainable calling run_batch on
           one TrialSpec, max_concurrent_trials = cores, with Tune's defaults (a new actor per
           trial) and with reuse_actors=True (skipped when ray[tune] is missing)
  engine   run_batch in this process on the batch the dispatcher would give one core, × cores:
           what the service's own arithmetic allows (service/engine = scheduling efficiency)
  ideal    cores × the rate of a plain sequential PyTorch loop (autograd + torch.optim.SGD, one
           trial at a time on one thread), timed on a few trials and extrapolated

and prints a table with trials/s and the ratios service/Tune and service/ideal. Tune may be run
on a subset of the grid (`--tune-overhead-trials`, `--tune-moons-trials`); its rate is then
extrapolated to the whole grid, and the table says so.

    .venv/bin/python bench/service_vs_tune.py                 # the full run (~35 min, 2 cores)
    .venv/bin/python bench/service_vs_tune.py --repeats 3 --json /tmp/figures.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sweepd.spec import SweepSpec

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report  # noqa: E402
import _tune  # noqa: E402
from _service import RayHead, Service, SweepRun, storage_figures  # noqa: E402
from _workloads import (  # noqa: E402
    compare_spec,
    measure_engine,
    measure_ideal,
    moons_spec,
    overhead_spec,
    subset,
)

# The benchmark's cluster is private to this machine's loopback; Ray's token auth would otherwise
# pick up a token file left in ~/.ray by another local cluster and refuse our drivers.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                   help="CPUs of the Ray head = Tune's concurrency = the ideal's multiplier")
    p.add_argument("--initializers", type=int, default=16, help="initializers per workload")
    p.add_argument("--moons-steps", type=int, default=10_000)
    p.add_argument("--moons-seeds", type=int, default=8)
    p.add_argument("--overhead-trials", type=int, default=2000)
    p.add_argument("--compare-seeds", type=int, default=100,
                   help="seeds of the 15-initializer compare sweep (0: skip it)")
    p.add_argument("--compare-steps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=1, help="service runs per workload")
    p.add_argument("--ray-address", help="join this Ray cluster instead of starting a head "
                   "(it must have --cores CPUs free; the benchmark leaves it running)")
    p.add_argument("--no-tune", action="store_true", help="skip Ray Tune")
    p.add_argument("--tune-workloads", default="moons,overhead",
                   help="comma-separated workloads to run through Tune")
    p.add_argument("--tune-moons-trials", type=int, default=0,
                   help="at least this many moons trials through Tune (0: the whole grid)")
    p.add_argument("--tune-overhead-trials", type=int, default=100,
                   help="at least this many overhead trials through Tune (0: the whole grid)")
    p.add_argument("--tune-variants", default="default,reuse",
                   help="Tune configurations: default (a new actor per trial, Tune's default) "
                        "and/or reuse (reuse_actors=True: one actor per slot)")
    p.add_argument("--ideal-moons-trials", type=int, default=3)
    p.add_argument("--ideal-overhead-trials", type=int, default=200)
    p.add_argument("--no-engine", action="store_true",
                   help="skip the in-process engine row (the service's own arithmetic)")
    p.add_argument("--service-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for sweepd serve, e.g. SWEEPD_BATCH_MAX_CPU=64")
    p.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    p.add_argument("--keep", action="store_true", help="keep the service's data directory")
    return p.parse_args(argv)


def load() -> float:
    """The 1-minute load average: the machine is shared, so every figure carries it."""
    return round(os.getloadavg()[0], 2)


class Bench:
    """Runs the workloads and collects rows of (workload, contender, trials, seconds, ...)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rows: list[dict[str, Any]] = []
        self.extra: dict[str, Any] = {"started_load": load()}
        self.specs = {
            "moons": moons_spec(args.moons_steps, args.moons_seeds, args.initializers),
            "overhead": overhead_spec(args.overhead_trials, args.initializers),
        }

    def add(self, workload: str, contender: str, trials: int, seconds: float, *,
            grid: int, note: str = "", before: float | None = None,
            pair: int | None = None) -> None:
        self.rows.append({"workload": workload, "contender": contender, "trials": trials,
                          "seconds": seconds, "trials_per_s": trials / seconds, "grid": grid,
                          "load_before": before, "load_after": load(), "note": note,
                          "pair": pair})

    # -- the three contenders ------------------------------------------------------------------

    def run_ideal(self) -> None:
        sizes = {"moons": self.args.ideal_moons_trials, "overhead": self.args.ideal_overhead_trials}
        for name, spec in self.specs.items():
            before = load()
            rate = measure_ideal(spec, sizes[name], self.args.cores)
            spread = f"{min(rate.seconds_per_trial):.4g}–{max(rate.seconds_per_trial):.4g}"
            self.add(name, "ideal", spec.n_trials, spec.n_trials / rate.trials_per_second,
                     grid=spec.n_trials, before=before,
                     note=f"extrapolated: {self.args.cores} × 1/median of {rate.trials_timed} "
                          f"timed trials ({spread} s each)")

    def _batch_cap(self) -> int:
        env = dict(i.split("=", 1) for i in self.args.service_env)
        return int(env.get("SWEEPD_BATCH_MAX_CPU", 256))

    def run_engine_alone(self) -> None:
        """The older engine figure: one batch alone in this process, × cores."""
        for name, spec in self.specs.items():
            before = load()
            rate = measure_engine(spec, self.args.cores, batch_max=self._batch_cap())
            self.add(name, "engine×n", spec.n_trials, spec.n_trials / rate.trials_per_second,
                     grid=spec.n_trials, before=before,
                     note=f"run_batch alone, K={rate.batch}, × {self.args.cores}"
                          f"{self._scaled(spec, rate)}")

    def run_engine(self, name: str, spec: SweepSpec, pair: int) -> None:
        before = load()
        rate = measure_engine(spec, self.args.cores, batch_max=self._batch_cap(), together=True)
        self.add(name, "engine", spec.n_trials, spec.n_trials / rate.trials_per_second,
                 grid=spec.n_trials, before=before, pair=pair,
                 note=f"run_batch, {self.args.cores} processes at once, every batch of "
                      f"K≤{rate.batch}{self._scaled(spec, rate)}")

    @staticmethod
    def _scaled(spec: SweepSpec, rate: Any) -> str:
        if rate.steps_timed == spec.trials()[0].training.steps:
            return ""
        return f", timed at {rate.steps_timed} steps and scaled"

    def run_service(self, service: Service) -> None:
        for name, spec in self.specs.items():
            for repeat in range(self.args.repeats):
                if not self.args.no_engine:  # the engine just before: the pair shares a moment
                    self.run_engine(name, spec, repeat)
                before = load()
                run = service.run_sweep(spec)
                self._check_stored(run)
                self.add(name, "service", run.n_trials, run.wall_seconds, grid=spec.n_trials,
                         before=before, pair=repeat,
                         note=f"server {run.server_seconds:.2f} s, "
                              f"POST {run.submit_seconds:.2f} s")
                self.extra.setdefault("sweeps", {})[f"{name}#{repeat}"] = asdict(run)

    @staticmethod
    def _check_stored(run: SweepRun) -> None:
        if run.stored_with_weights != run.n_trials:
            raise RuntimeError(f"sweep {run.sweep_id}: {run.stored_with_weights} of "
                               f"{run.n_trials} results hold weights")

    def run_tune(self, address: str) -> None:
        wanted = {"moons": self.args.tune_moons_trials,
                  "overhead": self.args.tune_overhead_trials}
        variants = [v == "reuse" for v in self.args.tune_variants.split(",")]
        for name, spec in self.specs.items():
            if name not in self.args.tune_workloads.split(","):
                continue
            part = subset(spec, wanted[name]) if wanted[name] else spec
            for reuse in variants:
                before = load()
                run = _tune.run_tune(part, address=address, cores=self.args.cores,
                                     reuse_actors=reuse)
                if run.errors:
                    raise RuntimeError(f"{run.errors} Tune trials of {name} errored")
                note = "reuse_actors=True" if reuse else "Tune defaults"
                if run.n_trials < spec.n_trials:
                    note += f"; {run.n_trials} of {spec.n_trials} trials run, rate extrapolated"
                self.add(name, "tune+reuse" if reuse else "tune", spec.n_trials,
                         spec.n_trials / run.trials_per_second, grid=spec.n_trials,
                         before=before, note=note)
        _tune.shutdown()

    # -- storage and comparison ----------------------------------------------------------------

    def run_storage(self, service: Service) -> None:
        sweeps = {name: run["sweep_id"] for name, run in self.extra["sweeps"].items()}
        moons = sweeps["moons#0"]
        first, cached = service.time_compare(moons, repeats=3)
        self.extra["compare"] = {"moons": {"trials": self.specs["moons"].n_trials,
                                           "first_s": first, "cached_s": cached}}
        if self.args.compare_seeds:
            spec = compare_spec(self.args.compare_steps, self.args.compare_seeds,
                                min(15, self.args.initializers))
            run = service.run_sweep(spec)
            self._check_stored(run)
            sweeps["compare"] = run.sweep_id
            first, cached = service.time_compare(run.sweep_id, repeats=3)
            self.extra["compare"]["large"] = {"trials": run.n_trials, "first_s": first,
                                              "cached_s": cached, "sweep": asdict(run)}
        self.extra["storage"] = storage_figures(service.database, sweeps)
        self.extra["dispatcher"] = service.dispatcher_stats()


def warm_up(head: RayHead, service: Service, cores: int) -> dict[str, float]:
    """One small sweep and its comparison, so that the figures exclude start-up costs.

    The first batch on each Ray worker imports torch and builds the dataset; the first compare
    imports SciPy and scikit-learn in the service. Both are reported apart, as start-up.
    """
    warm = service.run_sweep(moons_spec(steps=10, seeds=cores, initializers=1))
    compare, _ = service.time_compare(warm.sweep_id, repeats=0)
    return {"ray_head_s": head.seconds_to_start, "service_ready_s": service.seconds_to_ready,
            "warmup_sweep_s": warm.wall_seconds, "first_compare_s": compare}


def run(args: argparse.Namespace) -> Bench:
    """Measure everything; the Ray head and the service are always stopped at the end."""
    bench = Bench(args)
    bench.run_ideal()  # first, while nothing of ours runs beside it
    if not args.no_engine:
        bench.run_engine_alone()
    data_dir = Path(tempfile.mkdtemp(prefix="swb-data-"))
    head = RayHead(args.cores, address=args.ray_address or "")
    service = None
    try:
        if not args.ray_address:
            head.start()
        env = dict(item.split("=", 1) for item in args.service_env)
        service = Service(head.address, data_dir, extra_env=env).start()
        bench.extra["startup"] = warm_up(head, service, args.cores)
        bench.run_service(service)
        bench.run_storage(service)
        service.stop()
        if not args.no_tune and _tune.available():
            bench.run_tune(head.address)
    finally:
        if service is not None:
            service.stop()
        head.stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    bench.extra["finished_load"] = load()
    return bench


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    bench = run(args)
    print(_report.render(bench.rows, bench.extra), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "rows": bench.rows, **bench.extra}, indent=1))


if __name__ == "__main__":
    main()
