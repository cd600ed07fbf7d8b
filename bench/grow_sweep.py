"""Growing sweeps through the real service (issue 15): how long a finished sweep takes to grow,
against submitting the same trials as a sweep of their own, and how many seeds the adaptive
rule spends on the seed example before it stops.

    .venv/bin/python bench/grow_sweep.py [--steps 10000] [--seeds 8] [--max 60] [--cores 2]

Part 1 trains the seed example (16 initializers × `--seeds` seeds) to completion, adds
`--seeds` more seeds with `POST /sweeps/{id}/seeds` and times add → completed; the baseline is
a fresh sweep of the same size submitted → completed in the same run. Part 2 submits the seed
example with adaptive seeds (first block 10, +10, up to `--max`) and reports each look.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _service import RayHead, Service

from sweepd.examples import seed_example


def wait(sweep, timeout: float = 7200.0):
    deadline = time.monotonic() + timeout
    while sweep.refresh().state not in ("completed", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"sweep {sweep.id} still {sweep.state}")
        time.sleep(0.5)
    return sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--max", type=int, default=60, help="adaptive cap, seeds per initializer")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--skip-adaptive", action="store_true")
    args = parser.parse_args()
    ray = RayHead(cores=args.cores).start()
    service = Service(ray_address=ray.address, data_dir=Path(tempfile.mkdtemp(prefix="grow-")))
    try:
        service.start()
        client = service.client
        base = seed_example(steps=args.steps, seeds=args.seeds)
        n = base.n_trials
        started = time.perf_counter()
        sweep = wait(client.submit(base))
        first = time.perf_counter() - started
        started = time.perf_counter()
        sweep.add_seeds(args.seeds)
        added = time.perf_counter() - started
        wait(sweep)
        grow = time.perf_counter() - started
        fresh = base.model_copy(update={"name": "fresh", "seeds": base.seeds.model_copy(
            update={"start": args.seeds})})
        started = time.perf_counter()
        wait(client.submit(fresh))
        alone = time.perf_counter() - started
        print(f"Growing a finished {n}-trial sweep by {n} trials takes {grow:.1f} s, "
              f"{grow / alone:.2f}× the {alone:.1f} s of the same {n} trials as a sweep of "
              f"their own (the request itself: {added * 1000:.0f} ms; the first {n}: "
              f"{first:.1f} s).")
        if args.skip_adaptive:
            return
        adaptive = base.model_copy(update={"name": "seed-example-adaptive"}).model_dump(
            mode="json")
        adaptive["seeds"] = {"adaptive": {"initial": 10, "step": 10, "max": args.max}}
        started = time.perf_counter()
        sweep = wait(client.submit(adaptive))
        seconds = time.perf_counter() - started
        growths = client.growths(sweep.id)
        last = growths[-1].decision or {}
        point = (last.get("points") or [{}])[0]
        used = point.get("seeds", {})
        print(f"\nThe adaptive rule stopped at '{sweep.public.stop_reason}' after "
              f"{len(growths)} looks: {sweep.n_trials} trials ({sum(used.values())} seeds over "
              f"{len(used)} initializers, at most {max(used.values(), default=0)} each; fixed "
              f"design at the cap: {args.max * len(used)}) in {seconds:.0f} s.")
        print(f"  best: {point.get('best')}; failed (no more seeds): {point.get('failed')}")
        for pair in point.get("pairs", []):
            print(f"  vs {pair['other']:<32} {pair['state']:<10} n={pair['n']:<4} "
                  f"shift in [{pair['low']}, {pair['high']}]")
        print("  looks: " + json.dumps([g.decision.get("stop") if g.decision else None
                                        for g in growths]))
    finally:
        service.stop()
        ray.stop()


if __name__ == "__main__":
    main()
