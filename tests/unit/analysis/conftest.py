"""Shared fixtures of the analysis tests: small nets built with NumPy, a moons dataset, a
NumPy trainer (full-batch GD on bce, the engine's maths) and trial records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import make_moons

from sweepd.records import ResultRecord, TrialRecord
from sweepd.weights import from_layers, layers


@dataclass(frozen=True)
class Data:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int = 2
    n_features: int = 2


def random_net(rng: np.random.Generator, widths: tuple[int, ...] = (2, 4, 1),
               scale: float = 1.0) -> dict[str, np.ndarray]:
    return from_layers([(rng.normal(0, scale, (a, b)), rng.normal(0, scale, b))
                        for a, b in zip(widths[:-1], widths[1:])])


def signed_permutation(net: dict[str, np.ndarray], rng: np.random.Generator, *, signed: bool,
                       rescale: bool = False) -> dict[str, np.ndarray]:
    """A copy computing the same function: hidden units shuffled, sign-flipped when `signed`,
    positively rescaled when `rescale` (ReLU)."""
    pairs = [(k.copy(), b.copy()) for k, b in layers(net)]
    for layer in range(len(pairs) - 1):
        h = pairs[layer][1].size
        perm = rng.permutation(h)
        f = rng.choice([-1.0, 1.0], h) if signed else np.ones(h)
        if rescale:
            f = f * rng.uniform(0.2, 5.0, h)
        kernel, bias = pairs[layer]
        pairs[layer] = (kernel[:, perm] * f, bias[perm] * f)
        nxt, nxt_bias = pairs[layer + 1]
        pairs[layer + 1] = (nxt[perm] / f[:, None], nxt_bias)
    return from_layers(pairs)


def train(data: Data, initial: dict[str, np.ndarray], *, steps: int = 300,
          lr: float = 1.2) -> dict[str, np.ndarray]:
    """Full-batch gradient descent of a 2-H-1 tanh/sigmoid net on mean bce (the course setup)."""
    (w1, b1), (w2, b2) = [(k.astype(np.float64), b.astype(np.float64)) for k, b in layers(initial)]
    x, y = data.x_train, data.y_train[:, None].astype(np.float64)
    for _ in range(steps):
        h = np.tanh(x @ w1 + b1)
        dz = (expit(h @ w2 + b2) - y) / len(x)
        dh = dz @ w2.T * (1 - h**2)
        w2, b2 = w2 - lr * h.T @ dz, b2 - lr * dz.sum(0)
        w1, b1 = w1 - lr * x.T @ dh, b1 - lr * dh.sum(0)
    return from_layers([(w1, b1), (w2, b2)])


@pytest.fixture(scope="session")
def moons() -> Data:
    x, y = make_moons(n_samples=500, noise=0.2, random_state=0)
    return Data(x[:400], y[:400].astype(np.int64), x[400:], y[400:].astype(np.int64))


@pytest.fixture(scope="session")
def trained(moons: Data) -> list[dict[str, np.ndarray]]:
    """Three 2-4-1 tanh nets trained from different random inits."""
    return [train(moons, random_net(np.random.default_rng(s), scale=0.5)) for s in range(3)]


def make_trial(trial_id: int, seed: int, label: str = "glorot_uniform", *,
               params: dict[str, Any] | None = None, state: str = "completed",
               accuracy: float | None = 0.9, cost: float | None = 0.3,
               status: str = "ok", curve: list[float | None] | None = None,
               tail: dict[str, Any] | None = None) -> TrialRecord:
    result = None if state != "completed" else ResultRecord(
        status=status, train_cost=cost, train_accuracy=accuracy, test_cost=cost,
        test_accuracy=accuracy, train_cost_tail=cost, steps=100, diverged_step=None,
        wall_seconds=0.1, curve_every=10, curve=curve if curve is not None else [0.7] + [cost] * 10,
        final_sha256="0" * 64, initial_sha256=None, environment={},
        created_at=datetime(2025, 1, 1, tzinfo=timezone.utc), tail=tail)
    return TrialRecord(
        id=trial_id, sweep_id=1, cell_key=f"k{trial_id}", seed=seed, initializer={"name": label},
        initializer_label=label, params=params or {}, state=state, attempt=1, max_attempts=3,
        progress=1.0 if state == "completed" else 0.0, result=result)


class Builders:
    """The helpers above, handed to tests through the `build` fixture."""

    random_net = staticmethod(random_net)
    signed_permutation = staticmethod(signed_permutation)
    train = staticmethod(train)
    trial = staticmethod(make_trial)


@pytest.fixture
def build() -> type[Builders]:
    return Builders
