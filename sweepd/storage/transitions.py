"""Guarded state transitions of trials and sweeps, inside a caller's write transaction.

    trial:  pending ──claim──▶ running ──result──▶ completed
               ▲                  │  └──release / lease expired, attempt = max──▶ failed
               └──────release─────┘
            pending | running ──cancel──▶ cancelled
    sweep:  pending ──first claim──▶ running ──no trial left open──▶ completed | failed
            pending | running ──pause──▶ paused ──resume──▶ running (pending if none started)
            paused ──no trial left open──▶ completed | failed   (its last batches ended)
            pending | running | paused ──cancel──▶ cancelled

A paused sweep's trials are not claimed (`sweepd.states.UNCLAIMED_SWEEP_STATES`); a claim that
read the sweep just before a pause committed runs its batch like any batch running at the pause,
and `start_sweeps` moves only pending sweeps, so it stays paused. A paused sweep with no open
trial left (its last batches ended, nothing pending) closes as usual: nothing is left to resume.
Pause and resume lock only the sweep's row (`SweepStore.pause_sweep`): holding one lock, they
cannot take part in a cycle.

Every transition locks its trial rows first (`SELECT ... FOR UPDATE` in id order on PostgreSQL;
SQLite's `BEGIN IMMEDIATE` already serialises writers) and checks state and attempt under that
lock. Locks are always taken trials first, then sweeps, both in id order, so two transactions
never wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from sweepd.states import FINAL_SWEEP_STATES, OPEN_TRIAL_STATES
from sweepd.storage import counters
from sweepd.storage.models import SqlSweep, SqlTrial
from sweepd.storage.store_base import chunks


def locked_trials(session: Session, query: Select[Any], *, skip_locked: bool = False) -> list[Any]:
    """Run a query over trials with row locks, in id order (see the module docstring)."""
    locked = query.order_by(SqlTrial.id).with_for_update(of=SqlTrial, skip_locked=skip_locked)
    return list(session.execute(locked))


def running_rows(session: Session, trial_ids: Iterable[int]) -> list[Any]:
    """The trials among `trial_ids`, locked, with what a release needs to know of them."""
    out: list[Any] = []
    for part in chunks(sorted(set(trial_ids))):
        out += locked_trials(session, release_columns().where(SqlTrial.id.in_(part)))
    return out


def release_columns() -> Select[Any]:
    return (select(SqlTrial.id, SqlTrial.sweep_id, SqlTrial.state, SqlTrial.attempt,
                   SqlSweep.max_attempts)
            .join(SqlSweep, SqlSweep.id == SqlTrial.sweep_id))


def release(session: Session, rows: Sequence[Any], error: str, *, isolate: bool,
            now: datetime) -> None:
    """Give running trials back: to pending, or to failed once their attempts are spent.

    Args:
        session: the caller's write transaction, holding the locks on `rows`.
        rows: running trials (id, sweep_id, attempt, max_attempts), already checked.
        error: kept as the trial's last error.
        isolate: the next claim puts each of these trials in a batch of its own.
        now: the transaction's time.
    """
    spent = [r.id for r in rows if r.attempt >= r.max_attempts]
    retry = [r.id for r in rows if r.attempt < r.max_attempts]
    cleared = {"holder": None, "lease_expires_at": None, "error": error}
    _update_trials(session, spent, state="failed", finished_at=now, **cleared)
    again: dict[str, Any] = {"state": "pending", "progress": 0.0, **cleared}
    if isolate:
        again["isolate"] = True
    _update_trials(session, retry, **again)
    change = counters.moved((r.sweep_id for r in rows if r.attempt >= r.max_attempts),
                            "running", "failed")
    for r in rows:
        if r.attempt < r.max_attempts:
            change[r.sweep_id]["running"] -= 1
            change[r.sweep_id]["pending"] += 1
    counters.add(session, change)
    refresh_sweeps(session, {r.sweep_id for r in rows}, now)


def _update_trials(session: Session, ids: list[int], **values: Any) -> None:
    for part in chunks(sorted(ids)):
        session.execute(
            update(SqlTrial).where(SqlTrial.id.in_(part)).values(**values)
            .execution_options(synchronize_session=False)
        )


def refresh_sweeps(session: Session, sweep_ids: Iterable[int], now: datetime) -> None:
    """Close the sweeps that have no open trial left; touch `updated_at` of the others.

    A sweep whose every trial failed is `failed`; one with at least one completed trial is
    `completed`. A cancelled sweep stays cancelled.
    """
    ids = sorted(set(sweep_ids))
    session.flush()  # the caller's pending changes go in before the rows are read back fresh
    for part in chunks(ids):
        # populate_existing: the counters may have moved by Core updates in this transaction.
        query = (select(SqlSweep).where(SqlSweep.id.in_(part)).order_by(SqlSweep.id)
                 .with_for_update().execution_options(populate_existing=True))
        for sweep in session.scalars(query):
            _refresh_one(session, sweep, now)


def _refresh_one(session: Session, sweep: SqlSweep, now: datetime) -> None:
    sweep.updated_at = now
    counts = counters.counts_of(sweep)  # O(1): the counters, not a count over the trials
    if sweep.state in FINAL_SWEEP_STATES or any(counts[s] for s in OPEN_TRIAL_STATES):
        return
    if sweep.spec.get("search") and sum(counts.values()) < sweep.n_trials:
        return  # a search whose next points are still to be sampled (sweepd.search_driver)
    if is_adaptive(sweep.spec) and sweep.stop_reason is None:
        return  # the adaptive rule has not said it stops (sweepd.adaptive_driver)
    sweep.state = "completed" if counts["completed"] else "failed"
    sweep.finished_at = now


def is_adaptive(spec: dict[str, Any]) -> bool:
    """Whether a stored spec's seeds are the adaptive rule's (`sweepd.spec_seeds`)."""
    seeds = spec.get("seeds")
    return isinstance(seeds, dict) and "adaptive" in seeds


def start_sweeps(session: Session, sweep_ids: Iterable[int], now: datetime) -> None:
    """Mark sweeps whose first trials were just claimed as running (pending ones only: a
    paused or cancelled sweep keeps its state)."""
    ids = sorted(set(sweep_ids))
    for part in chunks(ids):
        session.execute(
            update(SqlSweep).where(SqlSweep.id.in_(part), SqlSweep.state == "pending")
            .values(state="running", updated_at=now).execution_options(synchronize_session=False)
        )
