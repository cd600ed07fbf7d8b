"""The store contract (docs/architecture.md, "Store"), run on SQLite and on PostgreSQL.

Every test takes the `store` fixture, which is parametrised over both backends; results are
built by hand (small safetensors weights), so neither Ray nor torch is involved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
import sqlalchemy as sa
from safetensors.numpy import load as load_safetensors

from sweepd.errors import Conflict, InvalidSpec, NotFound
from sweepd.results import TrialResult
from sweepd.spec import SweepSpec
from sweepd.storage.database import create_engine
from sweepd.storage.records import ClaimedBatch, ClaimedTrial, ResultItem
from sweepd.storage.store import Store
from sweepd.storage.store_auth import hash_token
from sweepd.storage.store_dispatch import LEASE_EXPIRED
from sweepd.weights import pack, sha256

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


def test_submit_sweep_expands_every_cell_once(store: Store, owner: int) -> None:
    spec = make_spec(seeds=4, grid={"training.learning_rate": [0.1, 0.5]})
    sweep, created = store.submit_sweep(owner, spec)
    trials, total = store.list_trials(owner, sweep.id, limit=100, offset=0)
    assert created and sweep.state == "pending" and sweep.n_trials == 16 and total == 16
    assert sweep.counts == {**ALL_PENDING, "pending": 16}
    assert {t.cell_key for t in trials} == {t.cell_key for t in spec.trials()}
    cells = {(t.seed, t.initializer_label, t.params["training.learning_rate"]) for t in trials}
    assert len(cells) == 16
    assert all(t.attempt == 0 and t.max_attempts == 3 and t.result is None for t in trials)


def test_trials_table_refuses_a_second_row_for_one_cell(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    copy = ("INSERT INTO trials (sweep_id, cell_key, batch_key, seed, initializer, "
            "initializer_label, params, state, attempt, isolate, progress) SELECT sweep_id, "
            "cell_key, batch_key, seed, initializer, initializer_label, params, state, attempt, "
            "isolate, progress FROM trials WHERE sweep_id = :s")
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(sa.text(copy), {"s": sweep.id})
    assert scalar(store, "SELECT count(*) FROM trials") == 6


def test_submit_sweep_returns_stored_sweep_for_same_key_and_body(store: Store, owner: int) -> None:
    first, created = store.submit_sweep(owner, make_spec(), idempotency_key="k1", body_hash="h")
    again, created_again = store.submit_sweep(owner, make_spec(), idempotency_key="k1",
                                              body_hash="h")
    assert created and not created_again and again.id == first.id
    assert again.idempotency_key == "k1"
    assert scalar(store, "SELECT count(*) FROM trials") == 6


def test_submit_sweep_raises_conflict_for_same_key_other_body(store: Store, owner: int) -> None:
    store.submit_sweep(owner, make_spec(), idempotency_key="k1")
    with pytest.raises(Conflict, match="k1"):
        store.submit_sweep(owner, make_spec(seeds=5), idempotency_key="k1")
    assert scalar(store, "SELECT count(*) FROM sweeps") == 1


def test_submit_sweep_scopes_idempotency_keys_per_owner(store: Store, owner: int) -> None:
    bob = store.create_user("bob").id
    mine, _ = store.submit_sweep(owner, make_spec(), idempotency_key="k1")
    theirs, created = store.submit_sweep(bob, make_spec(), idempotency_key="k1")
    assert created and theirs.id != mine.id and theirs.owner_id == bob


def test_submit_sweep_race_on_one_key_stores_one_sweep(store: Store, owner: int) -> None:
    spec = make_spec()
    outcomes = in_threads(20, lambda _: store.submit_sweep(owner, spec, idempotency_key="race",
                                                           body_hash="h"))
    assert len({sweep.id for sweep, _ in outcomes}) == 1
    assert sum(created for _, created in outcomes) == 1
    assert scalar(store, "SELECT count(*) FROM sweeps") == 1
    assert scalar(store, "SELECT count(*) FROM trials") == 6


def test_submit_sweep_for_unknown_owner_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.submit_sweep(404, make_spec())
    assert scalar(store, "SELECT count(*) FROM sweeps") == 0


# -- owner isolation --------------------------------------------------------------------------


def test_reading_another_owners_sweep_raises_not_found(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    store.record_results([item(t) for t in claim(store, 1)])
    trial_id = store.list_trials(owner, sweep.id, limit=1, offset=0)[0][0].id
    bob = store.create_user("bob").id
    calls = [
        lambda: store.get_sweep(bob, sweep.id), lambda: store.cancel_sweep(bob, sweep.id),
        lambda: store.list_trials(bob, sweep.id, limit=10, offset=0),
        lambda: store.get_trial(bob, sweep.id, trial_id),
        lambda: store.get_weights(bob, sweep.id, trial_id),
        lambda: store.sweep_results(bob, sweep.id),
        lambda: store.trial_events(bob, sweep.id, after=None),
    ]
    for call in calls:
        with pytest.raises(NotFound) as caught:
            call()
        assert caught.value.detail.startswith(f"sweep {sweep.id} not found")
    with pytest.raises(NotFound) as missing:
        store.get_sweep(owner, sweep.id + 1000)
    assert missing.value.detail == f"sweep {sweep.id + 1000} not found"
    assert store.list_sweeps(bob, limit=10, offset=0) == ([], 0)
    assert store.get_sweep(owner, sweep.id).state == "running"


def test_get_trial_through_another_sweep_raises_not_found(store: Store, owner: int) -> None:
    first, _ = store.submit_sweep(owner, make_spec(name="a"))
    second, _ = store.submit_sweep(owner, make_spec(name="b"))
    trial_id = store.list_trials(owner, first.id, limit=1, offset=0)[0][0].id
    with pytest.raises(NotFound, match=f"trial {trial_id} of sweep {second.id}"):
        store.get_trial(owner, second.id, trial_id)


# -- claims -----------------------------------------------------------------------------------


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


def test_sweep_state_moves_from_pending_through_running_to_completed(store: Store, owner: int,
                                                                     clock: Any) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec(seeds=1))
    assert (sweep.state, sweep.finished_at) == ("pending", None)
    first, second = claim(store)
    clock.advance(5)
    store.record_results([item(first)])
    running = store.get_sweep(owner, sweep.id)
    assert running.state == "running" and running.updated_at == clock()
    store.release_trials(keys([second]), "oom", isolate=False)
    store.record_results([item(t) for t in claim(store)])
    done = store.get_sweep(owner, sweep.id)
    assert done.state == "completed" and done.finished_at == clock() and done.progress == 1.0


def test_sweep_with_some_failed_trials_completes(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec(seeds=1, max_attempts=1))
    good, bad = claim(store)
    store.release_trials(keys([bad]), "diverged into NaN", isolate=False)
    store.record_results([item(good)])
    done = store.get_sweep(owner, sweep.id)
    assert done.state == "completed" and done.counts["failed"] == 1


def test_get_sweep_counts_running_trials_partial_progress(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec(seeds=2))
    done, halfway = claim(store, 2)
    store.record_results([item(done)])
    store.renew_leases(keys([halfway]), 60, {halfway.trial_id: 0.5})
    now = store.get_sweep(owner, sweep.id)
    assert now.counts == {**ALL_PENDING, "pending": 2, "running": 1, "completed": 1}
    assert now.progress == pytest.approx((1 + 0.5) / 4)


# -- listing ----------------------------------------------------------------------------------


def test_list_trials_filters_by_state_initializer_and_seed(store: Store, owner: int) -> None:
    spec = make_spec(initializers=("he_normal", {"name": "random_normal", "stddev": 0.01}))
    sweep, _ = store.submit_sweep(owner, spec)
    store.record_results([item(t) for t in claim(store, 2)])

    def ids(**filters: Any) -> set[tuple[int, str]]:
        page, total = store.list_trials(owner, sweep.id, limit=100, offset=0, **filters)
        assert total == len(page)
        return {(t.seed, t.initializer_label) for t in page}

    assert ids(state="completed") == {(0, "he_normal"), (0, "random_normal(stddev=0.01)")}
    assert ids(initializer="he_normal") == {(s, "he_normal") for s in range(3)}
    assert ids(seed=2) == {(2, "he_normal"), (2, "random_normal(stddev=0.01)")}
    assert ids(state="pending", seed=0) == set()
    with pytest.raises(InvalidSpec):
        store.list_trials(owner, sweep.id, state="sleeping", limit=10, offset=0)


def test_list_trials_pages_in_id_order_with_results(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec(seeds=5))
    store.record_results([item(t) for t in claim(store, 1)])
    pages = [store.list_trials(owner, sweep.id, limit=4, offset=o) for o in (0, 4, 8)]
    ids = [t.id for page, _ in pages for t in page]
    assert [len(page) for page, _ in pages] == [4, 4, 2] and {n for _, n in pages} == {10}
    assert ids == sorted(ids) and len(set(ids)) == 10
    assert pages[0][0][0].result is not None and pages[0][0][1].result is None


def test_list_sweeps_pages_newest_first_with_total(store: Store, owner: int) -> None:
    made = [store.submit_sweep(owner, make_spec(name=f"s{i}"))[0].id for i in range(5)]
    first, total = store.list_sweeps(owner, limit=2, offset=0)
    rest, _ = store.list_sweeps(owner, limit=10, offset=2)
    assert total == 5 and [s.id for s in first + rest] == made[::-1]
    assert first[0].counts == ALL_PENDING
    with pytest.raises(InvalidSpec):
        store.list_sweeps(owner, limit=-1, offset=0)


# -- weights and results ----------------------------------------------------------------------


def test_get_weights_round_trips_bytes_and_sha256(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    with_initial, without_initial, unfinished = claim(store, 3)
    sent = item(with_initial)
    store.record_results([sent, item(without_initial, initial=False)])
    final, digest = store.get_weights(owner, sweep.id, with_initial.trial_id)
    assert final == sent.result.final_weights and digest == sha256(final)
    assert digest == store.get_trial(owner, sweep.id, with_initial.trial_id).result.final_sha256
    assert load_safetensors(final)["layers.0.kernel"].shape == (2, 3)
    start, start_digest = store.get_weights(owner, sweep.id, with_initial.trial_id, "initial")
    assert start == sent.result.initial_weights and start_digest == sha256(start)
    with pytest.raises(NotFound, match="initial weights"):
        store.get_weights(owner, sweep.id, without_initial.trial_id, "initial")
    with pytest.raises(NotFound, match="final weights"):
        store.get_weights(owner, sweep.id, unfinished.trial_id)


def test_sweep_results_returns_completed_trials_with_final_weights(store: Store,
                                                                  owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    trials = claim(store, 3)
    store.record_results([item(t) for t in trials[:2]])
    results = store.sweep_results(owner, sweep.id)
    assert [r.id for r, _ in results] == [t.trial_id for t in trials[:2]]
    assert all(sha256(data) == r.result.final_sha256 for r, data in results)


def test_trial_events_cursor_returns_each_finished_trial_once(store: Store, owner: int,
                                                             clock: Any) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    trials = claim(store, 5)
    store.record_results([item(t) for t in trials[:3]])  # three at one timestamp
    clock.advance(1)
    store.release_trials(keys(trials[3:4]), "oom", isolate=False)
    store.record_results([item(trials[4])])
    seen, cursor = [], None
    while page := store.trial_events(owner, sweep.id, after=cursor, limit=2):
        seen += [t.id for t in page]
        cursor = (page[-1].finished_at, page[-1].id)
    assert seen == [t.trial_id for t in trials[:3]] + [trials[4].trial_id]
    clock.advance(1)
    store.cancel_sweep(owner, sweep.id)
    cancelled = store.trial_events(owner, sweep.id, after=cursor)
    assert len(cancelled) == 2 and {t.state for t in cancelled} == {"cancelled"}


def test_store_returns_timezone_aware_utc_timestamps(store: Store, owner: int,
                                                     clock: Any) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    trial = claim(store, 1)[0]
    store.record_results([item(trial)])
    stored = store.get_trial(owner, sweep.id, trial.trial_id)
    stamps = [store.get_sweep(owner, sweep.id).created_at, stored.started_at,
              stored.finished_at, stored.result.created_at]
    assert all(s is not None and s.utcoffset().total_seconds() == 0 for s in stamps)
    assert stamps == [clock()] * 4


# -- users and tokens -------------------------------------------------------------------------


def test_authenticate_accepts_live_tokens_only(store: Store, owner: int) -> None:
    record, raw = store.create_token(owner, "laptop")
    assert raw.startswith("swd_") and record.prefix == raw[:8] and record.user_id == owner
    user = store.authenticate(raw)
    assert user is not None and user.id == owner and user.name == "alice"
    assert store.authenticate(raw + "x") is None and store.authenticate("") is None
    store.revoke_token(record.id)
    assert store.authenticate(raw) is None
    assert store.list_tokens(owner)[0].revoked_at is not None
    with pytest.raises(NotFound):
        store.revoke_token(record.id + 100)


def test_create_token_stores_only_the_hash(store: Store, owner: int) -> None:
    _, raw = store.create_token(owner, "ci")
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM api_tokens")).all()
    assert [r.token_hash for r in rows] == [hash_token(raw)]
    assert not any(raw in str(value) for row in rows for value in row)


def test_authenticate_records_last_use_at_most_once_a_minute(store: Store, owner: int,
                                                             clock: Any) -> None:
    _, raw = store.create_token(owner, "ci")

    def last_used() -> Any:
        return scalar(store, "SELECT last_used_at FROM api_tokens")

    store.authenticate(raw)
    first = last_used()
    clock.advance(30)
    store.authenticate(raw)
    assert first is not None and last_used() == first
    clock.advance(31)
    store.authenticate(raw)
    assert last_used() != first


def test_create_user_with_a_taken_name_raises_conflict(store: Store, owner: int) -> None:
    with pytest.raises(Conflict):
        store.create_user("alice")
    assert store.count_users() == 1
    assert store.find_user("alice").id == owner and store.find_user("nobody") is None
    with pytest.raises(NotFound):
        store.create_token(owner + 100, "orphan")


# -- SQLite under contention (invariant 8) -----------------------------------------------------


def test_record_results_during_a_long_read_never_reports_locked(sqlite_template: Path,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    path.write_bytes(sqlite_template.read_bytes())
    engine = create_engine(f"sqlite:///{path}")
    store = Store(engine)
    owner = store.create_user("alice").id
    store.submit_sweep(owner, make_spec(seeds=25))
    trials = claim(store)
    with engine.connect() as reader:
        reader.begin()
        before = reader.execute(sa.text("SELECT count(*) FROM results")).scalar()
        outcomes = in_threads(50, lambda i: store.record_results([item(trials[i])]))
        # The reader still sees its snapshot: its transaction really stayed open throughout.
        assert reader.execute(sa.text("SELECT count(*) FROM results")).scalar() == before == 0
    assert sum(len(f.accepted) for f in outcomes) == 50
    assert scalar(store, "SELECT count(*) FROM results") == 50
    engine.dispose()


def test_count_in_flight_counts_only_the_owners_open_trials(store: Store, owner: int) -> None:
    other = store.create_user("other-in-flight").id
    store.submit_sweep(owner, make_spec(seeds=3))  # 6 trials
    store.submit_sweep(other, make_spec(seeds=1))  # 2 trials, not the owner's
    claimed = claim(store, 1, max_batch=1)
    assert store.count_in_flight(owner) == 6  # pending and running both count
    store.record_results([item(claimed[0])])
    assert store.count_in_flight(owner) + store.count_in_flight(other) == 7
    assert store.count_trials_by_state() == {"pending": 7, "completed": 1}


def test_find_sweep_by_key_is_scoped_to_its_owner(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec(), idempotency_key="k-1")
    other = store.create_user("other-key").id
    assert store.find_sweep_by_key(owner, "k-1") == sweep.id
    assert store.find_sweep_by_key(other, "k-1") is None
