"""The data behind the web page's plots, for scripts and notebooks (issue 13, item 8).

    GET /api/v1/sweeps/{id}/figures/trials       one row per trial, and every group's cost band
    GET /api/v1/sweeps/{id}/figures/comparison   the comparison, display labels, heat maps
    GET /api/v1/sweeps/{id}/figures/units        every first-layer hidden unit, raw and canonical

The same JSON the status page draws, computed by the same functions (`sweepd_api.web.views`)
and cached alike, so `sweep.plot(...)` in the SDK shows what the page shows.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response

from sweepd_api.deps import CurrentUser, StoreDep, SweepId
from sweepd_api.openapi import problems
from sweepd_api.web import views

router = APIRouter(prefix="/sweeps", tags=["figures"])

FigureName = Annotated[Literal["trials", "comparison", "units"], Path(
    description="trials: rows and cost bands; comparison: the comparison with labels and heat "
                "maps; units: hidden units raw and canonical.")]


@router.get("/{sweep_id}/figures/{name}", responses={
    200: {"description": "The figure's data as the web page reads it (its shape follows the page).",
          "content": {"application/json": {"schema": {"type": "object"}}}},
    **problems(401, 404)})
async def sweep_figure(sweep_id: SweepId, name: FigureName, user: CurrentUser, store: StoreDep,
                       request: Request) -> Response:
    """The data behind one of the status page's plots of a sweep (`sweep.plot(...)` draws it)."""
    state = request.app.state
    if name == "trials":
        compute = partial(views.trials_json, store, user.id, sweep_id, state.web_figures)
    elif name == "units":
        compute = partial(views.units_json, store, user.id, sweep_id, state.web_figures)
    else:
        compute = partial(views.comparison_json, store, user.id, sweep_id, state.web_figures,
                          state.comparisons)
    # Off the event loop, a few at a time and within a time budget, as comparisons are.
    body = await state.compare_runner.run(("figures", name, user.id, sweep_id), compute)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})
