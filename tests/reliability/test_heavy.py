"""Heavier variants, run by hand: `pytest -m heavy tests/reliability`."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.reliability.helpers import assert_integrity, moons_spec, wait_until

pytestmark = [pytest.mark.ray, pytest.mark.heavy]


def test_survive_repeated_worker_kills_on_a_larger_sweep(store, owner, dispatcher_factory,
                                                         fault_dir):
    spec = moons_spec(seeds=16, steps=20_000, max_attempts=5,
                      inits=["glorot_uniform", "he_normal", "lecun_normal", "orthogonal"])
    sweep, _ = store.submit_sweep(owner, spec)
    dispatcher = dispatcher_factory()
    dispatcher.start()
    killed: set[str] = set()
    deadline = time.monotonic() + 900
    while len(killed) < 3 and time.monotonic() < deadline:
        for path in fault_dir.glob("running-*"):
            if path.name in killed:
                continue
            if len(killed) == 3:  # two batches may start between looks: kill three, no more
                break
            pid = int(path.read_text().split("\n")[0])
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(path.name)
            except ProcessLookupError:
                pass
        time.sleep(1.0)
    wait_until(lambda: store.get_sweep(owner, sweep.id).state in ("completed", "failed"),
               1800, "the sweep to finish")
    dispatcher.stop()
    assert len(killed) == 3 and dispatcher.stats.batches_failed >= 3
    assert_integrity(store, sweep.id, n_trials=64, max_attempts=5)
