"""The dispatch loop's pace (issue 19): it wakes when a batch finishes, not at its next poll."""

from __future__ import annotations

import time

import pytest

from tests.reliability.helpers import assert_integrity, moons_spec, wait_until

pytestmark = pytest.mark.ray


def test_dispatcher_starts_the_next_batch_when_one_finishes_not_at_the_next_poll(
        store, owner, dispatcher_factory):
    # Six batches of one trial on the session's two CPUs: at least three rounds of collecting
    # and submitting. With a minute between polls they could only finish in time if the loop
    # wakes on the batches' results; a fixed sleep would take two minutes or more.
    sweep, _ = store.submit_sweep(owner, moons_spec(seeds=3, steps=50))
    dispatcher = dispatcher_factory(poll_seconds=60.0, batch_max_cpu=1, lease_seconds=600.0)
    dispatcher.start()
    wait_until(lambda: store.get_sweep(owner, sweep.id).state == "completed", 50,
               "the sweep to finish between two polls")
    dispatcher.stop()
    assert dispatcher.stats.batches_finished == 6
    assert_integrity(store, sweep.id, n_trials=6, max_attempts=3)


def test_dispatcher_refills_a_freed_core_before_storing_its_results(store, owner,
                                                                     dispatcher_factory):
    # When a batch's results are stored while trials wait, the core it freed already has its
    # next batch: storing first left the core idle for the whole write.
    sweep, _ = store.submit_sweep(owner, moons_spec(seeds=4, steps=50))
    dispatcher = dispatcher_factory(batch_max_cpu=1)
    seen: list[tuple[int, int]] = []  # (pending trials, batches in flight) at each store
    real = store.record_results

    def recording(items):
        seen.append((store.count_pending(), len(dispatcher._inflight)))
        return real(items)

    store.record_results = recording
    try:
        dispatcher.start()
        wait_until(lambda: store.get_sweep(owner, sweep.id).state == "completed", 120,
                   "the sweep to finish")
        dispatcher.stop()
    finally:
        del store.record_results
    slots = dispatcher.status()["slots"]
    while_waiting = [inflight for pending, inflight in seen if pending > 0]
    assert slots == 2 and while_waiting, seen
    assert all(inflight == slots for inflight in while_waiting), seen


def test_an_idle_dispatcher_claims_a_new_sweep_when_woken_not_at_its_next_poll(
        store, owner, dispatcher_factory):
    # A minute between polls: the sweep submitted while the loop idles can only finish in time
    # if `wake` (what the service's submit route calls) ends the wait.
    dispatcher = dispatcher_factory(poll_seconds=60.0, lease_seconds=600.0)
    dispatcher.start()
    wait_until(lambda: dispatcher.status()["dispatcher"] == "running", 60, "Ray to connect")
    wait_until(lambda: dispatcher._leader, 10, "the first tick")
    time.sleep(1.0)  # the loop is in its idle wait now: nothing was pending at its tick
    sweep, _ = store.submit_sweep(owner, moons_spec(seeds=1, steps=50))
    dispatcher.wake()
    wait_until(lambda: store.get_sweep(owner, sweep.id).state == "completed", 40,
               "the woken dispatcher to run the sweep")
    dispatcher.stop()
    assert_integrity(store, sweep.id, n_trials=2, max_attempts=3)
