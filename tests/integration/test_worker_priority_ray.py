"""The dispatcher's batches train at `SWEEPD_WORKER_NICE` on the real Ray workers, and each
store of their results calls `on_results` (the event streams' nudge) (issue 19)."""

from __future__ import annotations

import time

import pytest

from sweepd.settings import load_settings
from sweepd.spec import SweepSpec
from sweepd.submission import submit_sweep

pytestmark = pytest.mark.ray


@pytest.fixture
def store(real_clock_store):
    return real_clock_store


def test_batches_train_at_the_configured_niceness_and_their_results_nudge(store,
                                                                         ray_connected):
    from sweepd_workers.dispatcher import Dispatcher

    # 13: above the default 10 that earlier tests may have left the session's workers at.
    settings = load_settings(ray_address=ray_connected, poll_seconds=0.05, worker_nice=13)
    owner = store.create_user("alice").id
    spec = SweepSpec.model_validate({
        "name": "nice", "dataset": {"name": "moons", "n_samples": 200},
        "model": {"hidden": [4]}, "training": {"steps": 5},
        "seeds": {"start": 0, "count": 2}, "initializers": ["glorot_uniform"]})
    sweep, _ = submit_sweep(store, settings, owner, spec)
    dispatcher = Dispatcher(store, settings)
    stored: list[int] = []
    dispatcher.on_results = lambda: stored.append(dispatcher.stats.results_accepted)
    dispatcher.start()
    try:
        deadline = time.monotonic() + 120
        while store.get_sweep(owner, sweep.id).state != "completed":
            assert time.monotonic() < deadline, "the sweep did not complete"
            time.sleep(0.2)
    finally:
        dispatcher.stop()
    assert dispatcher.worker_nice is not None and dispatcher.worker_nice >= 13
    assert stored, "storing the results did not call on_results"
