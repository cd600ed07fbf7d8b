"""Sweeps: submit (idempotent), list, get, cancel, pause, resume. Every handler is scoped to the
caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from sweepd import submission
from sweepd.schemas import SweepPublic, SweepsPublic
from sweepd_api.body import SpecBody
from sweepd_api.convert import sweep_public, sweeps_public
from sweepd_api.deps import (
    DEFAULT_LIMIT,
    CurrentUser,
    IdempotencyKey,
    Limit,
    NewTrials,
    Offset,
    SettingsDep,
    StoreDep,
    SweepId,
)
from sweepd_api.openapi import SPEC_BODY, problems

SweepName = Annotated[str | None, Query(min_length=1, max_length=200,
                                        description="Only the sweeps with this name.")]

router = APIRouter(prefix="/sweeps", tags=["sweeps"], responses=problems(401))


@router.post("", status_code=201, openapi_extra=SPEC_BODY,
             responses={200: {"model": SweepPublic, "description": "Stored before under this "
                              "Idempotency-Key with the same body: the stored sweep"},
                        **problems(400, 409, 413, 415, 422, 429)})
def submit_sweep(user: CurrentUser, key: IdempotencyKey, spec: SpecBody, store: StoreDep,
                 settings: SettingsDep, response: Response, new_trials: NewTrials) -> SweepPublic:
    """Submit a sweep: the spec is validated completely, then stored with all its trials.

    With an `Idempotency-Key`, a repeated request with the same body returns the stored sweep
    (200) and the same key with another body is refused (409).
    """
    record, created = submission.submit_sweep(store, settings, user.id, spec,
                                              idempotency_key=key)
    if created:
        new_trials()
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/v1/sweeps/{record.id}"
    return sweep_public(record)


@router.get("", responses=problems(422))
def list_sweeps(user: CurrentUser, store: StoreDep, limit: Limit = DEFAULT_LIMIT,
                offset: Offset = 0, name: SweepName = None) -> SweepsPublic:
    """The caller's sweeps (those with this `name`, when given), newest first."""
    records, total = store.list_sweeps(user.id, limit=limit, offset=offset, name=name)
    return sweeps_public(records, total, limit, offset)


@router.get("/{sweep_id}", responses=problems(404, 422))
def get_sweep(sweep_id: SweepId, user: CurrentUser, store: StoreDep) -> SweepPublic:
    """A sweep: state, trials per state, progress, spec and timestamps."""
    return sweep_public(store.get_sweep(user.id, sweep_id))


@router.post("/{sweep_id}/cancel", responses=problems(404, 422))
def cancel_sweep(sweep_id: SweepId, user: CurrentUser, store: StoreDep) -> SweepPublic:
    """Cancel a sweep's pending and running trials (a paused sweep's too); a finished sweep is
    returned unchanged."""
    return sweep_public(store.cancel_sweep(user.id, sweep_id))


@router.post("/{sweep_id}/pause", responses=problems(404, 409, 422))
def pause_sweep(sweep_id: SweepId, user: CurrentUser, store: StoreDep) -> SweepPublic:
    """Pause a sweep: no new trial of it starts; trials already running finish and their
    results are stored. The sweep reads `paused` (also across restarts) until resumed, and
    can still be cancelled. Pausing a paused sweep returns it unchanged; a finished sweep
    (completed, failed or cancelled) is a 409.
    """
    return sweep_public(store.pause_sweep(user.id, sweep_id))


@router.post("/{sweep_id}/resume", responses=problems(404, 409, 422))
def resume_sweep(sweep_id: SweepId, user: CurrentUser, store: StoreDep,
                 new_trials: NewTrials) -> SweepPublic:
    """Resume a paused sweep: its pending trials are claimed again, and it reads `running`
    (`pending` if none of its trials has started yet). An open sweep that is not paused is
    returned unchanged; a finished sweep is a 409.
    """
    resumed = store.resume_sweep(user.id, sweep_id)
    new_trials()
    return sweep_public(resumed)
