"""The seed question, measured: same accuracy, different weights — different solutions?

Trains the seed example (moons 5000/0.2, 2-4-1 tanh/sigmoid, full-batch GD lr 1.2) for N seeds
under random_normal(0.01) and glorot_uniform through the real engine and store (an in-process
SQLite store; no Ray needed), then prints what `sweepd compare` answers plus loss barriers over
pairs of seeds, raw and after alignment.

    python bench/seed_question.py --seeds 20 --steps 10000
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time

import numpy as np

from sweepd import comparisons
from sweepd.analysis.report import summary_text
from sweepd.engine import run_batch
from sweepd.records import ResultItem
from sweepd.spec import SweepSpec
from sweepd.storage.schema import open_store


def spec(seeds: int, steps: int) -> SweepSpec:
    return SweepSpec.model_validate({
        "name": "seed-question",
        "dataset": {"name": "moons", "n_samples": 5000, "noise": 0.2, "seed": 0},
        "model": {"hidden": [4], "activation": "tanh", "output": "sigmoid"},
        "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": steps, "loss": "bce"},
        "seeds": {"count": seeds},
        "initializers": [{"name": "random_normal", "stddev": 0.01}, "glorot_uniform"],
        "store": {"curve_every": max(1, steps // 200)},
    })


def train(store, owner: int, sweep: SweepSpec) -> int:
    record, _ = store.submit_sweep(owner, sweep)
    claimed = store.claim_trials(holder="bench", max_trials=sweep.n_trials,
                                 max_batch=sweep.n_trials, lease_seconds=3600)
    for batch in claimed:
        results = run_batch([t.spec for t in batch.trials])
        store.record_results([ResultItem(trial_id=t.trial_id, attempt=t.attempt, result=r,
                                         node="local", device="cpu")
                              for t, r in zip(batch.trials, results)])
    return record.id


def barriers(store, owner: int, sweep_id: int, label: str, n: int) -> dict[str, float]:
    trials = store.list_trials(owner, sweep_id, initializer=label, limit=n, offset=0)[0]
    raw, aligned, disagree = [], [], []
    for a, b in itertools.combinations(trials, 2):
        pair = comparisons.compare_pair(store, owner, sweep_id, a.id, b.id)
        raw.append(pair.barrier_raw.barrier)
        aligned.append(pair.barrier_aligned.barrier)
        disagree.append(pair.disagreement)
    return {"pairs": len(raw), "raw_mean": float(np.mean(raw)), "raw_max": float(np.max(raw)),
            "aligned_mean": float(np.mean(aligned)), "aligned_max": float(np.max(aligned)),
            "disagreement_mean": float(np.mean(disagree))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--pairs-of", type=int, default=10, help="seeds per barrier set")
    args = parser.parse_args()

    store = open_store(f"sqlite:///{tempfile.mkdtemp()}/q.db", auto_migrate=True)
    owner = store.create_user("bench").id
    start = time.perf_counter()
    sweep_id = train(store, owner, spec(args.seeds, args.steps))
    print(f"trained {2 * args.seeds} trials × {args.steps} steps in "
          f"{time.perf_counter() - start:.1f} s (one process, one thread)")
    for tolerance in (0.05, 0.1):
        cmp = comparisons.compare_sweep(store, owner, sweep_id, tolerance=tolerance)
        print(f"\n--- tolerance {tolerance} (aligned relative distance, complete linkage)")
        print(summary_text(cmp))
        for g in cmp.groups:
            s, acc = g.solutions, g.stats["test_accuracy"]
            print(f"  {g.initializer}: solutions {s.n_solutions} sizes "
                  f"{[c.size for c in s.clusters]}; relative distance raw "
                  f"{s.mean_raw_relative:.3f} → aligned {s.mean_aligned_relative:.3f}; absolute "
                  f"{s.mean_raw_distance:.2f} → {s.mean_aligned_distance:.2f}; tail change "
                  f"{s.median_tail_change:.2e}; test acc {acc.mean:.4f} ± {acc.std:.4f} "
                  f"(noise floor {g.accuracy_noise_floor:.4f})")
    for label in ("random_normal(stddev=0.01)", "glorot_uniform"):
        b = barriers(store, owner, sweep_id, label, args.pairs_of)
        print(f"\nloss barrier {label} over {b['pairs']} pairs: raw mean {b['raw_mean']:.3f} "
              f"max {b['raw_max']:.3f}; aligned mean {b['aligned_mean']:.4f} max "
              f"{b['aligned_max']:.4f}; test disagreement {b['disagreement_mean']:.2%}")


if __name__ == "__main__":
    main()
