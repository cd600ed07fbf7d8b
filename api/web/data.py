"""JSON for the page's scripts under /web-api: figures, boundaries, and the page's actions.

    GET  /web-api/sweeps/{id}/trials       every trial as a row, cost bands per initializer
    GET  /web-api/sweeps/{id}/comparison   the comparison and its verdict, heat maps
    GET  /web-api/sweeps/{id}/units        hidden units of every trial, raw and canonical
    GET  /web-api/sweeps/{id}/boundary     ?trial=..(1-6): decision boundaries (2-D datasets)
    GET  /web-api/sweeps/{id}/growth       seeds until decided (each look), seeds added
    POST /web-api/sweeps/{id}/cancel       the cancel button
    POST /web-api/sweeps/{id}/pause        the pause and resume buttons
    POST /web-api/sweeps/{id}/resume
    POST /web-api/sweeps/{id}/trials/{tid}/replay   the replay button
    GET  /web-api/sweeps/{id}/trials/{tid}           \
    GET  /web-api/sweeps/{id}/trials/{tid}/weights    the API's own handlers, for the page's
    GET  /web-api/sweeps/{id}/events                 / cookie (the API takes bearer tokens only)

Authenticated by the session cookie or a bearer token (401 without); a cookie request that
changes something also needs this origin and the session's CSRF token (403 otherwise; see
`sweepd_api.deps.current_user`). Scoped to the caller (another user's sweep is a 404). Not part
of the public API: its shapes follow the page.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from sweepd.errors import Unavailable
from sweepd_api.convert import sweep_public
from sweepd_api.deps import CurrentUser, NewTrials, StoreDep, SweepId, TrialId
from sweepd_api.routers import events, trials
from sweepd_api.web import views

router = APIRouter(prefix="/web-api/sweeps", include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
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
async def sweep_comparison(sweep_id: SweepId, user: CurrentUser, store: StoreDep,
                           request: Request) -> Response:
    """Through the comparisons' runner, as `/compare` is: a few at a time, with a time budget."""
    state = request.app.state
    return reply(await state.compare_runner.run(("figures", user.id, sweep_id), partial(
        views.comparison_json, store, user.id, sweep_id, state.web_figures, state.comparisons)))


@router.get("/{sweep_id}/units")
def sweep_units(sweep_id: SweepId, user: CurrentUser, store: StoreDep,
                request: Request) -> Response:
    return reply(views.units_json(store, user.id, sweep_id, request.app.state.web_figures))


@router.get("/{sweep_id}/boundary")
def sweep_boundary(sweep_id: SweepId, user: CurrentUser, store: StoreDep,
                   trial_ids: TrialIds) -> Response:
    return reply(views.boundary_view(store, user.id, sweep_id, trial_ids))


@router.get("/{sweep_id}/growth")
def sweep_growth(sweep_id: SweepId, user: CurrentUser, store: StoreDep) -> Response:
    return reply(views.growth_json(store, user.id, sweep_id))


@router.post("/{sweep_id}/cancel")
def cancel_sweep(sweep_id: SweepId, user: CurrentUser, store: StoreDep) -> Response:
    return reply(sweep_public(store.cancel_sweep(user.id, sweep_id)).model_dump(mode="json"))


@router.post("/{sweep_id}/pause")
def pause_sweep(sweep_id: SweepId, user: CurrentUser, store: StoreDep) -> Response:
    return reply(sweep_public(store.pause_sweep(user.id, sweep_id)).model_dump(mode="json"))


@router.post("/{sweep_id}/resume")
def resume_sweep(sweep_id: SweepId, user: CurrentUser, store: StoreDep,
                 new_trials: NewTrials) -> Response:
    resumed = store.resume_sweep(user.id, sweep_id)
    new_trials()
    return reply(sweep_public(resumed).model_dump(mode="json"))


@router.post("/{sweep_id}/trials/{trial_id}/replay")
def replay_trial(sweep_id: SweepId, trial_id: TrialId, user: CurrentUser,
                 store: StoreDep, request: Request) -> Response:
    """Train the trial again and say whether the weights match (needs the executor)."""
    store.get_trial(user.id, sweep_id, trial_id)  # another user's trial: 404 before all else
    replay = request.app.state.replay
    if replay is None:
        raise Unavailable("replay needs the service's executor, which this process lacks")
    return reply(finite(replay(user.id, sweep_id, trial_id)))


def _serve_here(source: APIRouter, endpoint: Callable[..., Any], path: str) -> None:
    """Serve an API route's own handler at `path` too, as the API declares it."""
    route = next(r for r in source.routes if isinstance(r, APIRoute) and r.endpoint is endpoint)
    router.add_api_route(path, endpoint, methods=list(route.methods),
                         response_class=route.response_class,
                         response_model=route.response_model)


_serve_here(trials.router, trials.get_trial, "/{sweep_id}/trials/{trial_id}")
_serve_here(trials.router, trials.download_weights, "/{sweep_id}/trials/{trial_id}/weights")
_serve_here(events.router, events.sweep_events, "/{sweep_id}/events")


def finite(value: Any) -> Any:
    """`value` with every NaN or infinite float replaced by None (JSON has no spelling)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value

