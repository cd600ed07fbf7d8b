"""Growing sweeps: seeds added to a sweep by its owner, blocks added by the adaptive rule.

A growth writes, in one transaction: the new cells' trial rows (the same cells, `cell_key`s
and batch keys a sweep that had asked for these seeds from the start has), the sweep's new spec
and size, a reopened state (a completed or failed sweep is running again) and one
`sweep_growths` row. A request's growth is bound to its Idempotency-Key: the same key with the
same body adds once, with another body it is refused. The write checks that the sweep still
has the spec the caller grew from, so two growths racing each other cannot both add the same
seeds (the loser gets a Conflict and retries from the new spec).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sweepd.errors import Conflict
from sweepd.records import GrowthRecord, SweepRecord
from sweepd.states import OPEN_TRIAL_STATES
from sweepd.storage.bulk import insert_rows
from sweepd.storage.models import SqlSweep, SqlSweepGrowth, SqlTrial
from sweepd.storage.store_base import StoreBase
from sweepd.storage.store_datasets import hold_datasets
from sweepd.storage.transitions import is_adaptive, refresh_sweeps

REOPENED = {"completed": "running", "failed": "running"}  # a grown finished sweep runs again


class GrowthStore(StoreBase):
    """Growths of a sweep (owner-scoped for requests, system-level for the adaptive rule)."""

    def find_growth(self, owner_id: int, sweep_id: int, key: str,
                    body_hash: str) -> GrowthRecord | None:
        """The growth stored under this Idempotency-Key for the owner's sweep, if any.

        Raises:
            NotFound: no such sweep, or not the owner's.
            Conflict: the key was used with another body.
        """
        with self._read() as session:
            self._owned_sweep(session, owner_id, sweep_id)
            return _keyed(session, sweep_id, key, body_hash)

    def grow_sweep(self, owner_id: int, sweep_id: int, *, base_spec: dict[str, Any],
                   spec: dict[str, Any], rows: list[dict[str, Any]], added: dict[str, Any],
                   key: str | None = None, body_hash: str | None = None
                   ) -> tuple[SweepRecord, GrowthRecord, bool]:
        """Add the trial rows of new seeds to the owner's sweep (a user's request).

        Args:
            owner_id, sweep_id: the sweep, the owner's.
            base_spec: the stored spec the growth was computed from.
            spec: the sweep's spec with the new seeds.
            rows: the new cells' trial rows (`cell_rows`), no sweep id yet.
            added: {"seeds": [...], "initializers": [...] | None}, kept with the growth.
            key, body_hash: the request's Idempotency-Key and the hash of its body.

        Returns:
            The sweep, the growth, and False when the key had stored this growth before.

        Raises:
            NotFound: no such sweep, or not the owner's.
            Conflict: the sweep changed since `base_spec` was read, or the key was used with
                another body.
        """
        try:
            with self._write() as session:
                sweep = self._owned_sweep(session, owner_id, sweep_id)
                session.refresh(sweep, with_for_update=True)
                if key is not None:
                    stored = _keyed(session, sweep_id, key, body_hash)
                    if stored is not None:
                        return self._sweep_record(session, sweep), stored, False
                if sweep.state == "cancelled":  # cancelled while the request was checked
                    raise Conflict(f"sweep {sweep_id} was cancelled and cannot grow; submit a "
                                   "new sweep")
                if sweep.spec != base_spec:
                    raise Conflict(f"sweep {sweep_id} grew while this request was checked; "
                                   "send it again")
                hold_datasets(session, owner_id, spec)  # a finished sweep reopens
                growth = self._grow(session, sweep, rows, added, source="request", key=key,
                                    body_hash=body_hash)
                sweep.spec = spec
                return self._sweep_record(session, sweep), _growth_record(growth), True
        except IntegrityError:
            # The same key won a race in another transaction: answer with its growth.
            stored = self.find_growth(owner_id, sweep_id, key, body_hash or "") \
                if key is not None else None
            if stored is None:
                raise
            return self.get_sweep(owner_id, sweep_id), stored, False

    def list_growths(self, owner_id: int, sweep_id: int) -> list[GrowthRecord]:
        """The owner's sweep's growths, oldest first.

        Raises:
            NotFound: no such sweep, or not the owner's.
        """
        with self._read() as session:
            self._owned_sweep(session, owner_id, sweep_id)
            query = (select(SqlSweepGrowth).where(SqlSweepGrowth.sweep_id == sweep_id)
                     .order_by(SqlSweepGrowth.id))
            return [_growth_record(g) for g in session.scalars(query)]

    # -- the adaptive rule (the dispatcher's, no owner) --------------------------------------

    def adaptive_sweeps_between_blocks(self) -> list[SweepRecord]:
        """Adaptive sweeps that have not stopped and have no trial open: the rule's turn."""
        with self._read() as session:
            open_trial = exists().where(SqlTrial.sweep_id == SqlSweep.id,
                                        SqlTrial.state.in_(OPEN_TRIAL_STATES))
            query = (select(SqlSweep).where(SqlSweep.state.in_(("pending", "running")),
                                            SqlSweep.stop_reason.is_(None), ~open_trial)
                     .order_by(SqlSweep.id))
            return [self._sweep_record(session, s) for s in session.scalars(query)
                    if is_adaptive(s.spec)]

    def add_block(self, sweep_id: int, rows: list[dict[str, Any]], added: dict[str, Any],
                  decision: dict[str, Any], *, after_trials: int) -> int:
        """Add the adaptive rule's next block, unless the sweep moved on since the rule looked
        (another trial count, stopped, cancelled): a dispatcher that died between deciding
        and writing decides again from the same results.

        Returns:
            The trials inserted (0 when the block was not added).
        """
        with self._write() as session:
            sweep = session.get(SqlSweep, sweep_id, with_for_update=True)
            if (sweep is None or sweep.state not in ("pending", "running")
                    or sweep.stop_reason is not None or sweep.n_trials != after_trials):
                return 0
            self._grow(session, sweep, rows, added, source="adaptive", decision=decision)
            return len(rows)

    def stop_adaptive(self, sweep_id: int, reason: str, decision: dict[str, Any], *,
                      after_trials: int) -> bool:
        """Record why an adaptive sweep stops adding seeds (with the final decision state) and
        let it close. Returns whether it was recorded now."""
        with self._write() as session:
            sweep = session.get(SqlSweep, sweep_id, with_for_update=True)
            if (sweep is None or sweep.stop_reason is not None
                    or sweep.n_trials != after_trials):
                return False
            now = self._clock()
            sweep.stop_reason = reason
            session.add(SqlSweepGrowth(sweep_id=sweep_id, source="adaptive", added={},
                                       n_trials=0, decision=decision, created_at=now))
            refresh_sweeps(session, [sweep_id], now)
            return True

    # -- shared ------------------------------------------------------------------------------

    def _grow(self, session: Session, sweep: SqlSweep, rows: list[dict[str, Any]],
              added: dict[str, Any], *, source: str, key: str | None = None,
              body_hash: str | None = None,
              decision: dict[str, Any] | None = None) -> SqlSweepGrowth:
        now = self._clock()
        for row in rows:
            row["sweep_id"] = sweep.id
        insert_rows(session, SqlTrial.__table__, rows)
        sweep.n_trials += len(rows)
        sweep.n_pending += len(rows)
        sweep.updated_at = now
        if sweep.state in REOPENED and rows:
            sweep.state, sweep.finished_at = REOPENED[sweep.state], None
        growth = SqlSweepGrowth(sweep_id=sweep.id, source=source, idempotency_key=key,
                                body_hash=body_hash, added=added, n_trials=len(rows),
                                decision=decision, created_at=now)
        session.add(growth)
        session.flush()
        return growth


def _keyed(session: Session, sweep_id: int, key: str, body_hash: str | None
           ) -> GrowthRecord | None:
    growth = session.scalars(select(SqlSweepGrowth).where(
        SqlSweepGrowth.sweep_id == sweep_id, SqlSweepGrowth.idempotency_key == key)).first()
    if growth is None:
        return None
    if growth.body_hash != body_hash:
        raise Conflict(f"the Idempotency-Key {key!r} was already used to grow sweep {sweep_id} "
                       "with a different request body")
    return _growth_record(growth)


def _growth_record(row: SqlSweepGrowth) -> GrowthRecord:
    added = row.added or {}
    seeds = added.get("seeds")
    labels = added.get("initializers")
    if seeds is None and "arms" in added:  # an adaptive block: seeds per (point, initializer)
        arms = added["arms"]
        seeds = sorted({s for arm in arms for s in arm["seeds"]})
        labels = sorted({arm["initializer"] for arm in arms})
    return GrowthRecord(id=row.id, sweep_id=row.sweep_id, source=row.source,
                        seeds=list(seeds or []), initializers=labels, n_trials=row.n_trials,
                        decision=row.decision, created_at=row.created_at,
                        idempotency_key=row.idempotency_key)
