"""GET /web-api/sweeps/live?ids=1,2,3: one event stream for every sweep on a list page.

A page of the sweeps list follows all its unfinished sweeps over this one connection instead
of one `/api/v1/sweeps/{id}/events` stream each: browsers open at most six connections per
host over HTTP/1.1, and a list of running sweeps would otherwise use them all up.

    event: progress   data: {sweep_id, state, n_trials, counts, progress, finished_at}
    event: end        once every listed sweep is final; then the stream closes

Ids that are not the caller's sweeps are ignored (they produce no events), as in any other
owner-scoped read. It sends progress only, a few events a second, so it is FastAPI's own
`EventSourceResponse` (the per-sweep stream writes its trial events in chunks instead, see
`sweepd_api.routers.events`); like that one it reads the sweeps through their shared pollers
(`sweepd_api.event_hub`), counts against the user's cap of open streams (429), closes when the
session lapses, and ends when the service stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from sweepd.records import SweepRecord
from sweepd_api.deps import CurrentUser
from sweepd_api.event_hub import Mailbox
from sweepd_api.routers.events import Recheck, hub

router = APIRouter(prefix="/web-api/sweeps", include_in_schema=False)

MAX_IDS = 100
RETRY_MS = 3000

IdList = Annotated[str, Query(max_length=1200, pattern=r"^\d{1,10}(,\d{1,10}){0,99}$",
                              description="Comma-separated sweep ids (at most 100).")]


async def open_mailbox(request: Request, user: CurrentUser) -> AsyncIterator[Mailbox]:
    """Dependency: a progress-only mailbox, held against the user's cap of open streams."""
    with hub(request).open(user.id, trials=False) as mailbox:
        yield mailbox


@router.get("/live", response_class=EventSourceResponse)
async def live_sweeps(ids: IdList, user: CurrentUser, request: Request,
                      mailbox: Annotated[Mailbox, Depends(open_mailbox)],
                      ) -> AsyncIterator[ServerSentEvent]:
    """Progress of the listed sweeps until all of them are final."""
    yield ServerSentEvent(retry=RETRY_MS)
    waiting = set(list(dict.fromkeys(int(i) for i in ids.split(",")))[:MAX_IDS])
    for sweep_id in waiting:
        hub(request).follow(mailbox, user.id, sweep_id)
    shown: dict[int, dict[str, Any]] = {}
    recheck = Recheck(request)
    while waiting:
        updates = await mailbox.next(timeout=recheck.due_in())
        if updates is None or not await recheck.still_authorized():
            return
        for update in updates:
            if update.gone or update.sweep is None:  # not the caller's, or deleted
                waiting.discard(update.sweep_id)
                continue
            data = progress_data(update.sweep)
            if shown.get(update.sweep_id) != data:
                shown[update.sweep_id] = data
                yield ServerSentEvent(event="progress", data=data)
            if update.final:
                waiting.discard(update.sweep_id)
    yield ServerSentEvent(event="end", data={})


def progress_data(sweep: SweepRecord) -> dict[str, Any]:
    """What a list row shows of a sweep."""
    return {"sweep_id": sweep.id, "state": sweep.state, "n_trials": sweep.n_trials,
            "counts": sweep.counts, "progress": round(sweep.progress, 4),
            "finished_at": sweep.finished_at.isoformat() if sweep.finished_at else None}
