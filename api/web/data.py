"""JSON for the page's scripts under /web-api: figures, boundaries, and the page's two actions.

    GET  /web-api/sweeps/{id}/trials       every trial as a row, cost bands per initializer
    GET  /web-api/sweeps/{id}/comparison   the comparison and its verdict, heat maps
    GET  /web-api/sweeps/{id}/units        hidden units of every trial, raw and canonical
    GET  /web-api/sweeps/{id}/boundary     ?trial=..(1-6): decision boundaries (2-D datasets)
    POST /web-api/sweeps/{id}/cancel       the cancel button (same origin only)
    POST /web-api/sweeps/{id}/trials/{tid}/replay   the replay button (same origin only)

Authenticated like the JSON API (cookie or bearer token: 401 without), scoped to the caller
(another user's sweep is a 404). Not part of the public API: its shapes follow the page.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from sweepd.errors import Unavailable
from sweepd_api.convert import sweep_public
from sweepd_api.deps import CurrentUser, StoreDep, SweepId, TrialId
from sweepd_api.web import views
from sweepd_api.web.auth import check_same_origin

router = APIRouter(prefix="/web-api/sweeps", include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
SameOriginCheck = Annotated[None, Depends(check_same_origin)]
TrialIds = Annotated[list[int], Query(alias="trial", max_length=views.MAX_BOUNDARY_TRIALS,
                                      description="Trial ids of this sweep.")]


def reply(content: Any) -> Response:
    """JSON that is never cached: it is one user's data and changes while a sweep runs."""
    if isinstance(content, bytes):
        return Response(content, media_type="application/json", headers=NO_STORE)
    return JSONResponse(content, headers=NO_STORE)


@router.get("/{sweep_id}/trials")
def sweep_trials(sweep_id: SweepId, user: CurrentUser, store: StoreDep,
                 request: Request) -> Response:
    return reply(views.trials_json(store, user.id, sweep_id, request.app.state.web_figures))


@router.get("/{sweep_id}/comparison")
def sweep_comparison(sweep_id: SweepId, user: CurrentUser, store: StoreDep,
                     request: Request) -> Response:
    return reply(views.comparison_json(store, user.id, sweep_id, request.app.state.web_figures,
                                       request.app.state.comparisons))


@router.get("/{sweep_id}/units")
def sweep_units(sweep_id: SweepId, user: CurrentUser, store: StoreDep,
                request: Request) -> Response:
    return reply(views.units_json(store, user.id, sweep_id, request.app.state.web_figures))


@router.get("/{sweep_id}/boundary")
def sweep_boundary(sweep_id: SweepId, user: CurrentUser, store: StoreDep,
                   trial_ids: TrialIds) -> Response:
    return reply(views.boundary_view(store, user.id, sweep_id, trial_ids))


@router.post("/{sweep_id}/cancel")
def cancel_sweep(sweep_id: SweepId, user: CurrentUser, _origin: SameOriginCheck,
                 store: StoreDep) -> Response:
    return reply(sweep_public(store.cancel_sweep(user.id, sweep_id)).model_dump(mode="json"))


@router.post("/{sweep_id}/trials/{trial_id}/replay")
def replay_trial(sweep_id: SweepId, trial_id: TrialId, user: CurrentUser,
                 _origin: SameOriginCheck, store: StoreDep, request: Request) -> Response:
    """Train the trial again and say whether the weights match (needs the executor)."""
    store.get_trial(user.id, sweep_id, trial_id)  # another user's trial: 404 before all else
    replay = request.app.state.replay
    if replay is None:
        raise Unavailable("replay needs the service's executor, which this process lacks")
    return reply(finite(replay(user.id, sweep_id, trial_id)))


def finite(value: Any) -> Any:
    """`value` with every NaN or infinite float replaced by None (JSON has no spelling)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value

