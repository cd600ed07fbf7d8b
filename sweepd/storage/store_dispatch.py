"""The dispatcher's side of the store: leadership, claims, leases, results and releases.

The dispatcher is trusted, so nothing here is owner-scoped. Fencing (invariant 3): every claim
increments a trial's `attempt`, and a result, a lease renewal or a release is accepted only while
the trial is `running` with that same attempt; a worker that was presumed dead and comes back
late therefore cannot overwrite the trial's re-run.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, func, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sweepd.records import ClaimedBatch, Fenced, ResultItem
from sweepd.states import UNCLAIMED_SWEEP_STATES
from sweepd.storage import counters
from sweepd.storage.claims import SpecCache, build_batches
from sweepd.storage.models import (
    SqlDispatcherLease,
    SqlResult,
    SqlSweep,
    SqlTrial,
    SqlWeightBlob,
)
from sweepd.storage.store_base import StoreBase, chunks
from sweepd.storage.transitions import (
    locked_trials,
    refresh_sweeps,
    release,
    release_columns,
    running_rows,
    start_sweeps,
)
from sweepd.weights import sha256

log = logging.getLogger(__name__)

LEADER_LEASE = "dispatcher"
LEASE_EXPIRED = "lease expired: the worker or the dispatcher was lost"
ORPHANED = "the dispatcher that ran this trial was lost"
_CLAIM_COLUMNS = (SqlTrial.id, SqlTrial.sweep_id, SqlTrial.cell_key, SqlTrial.batch_key,
                  SqlTrial.seed,
                  SqlTrial.order_seed, SqlTrial.data_seed,
                  SqlTrial.initializer, SqlTrial.params, SqlTrial.attempt, SqlTrial.isolate)


class _Claimed(NamedTuple):
    id: int
    sweep_id: int
    cell_key: str
    batch_key: str
    seed: int
    order_seed: int | None
    data_seed: int | None
    initializer: dict[str, Any]
    params: dict[str, Any]
    attempt: int
    isolate: bool


def _result_row(item: ResultItem, now: Any) -> dict[str, Any]:
    # The row is the result's own fields (all but the cell it names and the weights, which
    # go to `weight_blobs`) plus the keys.
    return {"trial_id": item.trial_id, "created_at": now, **item.result.model_dump(
        exclude={"cell_key", "final_weights", "initial_weights"})}


def _blob_rows(items: list[ResultItem]) -> list[dict[str, Any]]:
    """The weights files of the results, each sha256 once."""
    blobs: dict[str, bytes] = {}
    for item in items:
        r = item.result
        blobs.setdefault(r.final_sha256, r.final_weights)
        if r.initial_weights is not None and r.initial_sha256 is not None:
            blobs.setdefault(r.initial_sha256, r.initial_weights)
    return [{"sha256": k, "data": v} for k, v in sorted(blobs.items())]


def _weights_intact(item: ResultItem) -> bool:
    r = item.result
    if sha256(r.final_weights) != r.final_sha256:
        return False
    return r.initial_weights is None or sha256(r.initial_weights) == r.initial_sha256


class DispatchStore(StoreBase):
    """Leadership, claims, leases, results and releases, for the one active dispatcher."""

    def acquire_leadership(self, holder: str, ttl_seconds: float) -> bool:
        """Take or renew the dispatcher lease if it is free, expired or already `holder`'s.

        Returns:
            True if `holder` holds the lease (for `ttl_seconds` from now) after the call.
        """
        now = self._clock()
        table = SqlDispatcherLease.__table__
        dialect = postgresql if self.is_postgres else sqlite
        stmt = dialect.insert(table).values(name=LEADER_LEASE, holder=holder,
                                            expires_at=now + timedelta(seconds=ttl_seconds))
        # One upsert: the database serialises competing dispatchers on the row.
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.name],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            where=(table.c.holder == holder) | (table.c.expires_at < now),
        ).returning(table.c.holder)
        with self._write() as session:
            return session.execute(stmt).first() is not None

    def release_leadership(self, holder: str) -> None:
        """Give the dispatcher lease up at shutdown so that a successor need not wait it out."""
        with self._write() as session:
            session.execute(
                update(SqlDispatcherLease)
                .where(SqlDispatcherLease.name == LEADER_LEASE, SqlDispatcherLease.holder == holder)
                .values(expires_at=self._clock()).execution_options(synchronize_session=False)
            )

    def count_pending(self) -> int:
        """Pending trials of sweeps that are neither cancelled nor paused (the queue depth).

        A sum over the sweeps' counters (`counters`), not a count over their trials: the
        dispatcher asks before every claim, and at 10⁵ pending trials the count took 8 % of
        its thread (py-spy, issue 19).
        """
        with self._read_one() as session:
            query = (select(func.sum(SqlSweep.n_pending))
                     .where(SqlSweep.n_pending > 0,
                            SqlSweep.state.not_in(UNCLAIMED_SWEEP_STATES)))
            return int(session.scalar(query) or 0)

    def count_trials_by_state(self) -> dict[str, int]:
        """Every trial of every sweep, counted by state (for /metrics)."""
        with self._read() as session:
            rows = session.execute(select(SqlTrial.state, func.count()).group_by(SqlTrial.state))
            return {state: int(n) for state, n in rows}

    def cancelled_sweep_ids(self, sweep_ids: list[int] | set[int]) -> set[int]:
        """Which of these sweeps are cancelled (the dispatcher stops their tasks)."""
        found: set[int] = set()
        with self._read() as session:
            for part in chunks(sorted(set(sweep_ids))):
                query = select(SqlSweep.id).where(SqlSweep.id.in_(part),
                                                  SqlSweep.state == "cancelled")
                found.update(session.scalars(query))
        return found

    # -- claims and leases ---------------------------------------------------------------------

    def claim_trials(self, *, holder: str, max_trials: int, max_batch: int,
                     lease_seconds: float) -> list[ClaimedBatch]:
        """Claim up to `max_trials` pending trials, oldest sweep first, as batches; trials of
        cancelled and paused sweeps are left alone.

        Each claimed trial becomes running with `attempt + 1`, held by `holder` with a lease of
        `lease_seconds`. On PostgreSQL, rows another claimer holds are skipped
        (`FOR UPDATE SKIP LOCKED`), so concurrent claims never return one trial twice.

        Returns:
            Batches of trials of one sweep sharing a batch key, each at most `max_batch` long;
            trials flagged to be isolated in batches of one.
        """
        if max_trials <= 0:
            return []
        with self._write() as session:
            now = self._clock()
            query = (select(*_CLAIM_COLUMNS).join(SqlSweep, SqlSweep.id == SqlTrial.sweep_id)
                     .where(SqlTrial.state == "pending",
                            SqlSweep.state.not_in(UNCLAIMED_SWEEP_STATES))
                     .order_by(SqlTrial.sweep_id, SqlTrial.id).limit(max_trials)
                     .with_for_update(of=SqlTrial, skip_locked=True))
            rows = list(session.execute(query))
            if not rows:
                return []
            self._mark_running(session, [r.id for r in rows], holder, now, lease_seconds)
            counters.add(session, counters.moved((r.sweep_id for r in rows), "pending",
                                                 "running"))
            start_sweeps(session, {r.sweep_id for r in rows}, now)
            claimed = [_Claimed(*r)._replace(attempt=r.attempt + 1) for r in rows]
            return build_batches(claimed, self._specs(session, claimed), max_batch)

    @staticmethod
    def _mark_running(session: Session, ids: list[int], holder: str, now: Any,
                      lease_seconds: float) -> None:
        values = {"state": "running", "attempt": SqlTrial.attempt + 1, "holder": holder,
                  "lease_expires_at": now + timedelta(seconds=lease_seconds),
                  "started_at": now, "progress": 0.0, "node": None, "device": None}
        for part in chunks(ids):
            session.execute(update(SqlTrial).where(SqlTrial.id.in_(part)).values(**values)
                            .execution_options(synchronize_session=False))

    @staticmethod
    def _specs(session: Session, rows: list[Any]) -> SpecCache:
        ids = sorted({r.sweep_id for r in rows})
        query = select(SqlSweep.id, SqlSweep.spec, SqlSweep.n_trials).where(SqlSweep.id.in_(ids))
        return SpecCache({i: (spec, n) for i, spec, n in session.execute(query)})

    def renew_leases(self, items: list[tuple[int, int]], lease_seconds: float,
                     progress: dict[int, float] | None = None) -> int:
        """Extend the leases of running trials, and record their progress.

        Args:
            items: (trial_id, attempt) pairs; only trials running with that attempt count.
            lease_seconds: the new lease, from now.
            progress: trial id → share of its steps done, in [0, 1].

        Returns:
            How many leases were renewed.
        """
        renewed = 0
        with self._write() as session:
            expires = self._clock() + timedelta(seconds=lease_seconds)
            for part in chunks(sorted(set(items)), 200):
                values: dict[str, Any] = {"lease_expires_at": expires}
                shares = {t: min(1.0, max(0.0, float(p))) for t, p in (progress or {}).items()
                          if t in {tid for tid, _ in part}}
                if shares:
                    values["progress"] = case(shares, value=SqlTrial.id, else_=SqlTrial.progress)
                result = session.execute(
                    update(SqlTrial)
                    .where(tuple_(SqlTrial.id, SqlTrial.attempt).in_(part),
                           SqlTrial.state == "running")
                    .values(**values).execution_options(synchronize_session=False)
                )
                renewed += result.rowcount
        return renewed

    # -- results and releases ------------------------------------------------------------------

    def record_results(self, items: list[ResultItem]) -> Fenced:
        """Store results of running trials, fenced by attempt, in one transaction.

        A result is accepted only while its trial is running with the item's attempt; the trial
        then becomes completed and its sweep is closed once no trial is left open. Stale
        results (an older attempt, a cancelled or already completed trial) and results whose
        weights do not match their sha256 are refused and logged.

        Returns:
            The accepted and the rejected trial ids.
        """
        if not items:
            return Fenced()
        with self._write() as session:
            now = self._clock()
            rows = {r.id: r for r in running_rows(session, (i.trial_id for i in items))}
            accepted = self._fence(items, rows)
            if accepted:
                # Weights stored once per content: a blob already there is left as it is.
                dialect = postgresql if self.is_postgres else sqlite
                session.execute(dialect.insert(SqlWeightBlob.__table__)
                                .on_conflict_do_nothing(index_elements=["sha256"]),
                                _blob_rows(accepted))
                session.execute(insert(SqlResult.__table__), [_result_row(i, now) for i in accepted])
                self._complete(session, accepted, now)
                counters.add(session, counters.moved(
                    (rows[i.trial_id].sweep_id for i in accepted), "running", "completed"))
                refresh_sweeps(session, {rows[i.trial_id].sweep_id for i in accepted}, now)
        ok = {i.trial_id for i in accepted}
        return Fenced(accepted=[i.trial_id for i in accepted],
                      rejected=[i.trial_id for i in items if i.trial_id not in ok])

    @staticmethod
    def _fence(items: list[ResultItem], rows: dict[int, Any]) -> list[ResultItem]:
        accepted: dict[int, ResultItem] = {}
        for item in items:
            row = rows.get(item.trial_id)
            fresh = (row is not None and row.state == "running" and row.attempt == item.attempt
                     and item.trial_id not in accepted)
            if fresh and _weights_intact(item):
                accepted[item.trial_id] = item
            elif fresh:
                log.error("rejected result with corrupt weights trial=%d attempt=%d",
                          item.trial_id, item.attempt)
            else:
                log.warning("rejected stale result trial=%d attempt=%d",
                            item.trial_id, item.attempt)
        return list(accepted.values())

    @staticmethod
    def _complete(session: Session, items: list[ResultItem], now: Any) -> None:
        trials = SqlTrial.__table__
        stmt = (update(trials).where(trials.c.id == bindparam("b_id"))
                .values(state="completed", finished_at=now, node=bindparam("b_node"),
                        device=bindparam("b_device"), progress=1.0, holder=None,
                        lease_expires_at=None, error=None))
        session.execute(stmt, [{"b_id": i.trial_id, "b_node": i.node, "b_device": i.device}
                               for i in items])

    def release_trials(self, items: list[tuple[int, int]], error: str, *,
                       isolate: bool) -> None:
        """Give running trials back after their batch failed: retried, or failed for good.

        Args:
            items: (trial_id, attempt) pairs; only trials running with that attempt count.
            error: recorded as the trials' last error.
            isolate: the next claim puts each of them in a batch of its own.
        """
        if not items:
            return
        wanted = dict(items)
        with self._write() as session:
            rows = [r for r in running_rows(session, wanted)
                    if r.state == "running" and r.attempt == wanted[r.id]]
            release(session, rows, error, isolate=isolate, now=self._clock())

    def reap_expired_leases(self) -> list[int]:
        """Release every running trial whose lease has expired.

        Returns:
            The ids of the trials released (to pending, or failed when out of attempts).
        """
        with self._write() as session:
            now = self._clock()
            query = release_columns().where(SqlTrial.state == "running",
                                            SqlTrial.lease_expires_at < now)
            rows = locked_trials(session, query, skip_locked=True)
            release(session, rows, LEASE_EXPIRED, isolate=False, now=now)
            return [r.id for r in rows]

    def release_orphans(self, holder: str) -> int:
        """Release the running trials of every holder but `holder` (a new leader's first act).

        Returns:
            How many trials were released.
        """
        with self._write() as session:
            mine = SqlTrial.holder == holder
            query = release_columns().where(SqlTrial.state == "running",
                                            SqlTrial.holder.is_(None) | ~mine)
            rows = locked_trials(session, query)
            release(session, rows, ORPHANED, isolate=False, now=self._clock())
            return len(rows)
