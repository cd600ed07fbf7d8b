"""The reads of a comparison (issue 19): keys of every trial, then only the trials analysed.

A comparison of a large sweep analyses a sample of its trials (`sweepd.compare_sample`), so it
reads two things: the few columns that choose the sample, for every trial (one Core query, no
ORM objects, no results, no weights), and then the chosen trials with their results and final
weights (by id, in chunks). A sweep under the sampling threshold reads its trials, results and
weights in one query instead of two.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import undefer

from sweepd.compare_sample import TrialKey
from sweepd.records import TrialRecord
from sweepd.states import FINAL_TRIAL_STATES
from sweepd.storage.convert import trial_record
from sweepd.storage.models import SqlResult, SqlTrial
from sweepd.storage.store_base import StoreBase, chunks


class CompareStore(StoreBase):
    """Owner-scoped reads for comparisons."""

    def trial_keys(self, owner_id: int, sweep_id: int) -> list[TrialKey]:
        """Every trial of the sweep: id, pairing key, finished, has a result; in id order.

        Raises:
            NotFound: no such sweep, or not the owner's.
        """
        query = (select(SqlTrial.id, SqlTrial.seed, SqlTrial.order_seed, SqlTrial.data_seed,
                        SqlTrial.state, SqlResult.trial_id)
                 .outerjoin(SqlResult, SqlResult.trial_id == SqlTrial.id)
                 .where(SqlTrial.sweep_id == sweep_id).order_by(SqlTrial.id))
        with self._read() as session:
            self._owned_sweep(session, owner_id, sweep_id)
            return [TrialKey(tid, seed, order, data, state in FINAL_TRIAL_STATES,
                             result is not None)
                    for tid, seed, order, data, state, result in session.execute(query)]

    def compare_trials(self, owner_id: int, sweep_id: int, ids: list[int] | None = None
                       ) -> list[tuple[TrialRecord, bytes | None]]:
        """Trials of the sweep (those of `ids`, or all) with their results and final weights
        (None without a result), in id order.

        Raises:
            NotFound: no such sweep, or not the owner's.
        """
        base = (select(SqlTrial, SqlResult).outerjoin(SqlResult, SqlResult.trial_id == SqlTrial.id)
                .options(undefer(SqlResult.final_weights)).order_by(SqlTrial.id))
        parts = [None] if ids is None else list(chunks(sorted(ids)))
        out: list[tuple[TrialRecord, bytes | None]] = []
        with self._read() as session:
            sweep = self._owned_sweep(session, owner_id, sweep_id)
            for part in parts:
                where = [SqlTrial.sweep_id == sweep_id]
                if part is not None:
                    where.append(SqlTrial.id.in_(part))
                for t, r in session.execute(base.where(*where)):
                    blob = None if r is None or r.final_weights is None else bytes(r.final_weights)
                    out.append((trial_record(t, sweep.max_attempts, r), blob))
        return out
