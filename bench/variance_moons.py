"""The variance decomposition on moons (issue 16): 2-4-1 tanh, sgd batch 64, 2000 steps,
glorot_uniform and he_normal, 10 init × 10 data seeds; with `three`, 5 init × 5 order × 5 data.

    .venv/bin/python bench/variance_moons.py [three] [n=LEVELS]

Trains through `run_batch` (the service's code path), one batch per data draw, then decomposes
the test accuracy (mean over the last steps) pooled over the two initializers and per arm.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from sweepd.analysis.variance import binomial_noise, decompose
from sweepd.engine import run_batch
from sweepd.spec import SweepSpec

THREE = "three" in sys.argv[1:]
N = next((int(a[2:]) for a in sys.argv[1:] if a.startswith("n=")), 5 if THREE else 10)
LABELS = ["glorot_uniform", "he_normal"]


def _spec() -> SweepSpec:
    return SweepSpec.model_validate({
        "name": "variance", "dataset": {"name": "moons", "n_samples": 1000, "noise": 0.2,
                                        "test_fraction": 0.2, "seed": 0},
        "model": {"hidden": [4], "activation": "tanh", "output": "sigmoid"},
        "training": {"optimizer": "sgd", "learning_rate": 0.5, "steps": 2000, "batch_size": 64},
        "seeds": {"count": N}, "data_seeds": {"count": N},
        **({"order_seeds": {"start": 1000, "count": N}} if THREE else {}),
        "initializers": LABELS})


def _train(spec: SweepSpec) -> dict[tuple, float]:
    trials = spec.trials()
    out = {}
    for key in dict.fromkeys(t.batch_key for t in trials):
        batch = [t for t in trials if t.batch_key == key]
        for t, r in zip(batch, run_batch(batch)):
            out[(t.initializer_label, t.seed, t.order_seed, t.data_seed)] = r.tail.test_accuracy
    return out


def _arm(res: dict[tuple, float], label: str) -> np.ndarray:
    seeds, draws = range(N), range(N)
    if THREE:
        return np.array([[[res[(label, s, o, d)] for d in draws] for o in range(1000, 1000 + N)]
                         for s in seeds])
    return np.array([[res[(label, s, s, d)] for d in draws] for s in seeds])


def main() -> None:
    started = time.time()
    res = _train(_spec())
    print(f"trained {len(res)} trials in {time.time() - started:.0f} s")
    arms = [_arm(res, label) for label in LABELS]
    factors = ["init", "order", "data"] if THREE else ["init", "data"]
    for name, chosen in [("pooled", arms), *[(lab, [a]) for lab, a in zip(LABELS, arms)]]:
        mean = float(np.mean(chosen))
        result = decompose(chosen, factors, metric="test_accuracy_tail",
                           test_noise=binomial_noise(mean, 200))
        noise = 100 * (result.test_noise or 0) ** 0.5
        print(f"{name}: largest {result.largest}, mean {100 * mean:.2f} %, "
              f"test-set binomial sd {noise:.2f} pp")
        for c in result.components:
            print(f"   {c.name:14s} sd {100 * c.sd:5.2f} pp  CI [{100 * c.sd_ci_low:5.2f}, "
                  f"{100 * c.sd_ci_high:5.2f}]  share {100 * (c.share or 0):3.0f} %")


if __name__ == "__main__":
    main()
