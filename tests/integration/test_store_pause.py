"""The store contract of pausing and resuming a sweep (issue 15, item 2), on SQLite and
PostgreSQL: what a pause stops (claims), what it lets finish (running batches), idempotency,
refusal of an ended sweep, and cancelling a paused one.
"""

from __future__ import annotations

import pytest

from sweepd.errors import Conflict, NotFound
from sweepd.storage.store import Store
from sweepd.storage.transitions import start_sweeps
from tests.integration.conftest import FakeClock
from tests.integration.store_support import claim, item, keys, make_spec, scalar


def test_pause_sweep_pending_claims_nothing_of_it_but_still_of_another(store: Store,
                                                                        owner: int) -> None:
    paused, _ = store.submit_sweep(owner, make_spec(name="paused"))
    other, _ = store.submit_sweep(owner, make_spec(name="other"))
    record = store.pause_sweep(owner, paused.id)
    assert record.state == "paused" and record.counts["pending"] == 6
    assert store.count_pending() == 6  # the queue depth leaves the paused sweep out
    got = claim(store)
    assert len(got) == 6 and {t.spec.cell_key for t in got} == \
        {t.cell_key for t in make_spec(name="other").trials()}
    assert scalar(store, "SELECT count(*) FROM trials WHERE sweep_id = :s AND attempt > 0",
                  s=paused.id) == 0
    assert claim(store) == [] and store.get_sweep(owner, other.id).state == "running"
    assert store.get_sweep(owner, paused.id).state == "paused"


def test_resume_sweep_never_started_is_pending_and_claimed_again(store: Store,
                                                                  owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    store.pause_sweep(owner, sweep.id)
    resumed = store.resume_sweep(owner, sweep.id)
    assert resumed.state == "pending"
    assert len(claim(store)) == 6 and store.get_sweep(owner, sweep.id).state == "running"


def test_pause_sweep_running_lets_its_batch_finish_and_store_results(store: Store,
                                                                      owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    running = claim(store, 2)
    paused = store.pause_sweep(owner, sweep.id)
    assert paused.state == "paused" and paused.counts["running"] == 2
    assert store.record_results([item(t) for t in running]).accepted == [t.trial_id for t in running]
    after = store.get_sweep(owner, sweep.id)
    assert after.state == "paused" and after.counts["completed"] == 2
    assert after.counts["pending"] == 4 and claim(store) == []
    resumed = store.resume_sweep(owner, sweep.id)
    assert resumed.state == "running"  # some trials have run
    rest = claim(store)
    assert len(rest) == 4
    store.record_results([item(t) for t in rest])
    assert store.get_sweep(owner, sweep.id).state == "completed"


def test_pause_sweep_whose_last_batch_ends_closes_as_completed(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    running = claim(store)  # every trial: nothing is left pending
    store.pause_sweep(owner, sweep.id)
    store.record_results([item(t) for t in running])
    closed = store.get_sweep(owner, sweep.id)
    assert closed.state == "completed" and closed.finished_at is not None


def test_pause_sweep_expired_leases_go_back_to_pending_and_stay_unclaimed(
        store: Store, owner: int, clock: FakeClock) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    claim(store, 2, lease=10)
    store.pause_sweep(owner, sweep.id)
    clock.advance(11)
    assert len(store.reap_expired_leases()) == 2
    record = store.get_sweep(owner, sweep.id)
    assert record.state == "paused" and record.counts["pending"] == 6
    assert claim(store) == []


def test_pause_and_resume_sweep_twice_return_it_unchanged(store: Store, owner: int,
                                                         clock: FakeClock) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    first = store.pause_sweep(owner, sweep.id)
    clock.advance(5)
    again = store.pause_sweep(owner, sweep.id)
    assert again == first  # updated_at included: nothing changed
    resumed = store.resume_sweep(owner, sweep.id)
    clock.advance(5)
    assert store.resume_sweep(owner, sweep.id) == resumed
    claim(store, 1)
    running = store.get_sweep(owner, sweep.id)
    assert running.state == "running" and store.resume_sweep(owner, sweep.id) == running


@pytest.mark.parametrize("end", ["completed", "cancelled"])
def test_pause_and_resume_sweep_refuse_an_ended_sweep(store: Store, owner: int, end: str) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    if end == "completed":
        store.record_results([item(t) for t in claim(store)])
    else:
        store.cancel_sweep(owner, sweep.id)
    for action in (store.pause_sweep, store.resume_sweep):
        with pytest.raises(Conflict, match=f"has ended \\({end}\\)"):
            action(owner, sweep.id)
    assert store.get_sweep(owner, sweep.id).state == end


def test_pause_and_resume_sweep_of_another_owner_is_not_found(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    bob = store.create_user("bob").id
    for action in (store.pause_sweep, store.resume_sweep):
        with pytest.raises(NotFound):
            action(bob, sweep.id)
    with pytest.raises(NotFound):
        store.pause_sweep(owner, sweep.id + 99)
    assert store.get_sweep(owner, sweep.id).state == "pending"


def test_cancel_sweep_paused_cancels_its_open_trials(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    running = claim(store, 2)
    store.pause_sweep(owner, sweep.id)
    cancelled = store.cancel_sweep(owner, sweep.id)
    assert cancelled.state == "cancelled" and cancelled.counts["cancelled"] == 6
    assert store.record_results([item(t) for t in running]).rejected == [t.trial_id
                                                                          for t in running]
    with pytest.raises(Conflict):
        store.resume_sweep(owner, sweep.id)


def test_start_sweeps_leaves_a_paused_sweep_paused(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    store.pause_sweep(owner, sweep.id)
    with store._write() as session:
        start_sweeps(session, [sweep.id], store._clock())
    assert store.get_sweep(owner, sweep.id).state == "paused"


def test_release_trials_of_paused_sweep_keeps_it_paused(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec(max_attempts=1))
    running = claim(store, 2)
    store.pause_sweep(owner, sweep.id)
    store.release_trials(keys(running), "worker died", isolate=False)  # out of attempts
    record = store.get_sweep(owner, sweep.id)
    assert record.state == "paused" and record.counts["failed"] == 2
    assert record.counts["pending"] == 4
