"""Pause and resume with the real dispatcher on the session's Ray (issue 15, item 2).

A paused sweep's batches that were running finish and are stored; after that its counts stay
frozen over many dispatcher periods while trials are still pending; resumed, it runs to
completion. Paused survives a restart: a new store, dispatcher and app on the same SQLite file
read it as paused and claim nothing of it (while they do run another sweep) until resumed.
Batches hold one trial each (`batch_max_cpu=1`), so a pause always leaves trials pending.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from sweepd.settings import Settings, load_settings
from sweepd.storage import open_store
from sweepd_api import create_app
from sweepd_workers.dispatcher import Dispatcher
from tests.reliability.helpers import assert_integrity, moons_spec, wait_until

pytestmark = [pytest.mark.ray, pytest.mark.timeout(600)]

N_TRIALS = 10  # 5 seeds × 2 initializers, about a second of training each
POLLS = 4  # counts read this many times, a second apart, while paused


def _spec(name: str = "paused"):
    return moons_spec(seeds=N_TRIALS // 2, steps=10_000, name=name)


def _attempts(store, owner: int, sweep_id: int) -> dict[int, tuple[str, int]]:
    trials, _ = store.list_trials(owner, sweep_id, limit=1000, offset=0)
    return {t.id: (t.state, t.attempt) for t in trials}


def _pause_after_first_results(store, owner: int, sweep_id: int) -> set[int]:
    """Pause once a trial has completed; return the trials running at that moment, after
    waiting for them to finish."""
    wait_until(lambda: store.get_sweep(owner, sweep_id).counts["completed"] >= 1, 180,
               "a first trial to complete")
    paused = store.pause_sweep(owner, sweep_id)
    assert paused.state == "paused"
    running, _ = store.list_trials(owner, sweep_id, state="running", limit=1000, offset=0)
    wait_until(lambda: store.get_sweep(owner, sweep_id).counts["running"] == 0, 120,
               "the running batches to finish")
    return {t.id for t in running}


def _assert_frozen(store, owner: int, sweep_id: int, dispatcher: Dispatcher) -> dict:
    """The sweep's counts and every trial's attempt stay as they are over POLLS polls a second
    apart (each spanning about twenty dispatcher periods), with trials still pending."""
    seen = []
    for _ in range(POLLS):
        sweep = store.get_sweep(owner, sweep_id)
        seen.append((sweep.state, sweep.counts, _attempts(store, owner, sweep_id),
                     dispatcher.stats.batches_submitted))
        time.sleep(1.0)
    assert all(s == seen[0] for s in seen), seen
    state, counts, _, _ = seen[0]
    assert state == "paused" and counts["pending"] > 0 and counts["running"] == 0
    return counts


def _options(**overrides):
    return {"lease_seconds": 4.0, "reap_interval_seconds": 0.5, "poll_seconds": 0.05,
            "batch_max_cpu": 1, **overrides}


def test_pause_sweep_freezes_counts_over_dispatcher_periods_then_resume_completes(
        store, owner, dispatcher_factory):
    sweep, _ = store.submit_sweep(owner, _spec())
    dispatcher = dispatcher_factory(batch_max_cpu=1)
    dispatcher.start()
    finished_while_pausing = _pause_after_first_results(store, owner, sweep.id)
    trials = {t.id: t for t in store.list_trials(owner, sweep.id, limit=1000, offset=0)[0]}
    for trial_id in finished_while_pausing:  # running when paused: finished and stored
        assert trials[trial_id].state == "completed" and trials[trial_id].result is not None
    counts = _assert_frozen(store, owner, sweep.id, dispatcher)
    assert counts["completed"] + counts["pending"] == N_TRIALS

    assert store.resume_sweep(owner, sweep.id).state == "running"
    wait_until(lambda: store.get_sweep(owner, sweep.id).state == "completed", 300,
               "the resumed sweep to complete")
    dispatcher.stop()
    assert_integrity(store, sweep.id, n_trials=N_TRIALS, max_attempts=3)


def test_paused_sweep_stays_paused_across_a_restart_until_resumed(
        tmp_path, store, owner, dispatcher_factory, ray_connected):
    sweep, _ = store.submit_sweep(owner, _spec())
    first = dispatcher_factory(batch_max_cpu=1)
    first.start()
    _pause_after_first_results(store, owner, sweep.id)
    before = store.get_sweep(owner, sweep.id).counts
    attempts = _attempts(store, owner, sweep.id)
    first.stop()
    store.dispose()

    # The restart: a new store, dispatcher and app over the same SQLite file.
    again = open_store(f"sqlite:///{tmp_path / 'sweepd.db'}", auto_migrate=False)
    second = Dispatcher(again, load_settings(ray_address=ray_connected, **_options()))
    (tmp_path / "app").mkdir()
    settings = Settings(data_dir=tmp_path / "app", trusted_hosts="testserver")
    token = again.create_token(owner, "after-restart")[1]
    try:
        second.start()
        other, _ = again.submit_sweep(owner, _spec("runs-meanwhile"))
        with TestClient(create_app(settings, again),
                        headers={"Authorization": f"Bearer {token}"}) as api:
            shown = api.get(f"/api/v1/sweeps/{sweep.id}").json()
            assert shown["state"] == "paused" and shown["counts"] == before
            wait_until(lambda: again.get_sweep(owner, other.id).state == "completed", 300,
                       "the other sweep to complete after the restart")
            assert second.status()["leader"]  # the new dispatcher leads and claims
            assert _assert_frozen(again, owner, sweep.id, second) == before
            assert _attempts(again, owner, sweep.id) == attempts  # nothing of it was claimed

            assert api.post(f"/api/v1/sweeps/{sweep.id}/resume").json()["state"] == "running"
            wait_until(lambda: again.get_sweep(owner, sweep.id).state == "completed", 300,
                       "the resumed sweep to complete")
        assert_integrity(again, sweep.id, n_trials=N_TRIALS, max_attempts=3)
    finally:
        second.stop()
        again.dispose()
