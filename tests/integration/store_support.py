"""Builders and helpers shared by the store contract suites (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import sqlalchemy as sa

from sweepd.records import ClaimedBatch, ClaimedTrial, ResultItem
from sweepd.results import TrialResult
from sweepd.spec import SweepSpec
from sweepd.storage.store import Store
from sweepd.weights import pack

T = TypeVar("T")
ALL_PENDING = {"pending": 6, "running": 0, "completed": 0, "failed": 0, "cancelled": 0}


# -- builders ---------------------------------------------------------------------------------


def make_spec(*, seeds: int = 3, initializers: tuple[Any, ...] = ("glorot_uniform", "he_normal"),
              grid: dict[str, list[Any]] | None = None, max_attempts: int = 3,
              name: str = "study") -> SweepSpec:
    return SweepSpec.model_validate({
        "name": name, "dataset": {"name": "moons", "n_samples": 100},
        "model": {"hidden": [3]}, "training": {"steps": 10},
        "seeds": {"start": 0, "count": seeds}, "initializers": list(initializers),
        "grid": grid or {}, "max_attempts": max_attempts,
    })


def make_result(trial: ClaimedTrial, *, accuracy: float = 0.9, initial: bool = True,
                corrupt: bool = False) -> TrialResult:
    """A hand-made result with small weights that differ per seed."""
    rng = np.random.default_rng(trial.spec.seed)
    final, final_sha = pack({"layers.0.kernel": rng.normal(size=(2, 3)).astype(np.float32),
                             "layers.0.bias": np.zeros(3, np.float32)})
    start, start_sha = pack({"layers.0.kernel": np.ones((2, 3), np.float32),
                             "layers.0.bias": np.zeros(3, np.float32)})
    return TrialResult(
        cell_key=trial.spec.cell_key, status="ok", train_cost=0.1, train_accuracy=accuracy,
        test_cost=0.2, test_accuracy=accuracy, train_cost_tail=0.1, steps=10, wall_seconds=0.5,
        curve_every=5, curve=[0.7, None, 0.1], final_weights=final,
        final_sha256="0" * 64 if corrupt else final_sha,
        initial_weights=start if initial else None, initial_sha256=start_sha if initial else None,
        environment={"torch": "2.13.0", "device": "cpu", "dtype": "float32"},
    )


def item(trial: ClaimedTrial, *, attempt: int | None = None, **kwargs: Any) -> ResultItem:
    return ResultItem(trial_id=trial.trial_id, attempt=trial.attempt if attempt is None else attempt,
                      result=make_result(trial, **kwargs), node="node-1", device="cpu")


def flat(batches: list[ClaimedBatch]) -> list[ClaimedTrial]:
    return [t for b in batches for t in b.trials]


def claim(store: Store, n: int = 1000, *, holder: str = "d1", max_batch: int = 1000,
          lease: float = 60.0) -> list[ClaimedTrial]:
    return flat(store.claim_trials(holder=holder, max_trials=n, max_batch=max_batch,
                                   lease_seconds=lease))


def keys(trials: list[ClaimedTrial]) -> list[tuple[int, int]]:
    return [(t.trial_id, t.attempt) for t in trials]


def in_threads(n: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(i)` in n threads that all start at the same moment."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def scalar(store: Store, sql: str, **params: Any) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


# -- submission -------------------------------------------------------------------------------
