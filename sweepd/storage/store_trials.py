"""Reading trials, their results and their weights (owner-scoped)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import defer, undefer

from sweepd.errors import InvalidSpec, NotFound
from sweepd.records import TrialRecord
from sweepd.states import TRIAL_STATES
from sweepd.storage.convert import trial_record
from sweepd.storage.counters import counts_of
from sweepd.storage.models import SqlResult, SqlTrial
from sweepd.storage.store_base import StoreBase, check_page

EVENTS_LIMIT = 1000


def _with_results() -> Select[Any]:
    # Weights are deferred columns of SqlResult: these queries never read them.
    return select(SqlTrial, SqlResult).outerjoin(SqlResult, SqlResult.trial_id == SqlTrial.id)


def _filters(sweep_id: int, state: str | None, initializer: str | None,
             seed: int | None) -> list[Any]:
    if state is not None and state not in TRIAL_STATES:
        raise InvalidSpec(f"unknown trial state {state!r}; states are {', '.join(TRIAL_STATES)}")
    found = [SqlTrial.sweep_id == sweep_id]
    if state is not None:
        found.append(SqlTrial.state == state)
    if initializer is not None:
        found.append(SqlTrial.initializer_label == initializer)
    if seed is not None:
        found.append(SqlTrial.seed == seed)
    return found


class TrialStore(StoreBase):
    """Trials of a sweep, with their results; weights only where asked for."""

    def list_trials(self, owner_id: int, sweep_id: int, *, state: str | None = None,
                    initializer: str | None = None, seed: int | None = None, limit: int,
                    offset: int = 0, after: int | None = None) -> tuple[list[TrialRecord], int]:
        """A page of a sweep's trials in id order, with results (without weights).

        Pages by `after` (the last trial id of the page before: keyset pagination, one index
        seek at any depth, and stable while trials change state) or by `offset` (which skips
        rows one by one: deep offsets cost the rows skipped).

        Args:
            owner_id: the caller.
            sweep_id: the sweep.
            state: only trials in this state.
            initializer: only trials of this initializer label (e.g. `he_normal`).
            seed: only trials of this seed.
            limit: the page size.
            offset: trials to skip (0 with `after`).
            after: only trials with a larger id.

        Returns:
            The page and the number of trials matching the filters (all pages).

        Raises:
            NotFound: no such sweep, or not the owner's.
            InvalidSpec: an unknown state, or a negative limit or offset.
        """
        check_page(limit, offset)
        if after is not None and offset:
            raise InvalidSpec("give either after or offset, not both")
        where = _filters(sweep_id, state, initializer, seed)
        with self._read() as session:
            sweep = self._owned_sweep(session, owner_id, sweep_id)
            if initializer is None and seed is None:  # the counters answer: no count(*)
                counts = counts_of(sweep)
                total = counts[state] if state is not None else sum(counts.values())
            else:
                total = session.scalar(select(func.count()).select_from(SqlTrial)
                                       .where(*where)) or 0
            page = [*where, SqlTrial.id > after] if after is not None else where
            query = _with_results().order_by(SqlTrial.id)
            if offset:
                # The rows skipped are found on the (sweep_id, id) index alone, and only the
                # page's rows are joined with their results. Joining every skipped row first
                # took 426 ms at offset 99 950 of 10⁵ completed trials on PostgreSQL, this
                # 52 ms (SQLite: 29 and 8 ms; the store's call alone, issue 19).
                ids = (select(SqlTrial.id).where(*page).order_by(SqlTrial.id)
                       .limit(limit).offset(offset))
                query = query.where(SqlTrial.id.in_(ids.scalar_subquery()))
            else:
                query = query.where(*page).limit(limit)
            rows = session.execute(query)
            return [trial_record(t, sweep.max_attempts, r) for t, r in rows], int(total)

    def get_trial(self, owner_id: int, sweep_id: int, trial_id: int) -> TrialRecord:
        """One trial with its result (without weights).

        Raises:
            NotFound: no such trial in this sweep, or not the owner's.
        """
        with self._read() as session:
            sweep, trial = self._owned_trial(session, owner_id, sweep_id, trial_id)
            return trial_record(trial, sweep.max_attempts, session.get(SqlResult, trial.id))

    def get_weights(self, owner_id: int, sweep_id: int, trial_id: int,
                    which: Literal["final", "initial"] = "final") -> tuple[bytes, str]:
        """A trial's weights as safetensors bytes, with their sha256.

        Raises:
            NotFound: no such trial, not the owner's, or no such weights stored (yet).
            InvalidSpec: `which` is neither "final" nor "initial".
        """
        if which not in ("final", "initial"):
            raise InvalidSpec(f"which must be 'final' or 'initial', not {which!r}")
        data = getattr(SqlResult, f"{which}_weights")
        digest = getattr(SqlResult, f"{which}_sha256")
        with self._read() as session:
            self._owned_trial(session, owner_id, sweep_id, trial_id)
            row = session.execute(select(data, digest).where(SqlResult.trial_id == trial_id)).first()
        if row is None or row[0] is None:
            raise NotFound(f"trial {trial_id} of sweep {sweep_id} has no {which} weights stored")
        return bytes(row[0]), row[1]

    def weights_page(self, owner_id: int, sweep_id: int, which: Literal["final", "initial"], *,
                     after_id: int = 0, limit: int = 1000) -> list[tuple[int, bytes]]:
        """(trial id, safetensors bytes) of completed trials with `which` weights stored, in id
        order after `after_id`: one query a page, for exports of whole sweeps.

        Raises:
            NotFound: no such sweep, or not the owner's.
            InvalidSpec: `which` is neither "final" nor "initial".
        """
        if which not in ("final", "initial"):
            raise InvalidSpec(f"which must be 'final' or 'initial', not {which!r}")
        data = getattr(SqlResult, f"{which}_weights")
        with self._read() as session:
            self._owned_sweep(session, owner_id, sweep_id)
            query = (select(SqlTrial.id, data).join(SqlResult, SqlResult.trial_id == SqlTrial.id)
                     .where(SqlTrial.sweep_id == sweep_id, SqlTrial.state == "completed",
                            SqlTrial.id > after_id, data.is_not(None))
                     .order_by(SqlTrial.id).limit(limit))
            return [(tid, bytes(blob)) for tid, blob in session.execute(query)]

    def sweep_results(self, owner_id: int, sweep_id: int) -> list[tuple[TrialRecord, bytes]]:
        """Every completed trial of a sweep with its final weights, in trial id order.

        Raises:
            NotFound: no such sweep, or not the owner's.
        """
        with self._read() as session:
            sweep = self._owned_sweep(session, owner_id, sweep_id)
            query = (select(SqlTrial, SqlResult).join(SqlResult, SqlResult.trial_id == SqlTrial.id)
                     .where(SqlTrial.sweep_id == sweep_id, SqlTrial.state == "completed")
                     .options(undefer(SqlResult.final_weights)).order_by(SqlTrial.id))
            return [(trial_record(t, sweep.max_attempts, r), bytes(r.final_weights))
                    for t, r in session.execute(query)]

    def trial_events(self, owner_id: int, sweep_id: int, *, after: tuple[datetime, int] | None,
                     limit: int = EVENTS_LIMIT, curves: bool = True) -> list[TrialRecord]:
        """Trials that reached a final state after a cursor, in (finished_at, id) order.

        The cursor of the next call is `(last.finished_at, last.id)` of the last record
        returned; `after=None` starts from the beginning.

        Args:
            owner_id: the caller.
            sweep_id: the sweep.
            after: the cursor, or None.
            limit: at most this many trials per call.
            curves: False: results with an empty curve, the curves not read (the event stream
                sends none; reading and unpacking them was most of its store time).

        Raises:
            NotFound: no such sweep, or not the owner's.
        """
        with self._read() as session:
            sweep = self._owned_sweep(session, owner_id, sweep_id)
            query = (_with_results()
                     .where(SqlTrial.sweep_id == sweep_id, SqlTrial.finished_at.is_not(None),
                            *_after(after))
                     .order_by(SqlTrial.finished_at, SqlTrial.id).limit(limit))
            if not curves:
                query = query.options(defer(SqlResult.curve))
            return [trial_record(t, sweep.max_attempts, r, curve=curves)
                    for t, r in session.execute(query)]


def _after(cursor: tuple[datetime, int] | None) -> list[Any]:
    if cursor is None:
        return []
    when, trial_id = cursor
    if when.tzinfo is None:  # a cursor parsed from a client's event id may have lost its zone
        when = when.replace(tzinfo=timezone.utc)
    return [or_(SqlTrial.finished_at > when,
                and_(SqlTrial.finished_at == when, SqlTrial.id > trial_id))]
