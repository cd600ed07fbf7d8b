"""The store contract for the dispatcher: claims, fencing, releases, leases, leadership, cancel;
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa

from sweepd.storage.store import Store
from sweepd.storage.store_dispatch import LEASE_EXPIRED
from tests.integration.store_support import (
    ALL_PENDING,
    claim,
    flat,
    in_threads,
    item,
    keys,
    make_spec,
    scalar,
)


def test_claim_trials_groups_batches_by_sweep_and_batch_key(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec(grid={"training.learning_rate": [0.1, 0.5]}))
    batches = store.claim_trials(holder="d1", max_trials=100, max_batch=4, lease_seconds=60)
    assert sum(len(b.trials) for b in batches) == 12
    assert all(1 <= len(b.trials) <= 4 for b in batches)
    assert len({b.batch_key for b in batches}) == 2
    for batch in batches:
        rates = {t.spec.training.learning_rate for t in batch.trials}
        assert len(rates) == 1 and batch.sweep_id == sweep.id
        assert all(t.spec.batch_key == batch.batch_key and t.attempt == 1 for t in batch.trials)
    after = store.get_sweep(owner, sweep.id)
    assert after.state == "running" and after.counts["running"] == 12


def test_claim_trials_rebuilds_each_trials_spec(store: Store, owner: int) -> None:
    spec = make_spec(initializers=("he_normal", {"name": "random_normal", "stddev": 0.01}))
    store.submit_sweep(owner, spec)
    rebuilt = {t.spec.cell_key: t.spec for t in claim(store)}
    assert rebuilt == {t.cell_key: t for t in spec.trials()}


def test_claim_trials_serves_sweeps_first_in_first_out(store: Store, owner: int) -> None:
    first, _ = store.submit_sweep(owner, make_spec(name="first"))
    second, _ = store.submit_sweep(owner, make_spec(name="second"))
    got = store.claim_trials(holder="d1", max_trials=7, max_batch=100, lease_seconds=60)
    ids = [t.trial_id for t in flat(got)]
    assert [b.sweep_id for b in got] == [first.id, second.id]
    assert ids == sorted(ids) and len(ids) == 7
    assert store.count_pending() == 5


def test_claim_trials_from_concurrent_claimers_never_shares_a_trial(store: Store,
                                                                     owner: int) -> None:
    store.submit_sweep(owner, make_spec(seeds=20))

    def drain(i: int) -> list[int]:
        mine: list[int] = []
        while got := claim(store, 3, holder=f"d{i}"):
            mine += [t.trial_id for t in got]
        return mine

    claims = in_threads(4, drain)
    every = [trial_id for mine in claims for trial_id in mine]
    assert len(every) == 40 and len(set(every)) == 40
    assert store.count_pending() == 0


def test_claim_trials_puts_isolated_trials_in_batches_of_one(store: Store, owner: int) -> None:
    store.submit_sweep(owner, make_spec())
    first = store.claim_trials(holder="d1", max_trials=100, max_batch=100, lease_seconds=60)
    assert [len(b.trials) for b in first] == [6]
    store.release_trials(keys(flat(first)), "worker died", isolate=True)
    again = store.claim_trials(holder="d1", max_trials=100, max_batch=100, lease_seconds=60)
    assert [len(b.trials) for b in again] == [1] * 6
    assert all(t.attempt == 2 for t in flat(again))


# -- results and fencing ----------------------------------------------------------------------


def test_record_results_completes_trial_with_node_and_device(store: Store, owner: int,
                                                             clock: Any) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    trial = claim(store, 1)[0]
    fenced = store.record_results([item(trial)])
    stored = store.get_trial(owner, sweep.id, trial.trial_id)
    assert fenced.accepted == [trial.trial_id] and fenced.rejected == []
    assert (stored.state, stored.attempt, stored.progress) == ("completed", 1, 1.0)
    assert (stored.node, stored.device, stored.finished_at) == ("node-1", "cpu", clock())
    assert stored.result is not None and stored.result.test_accuracy == 0.9
    assert stored.result.curve == [0.7, None, 0.1] and stored.result.environment["torch"]


def test_record_results_rejects_stale_attempt(store: Store, owner: int,
                                              caplog: pytest.LogCaptureFixture) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec(seeds=1, initializers=("he_normal",)))
    old = claim(store)[0]
    store.release_trials(keys([old]), "lease lost", isolate=False)
    new = claim(store)[0]
    assert (old.trial_id, old.attempt, new.attempt) == (new.trial_id, 1, 2)
    with caplog.at_level(logging.WARNING, logger="sweepd.storage"):
        late = store.record_results([item(old, accuracy=0.1)])
    assert late.rejected == [old.trial_id] and late.accepted == []
    assert f"rejected stale result trial={old.trial_id} attempt=1" in caplog.text
    assert store.record_results([item(new)]).accepted == [new.trial_id]
    assert store.record_results([item(new, accuracy=0.2)]).rejected == [new.trial_id]
    stored = store.get_trial(owner, sweep.id, new.trial_id)
    assert stored.result is not None and stored.result.test_accuracy == 0.9
    assert scalar(store, "SELECT count(*) FROM results") == 1


def test_results_table_refuses_a_second_result_for_a_trial(store: Store, owner: int) -> None:
    store.submit_sweep(owner, make_spec())
    store.record_results([item(t) for t in claim(store, 1)])
    copy = ("INSERT INTO results SELECT * FROM results")
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(sa.text(copy))
    assert scalar(store, "SELECT count(*) FROM results") == 1


def test_record_results_rejects_weights_that_do_not_match_their_sha256(store: Store,
                                                                      owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    good, bad = claim(store, 2)
    fenced = store.record_results([item(good), item(bad, corrupt=True)])
    assert fenced.accepted == [good.trial_id] and fenced.rejected == [bad.trial_id]
    assert store.get_trial(owner, sweep.id, bad.trial_id).state == "running"


def test_release_trials_fails_trial_after_max_attempts(store: Store, owner: int) -> None:
    spec = make_spec(seeds=1, initializers=("he_normal",), max_attempts=2)
    sweep, _ = store.submit_sweep(owner, spec)
    store.release_trials(keys(claim(store)), "boom 1", isolate=False)
    retried = store.list_trials(owner, sweep.id, limit=1, offset=0)[0][0]
    assert (retried.state, retried.attempt, retried.error) == ("pending", 1, "boom 1")
    store.release_trials(keys(claim(store)), "boom 2", isolate=False)
    failed = store.get_trial(owner, sweep.id, retried.id)
    assert (failed.state, failed.attempt, failed.error) == ("failed", 2, "boom 2")
    assert failed.finished_at is not None
    assert claim(store) == []
    closed = store.get_sweep(owner, sweep.id)
    assert closed.state == "failed" and closed.finished_at is not None and closed.progress == 1


def test_release_trials_ignores_stale_attempts(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    trial = claim(store, 1)[0]
    store.release_trials([(trial.trial_id, trial.attempt - 1)], "stale", isolate=True)
    stored = store.get_trial(owner, sweep.id, trial.trial_id)
    assert (stored.state, stored.error) == ("running", None)


# -- leases -----------------------------------------------------------------------------------


def test_reap_expired_leases_returns_trials_to_pending(store: Store, owner: int,
                                                       clock: Any) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    kept, lost = claim(store, 2, lease=30)
    clock.advance(10)
    assert store.reap_expired_leases() == []
    assert store.renew_leases(keys([kept]), 30) == 1
    clock.advance(25)
    assert store.reap_expired_leases() == [lost.trial_id]
    reaped = store.get_trial(owner, sweep.id, lost.trial_id)
    assert (reaped.state, reaped.attempt, reaped.error) == ("pending", 1, LEASE_EXPIRED)
    assert store.get_trial(owner, sweep.id, kept.trial_id).state == "running"
    assert claim(store, 1)[0].attempt == 2


def test_renew_leases_counts_only_current_attempts(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    trial = claim(store, 1)[0]
    assert store.renew_leases([(trial.trial_id, 7)], 30, {trial.trial_id: 0.9}) == 0
    assert store.renew_leases(keys([trial]), 30, {trial.trial_id: 0.25}) == 1
    assert store.get_trial(owner, sweep.id, trial.trial_id).progress == 0.25


def test_release_orphans_releases_trials_of_other_holders(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    dead = claim(store, 2, holder="old-leader")
    alive = claim(store, 2, holder="new-leader")
    assert store.release_orphans("new-leader") == 2
    states = {t.id: t.state for t in store.list_trials(owner, sweep.id, limit=10, offset=0)[0]}
    assert [states[t.trial_id] for t in dead] == ["pending", "pending"]
    assert [states[t.trial_id] for t in alive] == ["running", "running"]


def test_acquire_leadership_is_exclusive_until_the_lease_expires(store: Store,
                                                                 clock: Any) -> None:
    assert store.acquire_leadership("a", 30)
    assert not store.acquire_leadership("b", 30)
    clock.advance(20)
    assert store.acquire_leadership("a", 30)
    clock.advance(20)
    assert not store.acquire_leadership("b", 30)
    clock.advance(11)
    assert store.acquire_leadership("b", 30)
    assert not store.acquire_leadership("a", 30)


def test_acquire_leadership_race_has_one_winner(store: Store) -> None:
    won = in_threads(10, lambda i: store.acquire_leadership(f"dispatcher-{i}", 30))
    assert sum(won) == 1


def test_release_leadership_lets_a_successor_lead_at_once(store: Store, clock: Any) -> None:
    assert store.acquire_leadership("a", 30)
    store.release_leadership("a")
    clock.advance(0.001)
    assert store.acquire_leadership("b", 30)


# -- cancellation and sweep states ------------------------------------------------------------


def test_cancel_sweep_cancels_open_trials_and_rejects_late_results(store: Store,
                                                                  owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    done, late = claim(store, 2)
    store.record_results([item(done)])
    cancelled = store.cancel_sweep(owner, sweep.id)
    assert cancelled.state == "cancelled" and cancelled.finished_at is not None
    assert cancelled.counts == {**ALL_PENDING, "pending": 0, "completed": 1, "cancelled": 5}
    assert store.record_results([item(late)]).rejected == [late.trial_id]
    assert claim(store) == [] and store.count_pending() == 0
    assert store.cancelled_sweep_ids([sweep.id, sweep.id + 1]) == {sweep.id}
    assert store.get_trial(owner, sweep.id, done.trial_id).state == "completed"


def test_cancel_sweep_leaves_a_finished_sweep_as_it_is(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec(seeds=1, initializers=("he_normal",)))
    store.record_results([item(t) for t in claim(store)])
    again = store.cancel_sweep(owner, sweep.id)
    assert again.state == "completed" and again.counts["completed"] == 1
    assert store.cancelled_sweep_ids([sweep.id]) == set()
