"""Per-sweep trial counters (`sweeps.n_<state>`), moved in the transaction of every trial state
change, so a sweep's counts are read from its row in O(1) instead of counted over its trials.

Every write path that inserts trials or changes their state calls `add` with the moves it made
(the rows it changed, known from the rows it locked), after updating the trials: the lock order
of `transitions` (trials first, then sweeps, each in id order) holds. A test recounts after
randomized runs on both databases (tests/integration/test_counters.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import update
from sqlalchemy.orm import Session

from sweepd.states import TRIAL_STATES
from sweepd.storage.models import SqlSweep

COLUMNS = {state: f"n_{state}" for state in TRIAL_STATES}

Moves = dict[int, Counter[str]]  # sweep id → state → change in count


def moves() -> Moves:
    return defaultdict(Counter)


def moved(sweep_ids: Iterable[int], old: str | None, new: str) -> Moves:
    """The moves of trials (one sweep id each) from `old` (None: inserted) to `new`."""
    out = moves()
    for sweep_id in sweep_ids:
        if old is not None:
            out[sweep_id][old] -= 1
        out[sweep_id][new] += 1
    return out


def add(session: Session, changes: Mapping[int, Counter[str]]) -> None:
    """Apply the moves to the sweeps' counters, in sweep id order."""
    for sweep_id in sorted(changes):
        values = {COLUMNS[state]: getattr(SqlSweep, COLUMNS[state]) + delta
                  for state, delta in changes[sweep_id].items() if delta}
        if values:
            session.execute(update(SqlSweep).where(SqlSweep.id == sweep_id).values(**values)
                            .execution_options(synchronize_session=False))


def counts_of(sweep: SqlSweep) -> dict[str, int]:
    """The sweep's trials per state, from its counters."""
    return {state: int(getattr(sweep, column) or 0) for state, column in COLUMNS.items()}
