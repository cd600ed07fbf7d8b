"""Shared helpers of the reliability tier."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import text

from sweepd.spec import SweepSpec


def moons_spec(*, seeds: int, steps: int, inits: list | None = None, name: str = "r",
               max_attempts: int = 3) -> SweepSpec:
    return SweepSpec.model_validate({
        "name": name,
        "dataset": {"name": "moons", "n_samples": 400, "noise": 0.2, "seed": 0},
        "model": {"hidden": [4], "activation": "tanh"},
        "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": steps},
        "seeds": {"start": 0, "count": seeds},
        "initializers": inits or ["glorot_uniform", {"name": "random_normal", "stddev": 0.01}],
        "store": {"curve_every": 100},
        "max_attempts": max_attempts,
    })


def service_spec(steps: int, seeds: int, name: str) -> dict:
    """A small moons sweep as a REST body (for the tests that drive a live `sweepd serve`)."""
    return moons_spec(seeds=seeds, steps=steps, name=name,
                      inits=["glorot_uniform", "he_normal"]).model_dump(mode="json")


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def assert_integrity(store, sweep_id: int, *, n_trials: int, max_attempts: int,
                     failed: set[int] = frozenset()) -> None:
    """The checks every reliability scenario ends with (issue 6)."""
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT t.id, t.state, t.attempt, COUNT(r.trial_id) FROM trials t "
            "LEFT JOIN results r ON r.trial_id = t.id WHERE t.sweep_id = :s "
            "GROUP BY t.id, t.state, t.attempt"), {"s": sweep_id}).all()
        state = conn.execute(text("SELECT state FROM sweeps WHERE id = :s"),
                             {"s": sweep_id}).scalar_one()
    assert len(rows) == n_trials
    assert state in ("completed", "failed")
    for trial_id, trial_state, attempt, n_results in rows:
        assert trial_state != "running"
        assert attempt <= max_attempts
        if trial_id in failed:
            assert trial_state == "failed" and n_results == 0
        else:
            assert trial_state == "completed" and n_results == 1, (trial_id, trial_state)
