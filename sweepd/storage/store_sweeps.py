"""Sweeps: submission (expanded once, idempotent), reading, listing, cancelling, pausing.

A sweep and all its trial rows are written in one transaction; the trials go in as one bulk
insert of plain dicts (COPY on PostgreSQL), which keeps a 100 000-trial sweep to seconds. Resubmitting with the same
(owner, idempotency key) returns the stored sweep; the unique constraint on that pair is what
makes concurrent resubmissions safe, since only one INSERT can win.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sweepd.errors import Conflict, NotFound
from sweepd.records import SweepRecord
from sweepd.spec import Cell, SweepSpec, initializer_label, spec_hash
from sweepd.states import FINAL_SWEEP_STATES, OPEN_TRIAL_STATES
from sweepd.storage import counters
from sweepd.storage.bulk import insert_rows
from sweepd.storage.convert import sweep_record
from sweepd.storage.counters import counts_of
from sweepd.storage.models import SqlSweep, SqlTrial, SqlUser
from sweepd.storage.store_base import StoreBase, check_page
from sweepd.storage.store_datasets import hold_datasets
from sweepd.storage.transitions import locked_trials


def trial_rows(spec: SweepSpec, search_points: list[dict[str, Any]] | None = None
               ) -> list[dict[str, Any]]:
    """The trial rows of a spec (of these search points, for a search), as plain dicts for a
    bulk INSERT (no sweep id yet)."""
    return cell_rows(spec.trial_cells(search_points))


def cell_rows(cells: Iterable[Cell]) -> list[dict[str, Any]]:
    """Pending trial rows of these cells (`SweepSpec.keyed_cells`), as plain dicts for a bulk
    INSERT (no sweep id yet). The cells' initializers and points are shared objects, so
    `insert_rows` writes the JSON of each once."""
    dumped: dict[int, tuple[Any, dict[str, Any], str]] = {}
    rows = []
    for cell in cells:
        init = cell.initializer
        if id(init) not in dumped:  # the same few initializer objects recur in every cell
            dumped[id(init)] = (init, init.model_dump(mode="json"), initializer_label(init))
        _, init_json, label = dumped[id(init)]
        rows.append({
            "cell_key": cell.cell_key, "batch_key": cell.batch_key, "seed": cell.seed,
            # Null where the factor is the default, as in rows stored before issue 16.
            "order_seed": cell.order_seed, "data_seed": cell.data_seed,
            "initializer": init_json, "initializer_label": label, "params": cell.params,
            "state": "pending", "attempt": 0, "isolate": False, "progress": 0.0,
        })
    return rows


class SweepStore(StoreBase):
    """Sweeps, owner-scoped: another owner's sweep reads as a missing one."""

    def submit_sweep(self, owner_id: int, spec: SweepSpec, *, idempotency_key: str | None = None,
                     body_hash: str | None = None,
                     search_points: list[dict[str, Any]] | None = None
                     ) -> tuple[SweepRecord, bool]:
        """Store a validated sweep and its expanded trials, or return the one stored before.

        Args:
            owner_id: the submitting user.
            spec: the sweep, validated completely.
            idempotency_key: the client's key; the same key from the same owner stores once.
            body_hash: identifies the request body; defaults to the hash of the spec.
            search_points: a search's first points (`sweepd.search.initial_points`); the
                sweep's `n_trials` counts every point it will have.

        Returns:
            The sweep and True if it was created now, False if the key had stored it before.

        Raises:
            Conflict: the key was used before with another body.
            NotFound: no such user.
        """
        body_hash = body_hash or spec_hash(spec)
        if idempotency_key is not None:
            existing = self._idempotent(owner_id, idempotency_key, body_hash)
            if existing is not None:
                return existing, False
        rows = trial_rows(spec, search_points)  # expanded before the transaction: a short lock
        try:
            sweep_id = self._insert(owner_id, spec, rows, idempotency_key, body_hash)
        except IntegrityError:
            # Another request with the same key won the race; answer with its sweep.
            existing = self._idempotent(owner_id, idempotency_key, body_hash) \
                if idempotency_key is not None else None
            if existing is None:
                raise
            return existing, False
        return self.get_sweep(owner_id, sweep_id), True

    def _idempotent(self, owner_id: int, key: str, body_hash: str) -> SweepRecord | None:
        with self._read() as session:
            sweep = session.scalars(select(SqlSweep).where(
                SqlSweep.owner_id == owner_id, SqlSweep.idempotency_key == key)).first()
            if sweep is None:
                return None
            if sweep.body_hash != body_hash:
                raise Conflict(f"the Idempotency-Key {key!r} was already used for sweep "
                               f"{sweep.id} with a different request body")
            return self._sweep_record(session, sweep)

    def _insert(self, owner_id: int, spec: SweepSpec, rows: list[dict[str, Any]],
                key: str | None, body_hash: str) -> int:
        with self._write() as session:
            if session.get(SqlUser, owner_id) is None:
                raise NotFound(f"user {owner_id} not found")
            stored = spec.model_dump(mode="json")
            hold_datasets(session, owner_id, stored)  # not deleted since it was checked
            now = self._clock()
            sweep = SqlSweep(
                owner_id=owner_id, name=spec.name, spec=stored,
                state="pending", n_trials=spec.n_trials, max_attempts=spec.max_attempts,
                n_pending=len(rows),
                created_at=now, updated_at=now, idempotency_key=key, body_hash=body_hash,
            )
            session.add(sweep)
            session.flush()
            for row in rows:
                row["sweep_id"] = sweep.id
            insert_rows(session, SqlTrial.__table__, rows)
            return sweep.id

    def count_in_flight(self, owner_id: int) -> int:
        """The owner's trials that are pending or running, over all their sweeps (a sum over
        the counters of their open sweeps: no count over trials)."""
        with self._read() as session:
            query = (select(func.sum(SqlSweep.n_pending + SqlSweep.n_running))
                     .where(SqlSweep.owner_id == owner_id,
                            SqlSweep.state.not_in(tuple(FINAL_SWEEP_STATES))))
            return int(session.scalar(query) or 0)

    def find_sweep_by_key(self, owner_id: int, idempotency_key: str) -> int | None:
        """The id of the owner's sweep stored under this Idempotency-Key, if any."""
        with self._read() as session:
            return session.scalar(select(SqlSweep.id).where(
                SqlSweep.owner_id == owner_id, SqlSweep.idempotency_key == idempotency_key))

    def get_sweep(self, owner_id: int, sweep_id: int) -> SweepRecord:
        """A sweep with its counts per trial state and its progress.

        Raises:
            NotFound: no such sweep, or not the owner's.
        """
        # One statement: the row and its running trials' progress (a status read is polled
        # while the sweep runs; each statement more waits its turn for the GIL there).
        running = (select(func.coalesce(func.sum(SqlTrial.progress), 0.0))
                   .where(SqlTrial.state == "running", SqlTrial.sweep_id == SqlSweep.id)
                   .correlate(SqlSweep).scalar_subquery())
        with self._read_one() as session:
            found = session.execute(select(SqlSweep, running).where(SqlSweep.id == sweep_id)).first()
            if found is None or found[0].owner_id != owner_id:
                raise NotFound(f"sweep {sweep_id} not found")  # another owner's reads the same
            sweep, progress = found
            return sweep_record(sweep, counts_of(sweep), float(progress or 0.0))

    def list_sweeps(self, owner_id: int, *, limit: int, offset: int,
                    name: str | None = None) -> tuple[list[SweepRecord], int]:
        """The owner's sweeps (only those called `name`, when given), newest first, and how
        many there are in all.

        Raises:
            InvalidSpec: a negative limit or offset.
        """
        check_page(limit, offset)
        with self._read() as session:
            mine = SqlSweep.owner_id == owner_id
            if name is not None:
                mine = mine & (SqlSweep.name == name)
            total = session.scalar(select(func.count()).select_from(SqlSweep).where(mine)) or 0
            query = select(SqlSweep).where(mine).order_by(SqlSweep.id.desc())
            sweeps = list(session.scalars(query.limit(limit).offset(offset)))
            return self._sweep_records(session, sweeps), int(total)

    def cancel_sweep(self, owner_id: int, sweep_id: int) -> SweepRecord:
        """Cancel a sweep and its open trials; a finished sweep is returned unchanged.

        Results that arrive later for its trials are refused by the fencing check, since the
        trials are no longer running.

        Raises:
            NotFound: no such sweep, or not the owner's.
        """
        with self._write() as session:
            sweep = self._owned_sweep(session, owner_id, sweep_id)
            if sweep.state not in FINAL_SWEEP_STATES:
                self._cancel(session, sweep)
            return self._sweep_record(session, sweep)

    def pause_sweep(self, owner_id: int, sweep_id: int) -> SweepRecord:
        """Pause an open sweep: its pending trials are no longer claimed; its running trials
        finish and their results are stored. Pausing a paused sweep changes nothing.

        A claim that committed just before the pause still runs its batch, like any batch that
        was running when the sweep was paused.

        Raises:
            NotFound: no such sweep, or not the owner's.
            Conflict: the sweep has ended (completed, failed or cancelled).
        """
        with self._write() as session:
            sweep = self._open_sweep(session, owner_id, sweep_id, "pause")
            if sweep.state != "paused":
                sweep.state, sweep.updated_at = "paused", self._clock()
            return self._sweep_record(session, sweep)

    def resume_sweep(self, owner_id: int, sweep_id: int) -> SweepRecord:
        """Resume a paused sweep: running again if any of its trials has started, else
        pending. An open sweep that is not paused is returned unchanged.

        Raises:
            NotFound: no such sweep, or not the owner's.
            Conflict: the sweep has ended (completed, failed or cancelled).
        """
        with self._write() as session:
            sweep = self._open_sweep(session, owner_id, sweep_id, "resume")
            if sweep.state == "paused":
                started = session.scalar(select(exists().where(
                    SqlTrial.sweep_id == sweep.id,
                    (SqlTrial.state != "pending") | SqlTrial.started_at.is_not(None))))
                sweep.state = "running" if started else "pending"
                sweep.updated_at = self._clock()
            return self._sweep_record(session, sweep)

    def _open_sweep(self, session: Session, owner_id: int, sweep_id: int,
                    action: str) -> SqlSweep:
        """The owner's sweep, its row locked, if it has not ended."""
        sweep = self._owned_sweep(session, owner_id, sweep_id)
        session.refresh(sweep, with_for_update=True)
        if sweep.state in FINAL_SWEEP_STATES:
            raise Conflict(f"sweep {sweep_id} has ended ({sweep.state}): there is nothing to "
                           f"{action}")
        return sweep

    def _cancel(self, session: Session, sweep: SqlSweep) -> None:
        now = self._clock()
        # Trials first, then the sweep: the lock order of transitions.py. Only running trials
        # are locked in id order up front, since only transactions that wait on running trials
        # (results, releases) also lock sweeps; claims skip locked rows instead of waiting.
        running = select(SqlTrial.id).where(SqlTrial.sweep_id == sweep.id,
                                            SqlTrial.state == "running")
        locked_trials(session, running)
        # One statement per open state, so the counters move by exactly the rows each changed.
        change = counters.moves()
        for state in OPEN_TRIAL_STATES:
            result = session.execute(
                update(SqlTrial)
                .where(SqlTrial.sweep_id == sweep.id, SqlTrial.state == state)
                .values(state="cancelled", finished_at=now, holder=None, lease_expires_at=None)
                .execution_options(synchronize_session=False)
            )
            change[sweep.id][state] -= result.rowcount
            change[sweep.id]["cancelled"] += result.rowcount
        counters.add(session, change)
        session.refresh(sweep, with_for_update=True)
        # A growth that committed while this waited for the sweep's lock added pending trials
        # the statements above did not see (PostgreSQL reads committed rows per statement):
        # cancel them now that no growth can add more. Claims skip locked rows, so skip theirs.
        late = session.scalars(select(SqlTrial.id).where(
            SqlTrial.sweep_id == sweep.id, SqlTrial.state == "pending")
            .with_for_update(skip_locked=True)).all()
        if late:
            session.execute(update(SqlTrial).where(SqlTrial.id.in_(late))
                            .values(state="cancelled", finished_at=now)
                            .execution_options(synchronize_session=False))
            counters.add(session, counters.moved([sweep.id] * len(late), "pending", "cancelled"))
            session.refresh(sweep)
        if sweep.state not in FINAL_SWEEP_STATES:
            sweep.state, sweep.finished_at, sweep.updated_at = "cancelled", now, now
