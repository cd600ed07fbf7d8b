"""Worker faults against a real store and the session's Ray: kills, poison trials, zombies.

Each fault is armed deterministically (marker files read by the worker, or a signal sent to the
exact pid the worker announced) and each test asserts that the fault really fired.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import pytest

from sweepd.engine import run_batch
from tests.reliability.helpers import assert_integrity, moons_spec, wait_until

pytestmark = pytest.mark.ray


def _running_files(fault_dir: Path) -> list[Path]:
    return sorted(fault_dir.glob("running-*"))


def _announced(path: Path) -> tuple[int, list[str]]:
    pid, *keys = path.read_text().split("\n")
    return int(pid), [k for k in keys if k]


def _finished(store, owner: int, sweep_id: int) -> bool:
    return store.get_sweep(owner, sweep_id).state in ("completed", "failed", "cancelled")


def test_retry_trials_after_worker_killed_mid_batch(store, owner, dispatcher_factory, fault_dir):
    spec = moons_spec(seeds=2, steps=40_000)
    sweep, _ = store.submit_sweep(owner, spec)
    dispatcher = dispatcher_factory()
    dispatcher.start()

    wait_until(lambda: _running_files(fault_dir), 120, "a batch to start")
    victim = _running_files(fault_dir)[0]
    pid, killed_keys = _announced(victim)
    os.kill(pid, signal.SIGKILL)  # the fault: the Ray worker running this batch dies

    wait_until(lambda: _finished(store, owner, sweep.id), 300, "the sweep to finish")
    dispatcher.stop()
    assert dispatcher.stats.batches_failed >= 1  # the kill really hit a running batch
    assert_integrity(store, sweep.id, n_trials=4, max_attempts=3)

    trials, _ = store.list_trials(owner, sweep.id, limit=10, offset=0)
    killed = [t for t in trials if t.cell_key in killed_keys]
    assert killed and all(t.attempt >= 2 for t in killed)
    clean = {r.cell_key: r for r in run_batch([t for t in spec.trials()
                                                if t.cell_key in killed_keys])}
    for t in killed:  # bit for bit what an undisturbed run gives
        assert t.result.final_sha256 == clean[t.cell_key].final_sha256
        assert t.result.train_cost == clean[t.cell_key].train_cost


def test_fail_poison_trial_after_max_attempts_others_complete(store, owner, dispatcher_factory,
                                                              fault_dir):
    spec = moons_spec(seeds=3, steps=200, max_attempts=3)
    cells = spec.trials()
    poison = cells[1].cell_key
    (fault_dir / f"crash-{poison}").touch()
    sweep, _ = store.submit_sweep(owner, spec)
    dispatcher = dispatcher_factory()
    dispatcher.start()

    wait_until(lambda: _finished(store, owner, sweep.id), 300, "the sweep to finish")
    dispatcher.stop()
    fired = list(fault_dir.glob(f"fired-{poison}-*"))
    assert len(fired) == 3  # it died on every one of its three attempts

    trials, _ = store.list_trials(owner, sweep.id, limit=10, offset=0)
    bad = next(t for t in trials if t.cell_key == poison)
    assert bad.state == "failed" and bad.attempt == 3
    assert bad.error and ("Crashed" in bad.error or "died" in bad.error), bad.error
    assert_integrity(store, sweep.id, n_trials=6, max_attempts=3, failed={bad.id})
    # batch-mates were isolated after the first failure and completed on their next attempt
    assert all(t.attempt <= 2 for t in trials if t.id != bad.id)


def test_reject_late_result_of_zombie_worker(store, owner, dispatcher_factory, fault_dir,
                                             caplog):
    spec = moons_spec(seeds=1, steps=30_000, inits=["glorot_uniform"])
    sweep, _ = store.submit_sweep(owner, spec)
    dispatcher = dispatcher_factory(lease_seconds=3.0)
    caplog.set_level(logging.WARNING)
    dispatcher.start()

    wait_until(lambda: _running_files(fault_dir), 120, "the batch to start")
    pid, _ = _announced(_running_files(fault_dir)[0])
    os.kill(pid, signal.SIGSTOP)  # frozen: no heartbeats, but the task is not failed
    try:
        wait_until(lambda: store.list_trials(owner, sweep.id, limit=1, offset=0)[0][0].attempt
                   >= 2, 60, "the frozen trial to be claimed again")
        wait_until(lambda: _finished(store, owner, sweep.id), 300, "the re-run to finish")
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: dispatcher.stats.results_rejected >= 1, 120,
               "the zombie's late report")
    dispatcher.stop()

    assert dispatcher.stats.leases_reaped >= 1
    assert any("fencing rejected" in r.getMessage() for r in caplog.records)
    trial = store.list_trials(owner, sweep.id, limit=1, offset=0)[0][0]
    assert trial.attempt == 2 and trial.state == "completed"
    assert_integrity(store, sweep.id, n_trials=1, max_attempts=3)
