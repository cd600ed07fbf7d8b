"""ORM rows → plain records. The only place that knows both shapes."""

from __future__ import annotations

from sweepd.records import (
    ResultRecord,
    SweepRecord,
    TokenRecord,
    TrialRecord,
    UserRecord,
)
from sweepd.states import FINAL_TRIAL_STATES, TRIAL_STATES
from sweepd.storage.models import SqlApiToken, SqlResult, SqlSweep, SqlTrial, SqlUser


def user_record(row: SqlUser) -> UserRecord:
    return UserRecord(id=row.id, name=row.name, is_admin=row.is_admin, created_at=row.created_at)


def token_record(row: SqlApiToken) -> TokenRecord:
    return TokenRecord(id=row.id, user_id=row.user_id, name=row.name, prefix=row.prefix,
                       created_at=row.created_at, revoked_at=row.revoked_at)


def sweep_record(row: SqlSweep, counts: dict[str, int], running_progress: float) -> SweepRecord:
    """A sweep with its trial counts per state and the progress they add up to.

    Args:
        row: the sweep.
        counts: trials per state (missing states count zero).
        running_progress: the sum of the running trials' progress (each in [0, 1]).
    """
    full = {state: int(counts.get(state, 0)) for state in TRIAL_STATES}
    done = sum(full[state] for state in FINAL_TRIAL_STATES)
    progress = (done + running_progress) / row.n_trials if row.n_trials else 1.0
    return SweepRecord(
        id=row.id, owner_id=row.owner_id, name=row.name, spec=row.spec, state=row.state,
        n_trials=row.n_trials, counts=full, progress=min(1.0, max(0.0, progress)),
        created_at=row.created_at, updated_at=row.updated_at, finished_at=row.finished_at,
        idempotency_key=row.idempotency_key, stop_reason=row.stop_reason,
    )


def result_record(row: SqlResult, *, curve: bool = True) -> ResultRecord:
    """The record of a result row; `curve=False`: with an empty curve, never reading the
    (deferred) curve column."""
    # Built from the model's own field list; the deferred weight columns are not among them.
    if curve:
        return ResultRecord.model_validate(row)
    fields = {name: getattr(row, name) for name in _RESULT_FIELDS}
    return ResultRecord.model_validate({**fields, "curve": []})


_RESULT_FIELDS = tuple(name for name in ResultRecord.model_fields if name != "curve")


def trial_record(row: SqlTrial, max_attempts: int, result: SqlResult | None = None, *,
                 curve: bool = True) -> TrialRecord:
    return TrialRecord(
        id=row.id, sweep_id=row.sweep_id, cell_key=row.cell_key, seed=row.seed,
        order_seed=row.order_seed, data_seed=row.data_seed,
        initializer=row.initializer, initializer_label=row.initializer_label, params=row.params,
        state=row.state, attempt=row.attempt, max_attempts=max_attempts, progress=row.progress,
        node=row.node, device=row.device, started_at=row.started_at,
        finished_at=row.finished_at, error=row.error,
        result=result_record(result, curve=curve) if result is not None else None,
    )
