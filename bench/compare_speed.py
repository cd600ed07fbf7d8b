"""Time `compare_sweep` on a 1 500-trial sweep (15 initializers × 100 seeds, 2-4-1 tanh nets).

The trials are trained-like: three moons solutions trained by NumPy full-batch GD, each trial
a random signed permutation of one of them plus a small drift, stored as float32, with a
101-point cost curve; one initializer is all-ones (symmetry never broken). Issue 4 asks for
the compare endpoint over 1 500 trials to answer within 2 s; this measures the maths part.

    .venv/bin/python bench/compare_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from scipy.special import expit
from sklearn.datasets import make_moons

from sweepd.analysis import compare_sweep, summary_text
from sweepd.analysis.functional import evaluate
from sweepd.records import ResultRecord, TrialRecord
from sweepd.spec import ModelSpec
from sweepd.weights import from_layers

N_INITIALIZERS, N_SEEDS, HIDDEN = 15, 100, 4


@dataclass(frozen=True)
class Moons:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int = 2
    n_features: int = 2


def moons() -> Moons:
    x, y = make_moons(n_samples=5000, noise=0.2, random_state=0)
    return Moons(x[:4000], y[:4000], x[4000:], y[4000:])


def train(data: Moons, seed: int, steps: int = 1500, lr: float = 1.2) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    w1, b1 = rng.normal(0, 0.5, (2, HIDDEN)), np.zeros(HIDDEN)
    w2, b2 = rng.normal(0, 0.5, (HIDDEN, 1)), np.zeros(1)
    x, y = data.x_train, data.y_train[:, None]
    for _ in range(steps):
        h = np.tanh(x @ w1 + b1)
        dz = (expit(h @ w2 + b2) - y) / len(x)
        dh = dz @ w2.T * (1 - h**2)
        w2, b2, w1, b1 = w2 - lr * h.T @ dz, b2 - lr * dz.sum(0), w1 - lr * x.T @ dh, \
            b1 - lr * dh.sum(0)
    return [w1, b1, w2, b2]


def variant(base: list[np.ndarray], rng: np.random.Generator, drift: float) -> dict:
    w1, b1, w2, b2 = base
    perm, sign = rng.permutation(HIDDEN), rng.choice([-1.0, 1.0], HIDDEN)
    pairs = [(w1[:, perm] * sign, b1[perm] * sign), (w2[perm] * sign[:, None], b2)]
    return {k: (v + rng.normal(0, drift, v.shape)).astype(np.float32)
            for k, v in from_layers(pairs).items()}


def record(trial_id: int, seed: int, label: str, net: dict, data: Moons) -> TrialRecord:
    cost, error = evaluate(net, data.x_test, data.y_test, "tanh")
    steps = np.arange(101)
    curve = list(cost + (0.69 - cost) * np.exp(-steps / 10) + 1e-4 * (-1.0) ** steps)
    result = ResultRecord(
        status="ok", train_cost=cost, train_accuracy=1 - error, test_cost=cost,
        test_accuracy=1 - error, train_cost_tail=cost, steps=10_000, diverged_step=None,
        wall_seconds=1.0, curve_every=100, curve=curve, final_sha256="0" * 64,
        initial_sha256=None, environment={}, created_at=datetime.now(timezone.utc))
    return TrialRecord(
        id=trial_id, sweep_id=1, cell_key=str(trial_id), seed=seed, initializer={"name": label},
        initializer_label=label, params={}, state="completed", attempt=1, max_attempts=3,
        progress=1.0, result=result)


def build_sweep(data: Moons) -> tuple[list[TrialRecord], dict[int, dict]]:
    bases = [train(data, seed) for seed in range(3)]
    ones = [np.ones((2, HIDDEN)), np.full(HIDDEN, 0.1), np.ones((HIDDEN, 1)), np.zeros(1)]
    rng = np.random.default_rng(0)
    trials, weights = [], {}
    for seed in range(N_SEEDS):
        for i in range(N_INITIALIZERS):
            label = "ones" if i == 0 else f"init_{i:02d}"
            base = ones if i == 0 else bases[rng.choice(3, p=[0.6, 0.3, 0.1])]
            net = variant(base, rng, drift=0.0 if i == 0 else 0.01)
            trial_id = len(trials) + 1
            trials.append(record(trial_id, seed, label, net, data))
            weights[trial_id] = net
    return trials, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = moons()
    trials, weights = build_sweep(data)
    model = ModelSpec(hidden=[HIDDEN], activation="tanh")
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        comparison = compare_sweep(trials, weights, model, data)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    payload = comparison.model_dump_json()
    to_json = time.perf_counter() - start
    print(summary_text(comparison).splitlines()[1])
    print(f"compare_sweep over {len(trials)} trials ({N_INITIALIZERS} initializers × {N_SEEDS} "
          f"seeds, 2-{HIDDEN}-1): min {min(times):.3f} s, median "
          f"{statistics.median(times):.3f} s over {args.repeats} runs; "
          f"JSON {len(payload) / 1e6:.2f} MB in {to_json:.3f} s")


if __name__ == "__main__":
    main()
