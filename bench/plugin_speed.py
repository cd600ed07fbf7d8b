"""Per-trial training time of the generic engine (issue 18) against the fast engine and a plain
PyTorch loop, in one run.

  moons, K = 64    the 2-4-1 MLP of the seed example (full-batch gd, lr 1.2), trained by the fast
                   engine and by the generic engine (the MLP forced through torch.func)
  digits, K = 1    the built-in CNN (sweepd.cnn, channels 8, 16; Adam, minibatches of 64)
  digits, K = 32   the same CNN, 32 trials in one batch (time / 32)
  torch loop       that CNN trained the way a user would write it: nn.Module, autograd,
                   torch.optim.Adam, one model, the same minibatch sizes

Everything runs on one CPU thread (the engines' determinism setting; the loop is pinned too).

    .venv/bin/python bench/plugin_speed.py [--moons-steps 2000] [--cnn-steps 200]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time

import torch

from sweepd.datasets import load
from sweepd.engine import run_fast_batch
from sweepd.engine.generic import run_batch as run_generic
from sweepd.model_plugins import build_cnn
from sweepd.spec import DatasetSpec, SweepSpec

MOONS = {"name": "moons", "n_samples": 5000, "noise": 0.2, "test_fraction": 0.0, "seed": 0}
DIGITS = {"name": "digits", "standardize": True}
CNN = {"plugin": "sweepd.cnn", "params": {"channels": [8, 16]}}


def _spec(dataset: dict, model: dict, training: dict, k: int) -> SweepSpec:
    return SweepSpec.model_validate({
        "name": "bench", "dataset": dataset, "model": model, "training": training,
        "seeds": {"start": 0, "count": k}, "initializers": ["glorot_uniform"],
        "store": {"curve_every": 100, "initial_weights": False}})


def per_trial(run, spec: SweepSpec) -> float:  # noqa: ANN001
    trials = spec.trials()
    started = time.perf_counter()
    run(trials)
    return (time.perf_counter() - started) / len(trials)


def torch_loop(steps: int, batch: int) -> float:
    """One CNN trained by hand: nn.Module + autograd + torch.optim.Adam, minibatches."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = load(DatasetSpec.model_validate(DIGITS))
        x = torch.tensor(data.x_train, dtype=torch.float32)
        y = torch.tensor(data.y_train, dtype=torch.int64)
        torch.manual_seed(0)
        model = build_cnn((64,), 10, channels=[8, 16], kernel_size=3, activation="relu",
                          in_channels=1)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        started = time.perf_counter()
        per_epoch = -(-len(y) // batch)
        for step in range(steps):
            j = step % per_epoch
            if j == 0:
                order = torch.randperm(len(y))
            idx = order[j * batch:(j + 1) * batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        with torch.no_grad():
            model(x)  # the final evaluation the engines also do
        return time.perf_counter() - started
    finally:
        torch.set_num_threads(previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moons-steps", type=int, default=2000)
    parser.add_argument("--cnn-steps", type=int, default=200)
    args = parser.parse_args()
    moons = _spec(MOONS, {"hidden": [4], "activation": "tanh", "output": "sigmoid"},
                  {"optimizer": "gd", "learning_rate": 1.2, "steps": args.moons_steps}, 64)
    cnn = {"optimizer": "adam", "learning_rate": 0.01, "steps": args.cnn_steps,
           "batch_size": 64, "loss": "ce"}
    rows = [
        ("moons 2-4-1, K=64, fast engine", per_trial(run_fast_batch, moons)),
        ("moons 2-4-1, K=64, generic engine", per_trial(run_generic, moons)),
        ("digits CNN 8-16, K=1, generic engine", per_trial(run_generic,
                                                           _spec(DIGITS, CNN, cnn, 1))),
        ("digits CNN 8-16, K=32, generic engine", per_trial(run_generic,
                                                            _spec(DIGITS, CNN, cnn, 32))),
        ("digits CNN 8-16, plain torch loop", torch_loop(args.cnn_steps, 64)),
    ]
    print(f"Per-trial seconds, one CPU thread ({platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}, {datetime.date.today()}); moons {args.moons_steps} gd "
          f"steps, digits {args.cnn_steps} Adam steps of 64:")
    for name, seconds in rows:
        print(f"  {name:<40} {seconds * 1000:9.1f} ms")
    fast, generic = rows[0][1], rows[1][1]
    print(f"generic / fast on moons: {generic / fast:.1f}×; CNN K=32 vs the torch loop: "
          f"{rows[4][1] / rows[3][1]:.2f}× faster per trial")


if __name__ == "__main__":
    main()
