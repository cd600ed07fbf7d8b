"""A sweep's status read is one SELECT whatever the sweep's size (issue 19): its counters and its
running trials' progress in one statement, with the same answer as before, for its owner only;
and the comparison's reads choose their sample from every trial's key."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from sweepd.errors import NotFound
from tests.integration.store_support import claim, keys, make_spec


def recorded(store, action, describe) -> list:
    """What `describe(connection, statement)` says of each statement `action` runs (None: skip)."""
    seen: list = []

    def record(conn, _cursor, statement, *_args) -> None:
        found = describe(conn, statement)
        if found is not None:
            seen.append(found)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return seen


def selects(store, action) -> list[str]:
    return recorded(store, action, lambda _conn, statement: statement
                    if statement.lstrip().upper().startswith("SELECT") else None)


@pytest.mark.parametrize("seeds", [3, 300])
def test_the_status_read_is_one_select_with_the_running_progress(store, owner, seeds):
    sweep, _ = store.submit_sweep(owner, make_spec(seeds=seeds))
    running = claim(store, 4)
    store.renew_leases(keys(running), 60, progress={t.trial_id: 0.5 for t in running})
    found = []
    assert len(selects(store, lambda: found.append(store.get_sweep(owner, sweep.id)))) == 1
    record = found[0]
    assert record.counts["running"] == 4 and record.counts["pending"] == 2 * seeds - 4
    assert record.progress == pytest.approx(4 * 0.5 / (2 * seeds))
    other = store.create_user("mallory").id
    with pytest.raises(NotFound):
        store.get_sweep(other, sweep.id)


def test_the_comparison_keys_cover_every_trial_and_count_results(store, owner):
    sweep, _ = store.submit_sweep(owner, make_spec(seeds=5))
    claim(store, 3)
    found = store.trial_keys(owner, sweep.id)
    trials, _ = store.list_trials(owner, sweep.id, limit=100)
    assert [k.id for k in found] == [t.id for t in trials]
    assert [(k.seed, k.data_seed) for k in found] == [(t.seed, t.data_seed) for t in trials]
    assert not any(k.finished or k.has_result for k in found)
    chosen = store.compare_trials(owner, sweep.id, [trials[1].id, trials[4].id])
    assert [t.id for t, _ in chosen] == [trials[1].id, trials[4].id]
    assert all(blob is None for _, blob in chosen)  # no result yet: no weights
    with pytest.raises(NotFound):
        store.trial_keys(store.create_user("mallory").id, sweep.id)


def statements_with_transaction_state(store, action) -> list[tuple[str, bool]]:
    """(first word, whether the connection is inside a transaction) of each statement."""

    def describe(conn, statement: str) -> tuple[str, bool]:
        dbapi = conn.connection.dbapi_connection
        inside = (not dbapi.autocommit) if store.is_postgres else dbapi.in_transaction
        return statement.split()[0].upper(), inside

    return recorded(store, action, describe)


def test_the_status_read_is_one_statement_outside_any_transaction(store, owner):
    # No BEGIN and ROLLBACK around it (two round trips on PostgreSQL, two more waits for the GIL
    # in a busy service); the pooled connection then serves transactions as before.
    sweep, _ = store.submit_sweep(owner, make_spec(seeds=3))
    assert statements_with_transaction_state(
        store, lambda: store.get_sweep(owner, sweep.id)) == [("SELECT", False)]
    listed = statements_with_transaction_state(
        store, lambda: store.list_sweeps(owner, limit=10, offset=0))
    begin = [("BEGIN", False)] if not store.is_postgres else []
    assert listed[:len(begin) + 1] == [*begin, ("SELECT", True)]
    assert store.cancel_sweep(owner, sweep.id).state == "cancelled"
