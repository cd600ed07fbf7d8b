"""The HTML pages: the sweeps list, a sweep, a trial. Signed-in users only (else 303 to /signin).

Pages carry what the server knows at once (records, the spec in words, weight tables); the
figures that take longer to compute arrive through `sweepd_api.web.data` and are drawn by the page's
scripts, so the page shows up at once and fills in.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from sweepd.errors import NotFound
from sweepd_api.deps import StoreDep, SweepId, TrialId
from sweepd_api.web import views
from sweepd_api.web.auth import PageUser
from sweepd_api.web.templating import render

PAGE_SIZE = 25

router = APIRouter(include_in_schema=False)

PageNumber = Annotated[int, Query(ge=1, le=10**9, description="Page of the list, from 1.")]


@router.get("/")
def sweeps_page(request: Request, user: PageUser, store: StoreDep, page: PageNumber = 1,
                ) -> Response:
    """The user's sweeps, newest first, with live progress."""
    records, total = store.list_sweeps(user.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(request, "sweeps.html", user=user, sweeps=records, total=total, page=page,
                  pages=max(1, math.ceil(total / PAGE_SIZE)))


@router.get("/sweeps/{sweep_id}")
def sweep_page(request: Request, sweep_id: SweepId, user: PageUser,
               store: StoreDep) -> Response:
    """One sweep: its spec, live progress, the comparison and the trials."""
    try:
        context = views.sweep_page(store, user.id, sweep_id)
    except NotFound:
        return _not_found(request, user, f"There is no sweep {sweep_id} among your sweeps.")
    return render(request, "sweep.html", user=user, **context)


@router.get("/sweeps/{sweep_id}/trials/{trial_id}")
def trial_page(request: Request, sweep_id: SweepId, trial_id: TrialId, user: PageUser,
               store: StoreDep) -> Response:
    """One trial: metrics, curve, weights raw and canonical, boundary, environment, replay."""
    try:
        context = views.trial_page(store, user.id, sweep_id, trial_id)
    except NotFound:
        return _not_found(request, user, f"There is no trial {trial_id} in sweep {sweep_id} "
                          "among your sweeps.")
    return render(request, "trial.html", user=user,
                  can_replay=request.app.state.replay is not None, **context)


def _not_found(request: Request, user: object, message: str) -> Response:
    return render(request, "not_found.html", 404, user=user, message=message)
