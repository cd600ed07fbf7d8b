"""Searches: the points a search sweep has so far, their results, and the next point's trials.

A search point is stored as its trials: every (grid point, seed, initializer) cell of it, with
the point's values in `params` beside the grid's. Points are numbered by the order they were
added (the smallest trial id of each), which is the order `sweepd.search` sampled them in.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from sweepd.records import SweepRecord
from sweepd.states import OPEN_TRIAL_STATES
from sweepd.storage.bulk import insert_rows
from sweepd.storage.models import SqlResult, SqlSweep, SqlTrial
from sweepd.storage.store_base import StoreBase
from sweepd.storage.transitions import refresh_sweeps


class SearchStore(StoreBase):
    """What the search driver reads and writes (system-level: the dispatcher's, no owner)."""

    def open_search_sweeps(self) -> list[SweepRecord]:
        """Sweeps with a search that are neither final nor fully sampled."""
        with self._read() as session:
            query = select(SqlSweep).where(SqlSweep.state.in_(("pending", "running")))
            return [self._sweep_record(session, s) for s in session.scalars(query)
                    if s.spec.get("search")]

    def search_trials(self, sweep_id: int) -> list[dict[str, Any]]:
        """Every trial of a search sweep: id, params, whether it has ended, and its result's
        metrics (`test_accuracy`, ..., and the tail's as `*_tail`), in id order."""
        with self._read() as session:
            query = (select(SqlTrial.id, SqlTrial.params, SqlTrial.state, SqlResult)
                     .outerjoin(SqlResult, SqlResult.trial_id == SqlTrial.id)
                     .where(SqlTrial.sweep_id == sweep_id).order_by(SqlTrial.id))
            return [{"id": tid, "params": params, "ended": state not in OPEN_TRIAL_STATES,
                     "metrics": _metrics(result)} for tid, params, state, result
                    in session.execute(query)]

    def add_search_trials(self, sweep_id: int, rows: list[dict[str, Any]]) -> int:
        """Insert one new point's trial rows (from `trial_rows(spec, [point])`), unless the
        point is there already (a dispatcher that died between sampling and this write).

        Returns:
            The trials inserted (0 when the point existed).
        """
        if not rows:
            return 0
        point = json.dumps(rows[0]["params"], sort_keys=True)
        with self._write() as session:
            sweep = session.get(SqlSweep, sweep_id, with_for_update=True)
            if sweep is None or sweep.state not in ("pending", "running"):
                return 0
            existing = session.scalars(select(SqlTrial.params).where(
                SqlTrial.sweep_id == sweep_id).distinct())
            if any(json.dumps(p, sort_keys=True) == point for p in existing):
                return 0
            for row in rows:
                row["sweep_id"] = sweep_id
            insert_rows(session, SqlTrial.__table__, rows)
            sweep.n_pending += len(rows)
            sweep.updated_at = self._clock()
            return len(rows)


    def end_search(self, sweep_id: int) -> None:
        """Stop a search early (its space has no new point left): the sweep's size becomes the
        trials it has, so it ends when they do."""
        with self._write() as session:
            sweep = session.get(SqlSweep, sweep_id, with_for_update=True)
            if sweep is None:
                return
            sweep.n_trials = session.scalar(select(func.count()).select_from(SqlTrial).where(
                SqlTrial.sweep_id == sweep_id)) or 0
            sweep.updated_at = self._clock()
            refresh_sweeps(session, [sweep_id], sweep.updated_at)


def _metrics(result: SqlResult | None) -> dict[str, float | None]:
    if result is None:
        return {}
    out = {k: getattr(result, k) for k in ("test_accuracy", "train_accuracy", "train_cost_tail",
                                           "test_cost")}
    tail = result.tail or {}
    out.update({f"{k}_tail": tail.get(k) for k in ("test_accuracy", "train_accuracy",
                                                   "test_cost")})
    return out
