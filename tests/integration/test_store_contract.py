"""The store contract (docs/architecture.md, "Store") for sweeps, reads and tokens, on SQLite and
PostgreSQL. Results are built by hand (small safetensors weights): no Ray, no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from safetensors.numpy import load as load_safetensors

from sweepd.errors import Conflict, InvalidSpec, NotFound
from sweepd.storage.database import create_engine
from sweepd.storage.store import Store
from sweepd.storage.store_auth import hash_token
from sweepd.weights import sha256
from tests.integration.store_support import (
    ALL_PENDING,
    claim,
    in_threads,
    item,
    keys,
    make_spec,
    scalar,
)


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


def test_offset_pages_with_filters_are_slices_of_the_whole_list_with_their_results(
        store: Store, owner: int) -> None:
    """Offset pages find their ids first and join only those with results: every page, filtered
    or not, is the matching slice of the whole id-ordered list, results included."""
    sweep, _ = store.submit_sweep(owner, make_spec(seeds=6))  # 12 trials
    store.record_results([item(t) for t in claim(store, 5)])
    joined = 0
    for filters in ({}, {"state": "completed"}, {"state": "pending"},
                    {"initializer": "he_normal"}):
        whole, total = store.list_trials(owner, sweep.id, limit=100, offset=0, **filters)
        for offset in range(1, total + 1):
            page, n = store.list_trials(owner, sweep.id, limit=3, offset=offset, **filters)
            assert n == total
            assert [(t.id, t.state, t.result) for t in page] == \
                [(t.id, t.state, t.result) for t in whole[offset:offset + 3]], (filters, offset)
            joined += sum(t.result is not None for t in page)
    assert joined > 0  # results do come through the offset pages' join


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


def test_weights_page_reads_stored_weights_in_id_pages(store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec(seeds=3))
    trials = claim(store, 6)
    sent = [item(t, initial=i % 2 == 0) for i, t in enumerate(trials[:5])]
    store.record_results(sent)
    first = store.weights_page(owner, sweep.id, "final", limit=2)
    rest = store.weights_page(owner, sweep.id, "final", after_id=first[-1][0], limit=10)
    assert [tid for tid, _ in first + rest] == [t.trial_id for t in trials[:5]]
    assert [blob for _, blob in first + rest] == [s.result.final_weights for s in sent]
    initial = store.weights_page(owner, sweep.id, "initial")
    assert [tid for tid, _ in initial] == [t.trial_id for t in trials[:5:2]]
    other = store.create_user("someone-else").id
    with pytest.raises(NotFound):
        store.weights_page(other, sweep.id, "final")


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


def test_trial_events_without_curves_are_the_same_records_with_an_empty_curve(
        store: Store, owner: int) -> None:
    sweep, _ = store.submit_sweep(owner, make_spec())
    store.record_results([item(t) for t in claim(store, 3)])
    full = store.trial_events(owner, sweep.id, after=None)
    bare = store.trial_events(owner, sweep.id, after=None, curves=False)
    assert all(t.result.curve for t in full)
    assert [t.result.curve for t in bare] == [[], [], []]
    assert [t.model_copy(update={"result": t.result.model_copy(update={"curve": []})})
            for t in full] == bare


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
