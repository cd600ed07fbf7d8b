"""Per-trial training time: sweepd's batched engine against plain single-trial loops.

The workload is the seed example (docs/science.md §2): moons n=5000 noise 0.2, all points used for
training, 2-4-1 tanh/sigmoid, full-batch gradient descent at lr 1.2, kernels N(0, 0.01²), zero
biases. Each contender trains the same run in this process:

  engine K=1      sweepd.engine.run_batch with one trial
  engine K=n      run_batch with n trials in one batch (time / n)
  torch loop      nn.Sequential + BCEWithLogitsLoss + autograd + torch.optim.SGD, one trial
  numpy loop      the classic course implementation (float64, manual backprop), one trial

The engine pins torch to one thread on CPU (its determinism setting); the torch loop is timed
with one thread too, so the comparison is per core. With `--device cuda` the engine rows run on
the GPU (the loops stay on the CPU) and trials/s is the figure to read.

    .venv/bin/python bench/train_speed.py [--steps 10000] [--k 64] [--device cpu]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import numpy as np
import torch

from sweepd.datasets import load
from sweepd.engine import run_batch
from sweepd.spec import DatasetSpec, SweepSpec

DATASET = {"name": "moons", "n_samples": 5000, "noise": 0.2, "test_fraction": 0.0, "seed": 0}


def engine_per_trial(k: int, steps: int, device: str = "cpu") -> float:
    """Wall seconds per trial of run_batch on k seeds (includes setup and evaluation)."""
    spec = SweepSpec.model_validate({
        "name": "bench", "dataset": DATASET,
        "model": {"hidden": [4], "activation": "tanh", "output": "sigmoid"},
        "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": steps},
        "seeds": {"start": 0, "count": k},
        "initializers": [{"name": "random_normal", "stddev": 0.01}],
    })
    started = time.perf_counter()
    run_batch(spec.trials(), device=device)
    return (time.perf_counter() - started) / k


def torch_loop(steps: int, threads: int) -> float:
    """Wall seconds of one trial trained the way a user would write it in PyTorch."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        data = load(DatasetSpec.model_validate(DATASET))
        x = torch.tensor(data.x_train, dtype=torch.float32)
        y = torch.tensor(data.y_train, dtype=torch.float32).unsqueeze(1)
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
        for layer in (model[0], model[2]):
            torch.nn.init.normal_(layer.weight, std=0.01)
            torch.nn.init.zeros_(layer.bias)
        optimizer = torch.optim.SGD(model.parameters(), lr=1.2)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        started = time.perf_counter()
        for _ in range(steps):
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        return time.perf_counter() - started
    finally:
        torch.set_num_threads(previous)


def numpy_loop(steps: int) -> float:
    """Wall seconds of one trial in the classic course's NumPy implementation (float64)."""
    data = load(DatasetSpec.model_validate(DATASET))
    x, y = data.x_train.T, data.y_train.reshape(1, -1).astype(np.float64)
    m = x.shape[1]
    rng = np.random.default_rng(0)
    w1, b1 = rng.standard_normal((4, 2)) * 0.01, np.zeros((4, 1))
    w2, b2 = rng.standard_normal((1, 4)) * 0.01, np.zeros((1, 1))
    started = time.perf_counter()
    for _ in range(steps):
        a1 = np.tanh(w1 @ x + b1)
        a2 = 1.0 / (1.0 + np.exp(-(w2 @ a1 + b2)))
        dz2 = a2 - y
        dw2, db2 = dz2 @ a1.T / m, dz2.sum(axis=1, keepdims=True) / m
        dz1 = (w2.T @ dz2) * (1.0 - a1 ** 2)
        dw1, db1 = dz1 @ x.T / m, dz1.sum(axis=1, keepdims=True) / m
        w1, b1, w2, b2 = w1 - 1.2 * dw1, b1 - 1.2 * db1, w2 - 1.2 * dw2, b2 - 1.2 * db2
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=64, help="trials in the large batch")
    parser.add_argument("--device", default="cpu", help="device of the engine rows")
    args = parser.parse_args()
    engine_per_trial(2, 10, args.device)  # warm-up: imports, dataset cache, CUDA context
    rows = [
        (f"engine K=1 ({args.device})", engine_per_trial(1, args.steps, args.device)),
        (f"engine K={args.k} ({args.device})", engine_per_trial(args.k, args.steps, args.device)),
        ("torch loop (cpu, 1 thread)", torch_loop(args.steps, 1)),
        ("numpy loop (cpu, float64)", numpy_loop(args.steps)),
    ]
    print(f"# {datetime.date.today()}  {platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, numpy {np.__version__}")
    print(f"# seed example, {args.steps} steps; per trial; ratio = torch loop / row")
    reference = rows[2][1]
    for name, seconds in rows:
        print(f"{name:<30} {seconds:9.3f} s  {seconds / args.steps * 1e6:8.1f} us/step  "
              f"{1 / seconds:8.2f} trials/s   x{reference / seconds:6.2f}")


if __name__ == "__main__":
    main()
