"""GET /web-api/sweeps/live?ids=1,2,3: one event stream for every sweep on a list page.

A page of the sweeps list follows all its unfinished sweeps over this one connection instead
of one `/api/v1/sweeps/{id}/events` stream each: browsers open at most six connections per
host over HTTP/1.1, and a list of running sweeps would otherwise use them all up.

    event: progress   data: {sweep_id, state, n_trials, counts, progress, finished_at}
    event: end        once every listed sweep is final; then the stream closes

Ids that are not the caller's sweeps are ignored (they produce no events), as in any other
owner-scoped read.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from sweepd.errors import NotFound
from sweepd.records import SweepRecord
from sweepd.storage.store import Store
from sweepd_api.deps import CurrentUser, StoreDep

router = APIRouter(prefix="/web-api/sweeps", include_in_schema=False)

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
MAX_IDS = 100
FINAL = frozenset({"completed", "failed", "cancelled"})

IdList = Annotated[str, Query(max_length=1200, pattern=r"^\d{1,10}(,\d{1,10}){0,99}$",
                              description="Comma-separated sweep ids (at most 100).")]


@router.get("/live")
async def live_sweeps(ids: IdList, user: CurrentUser, store: StoreDep,
                      request: Request) -> StreamingResponse:
    """Progress of the listed sweeps until all of them are final."""
    wanted = list(dict.fromkeys(int(i) for i in ids.split(",")))[:MAX_IDS]
    return StreamingResponse(_follow(store, user.id, wanted, request),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _follow(store: Store, owner_id: int, ids: list[int],
                  request: Request) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    shown: dict[int, dict[str, Any]] = {}
    last_sent = time.monotonic()
    while True:
        sweeps = await run_in_threadpool(_read, store, owner_id, ids)
        for sweep in sweeps:
            data = progress_data(sweep)
            if shown.get(sweep.id) != data:
                shown[sweep.id] = data
                last_sent = time.monotonic()
                yield f"event: progress\ndata: {json.dumps(data)}\n\n"
        if all(s.state in FINAL for s in sweeps):
            yield "event: end\ndata: {}\n\n"
            return
        await anyio.sleep(POLL_SECONDS)
        if await request.is_disconnected():
            return
        if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"


def _read(store: Store, owner_id: int, ids: list[int]) -> list[SweepRecord]:
    found = []
    for sweep_id in ids:
        try:
            found.append(store.get_sweep(owner_id, sweep_id))
        except NotFound:
            continue
    return found


def progress_data(sweep: SweepRecord) -> dict[str, Any]:
    """What a list row shows of a sweep."""
    return {"sweep_id": sweep.id, "state": sweep.state, "n_trials": sweep.n_trials,
            "counts": sweep.counts, "progress": round(sweep.progress, 4),
            "finished_at": sweep.finished_at.isoformat() if sweep.finished_at else None}
