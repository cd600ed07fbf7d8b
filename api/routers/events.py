"""Server-Sent Events of one sweep: `progress`, `trial` (a trial finished) and `end`.

The stream polls the store (in the threadpool) every `POLL_SECONDS` and sends

    event: progress   data: SweepProgress         whenever counts, progress or state change
    event: trial      data: TrialPublic (no curve) for each trial finished since the cursor
    event: end        data: SweepProgress         once the sweep is final; then it closes

Each `trial` event carries an `id:` (the cursor, finished_at|trial id), so a client that
reconnects with `Last-Event-ID` resumes after the last trial it saw instead of from the start.
A comment line every `KEEPALIVE_SECONDS` keeps proxies from closing an idle stream; the loop
stops as soon as the client disconnects.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from sweepd.errors import NotFound
from sweepd.records import SweepRecord, TrialRecord
from sweepd.states import FINAL_SWEEP_STATES
from sweepd.storage.store import Store
from sweepd_api.convert import sweep_progress, trial_public
from sweepd_api.deps import CurrentUser, StoreDep, SweepId
from sweepd_api.openapi import problems

router = APIRouter(prefix="/sweeps", tags=["sweeps"])

POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000  # how long an EventSource waits before it reconnects
Cursor = tuple[datetime, int]

# Each event of the stream, as OpenAPI 3.2's `itemSchema` describes server-sent events: `event`
# names the kind and `data` carries its JSON (SweepProgress for progress/end, TrialPublic).
_EVENT = {"type": "object", "required": ["data"],
          "properties": {"event": {"type": "string", "enum": ["progress", "trial", "end"]},
                         "data": {"type": "string", "contentMediaType": "application/json"},
                         "id": {"type": "string"}, "retry": {"type": "integer"}}}
_STREAM_200 = {"description": "A text/event-stream of `progress`, `trial` and `end` events.",
               "content": {"text/event-stream": {"itemSchema": _EVENT}}}


@router.get("/{sweep_id}/events", response_class=StreamingResponse,
            responses={200: _STREAM_200, **problems(401, 404, 422)})
async def sweep_events(
    sweep_id: SweepId, user: CurrentUser, store: StoreDep, request: Request,
    last_event_id: Annotated[str | None, Header(max_length=200)] = None,
) -> StreamingResponse:
    """Follow a sweep live: progress, each finished trial, and the end."""
    await run_in_threadpool(store.get_sweep, user.id, sweep_id)  # a 404 before the stream opens
    stream = SweepStream(store, user.id, sweep_id, parse_cursor(last_event_id))
    return StreamingResponse(stream.events(request), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class SweepStream:
    """The event loop of one client's stream.

    Args:
        store: the store.
        owner_id: the client's user (every read is scoped to it).
        sweep_id: the sweep.
        cursor: (finished_at, trial id) of the last trial the client has seen, or None.
    """

    def __init__(self, store: Store, owner_id: int, sweep_id: int, cursor: Cursor | None) -> None:
        self.store = store
        self.owner_id = owner_id
        self.sweep_id = sweep_id
        self.cursor = cursor
        self._last_sent = time.monotonic()

    async def events(self, request: Request) -> AsyncIterator[str]:
        """Yield the stream's text until the sweep ends or the client goes away."""
        yield self._mark(f"retry: {RETRY_MS}\n\n")
        shown: BaseModel | None = None
        while True:
            try:
                sweep, finished = await run_in_threadpool(self._poll)
            except NotFound:  # deleted meanwhile: nothing more will happen to it
                return
            for trial in finished:
                yield self._mark(self._trial_event(trial))
            progress = sweep_progress(sweep)
            if progress != shown:
                yield self._mark(_event("progress", progress))
                shown = progress
            if finished:
                continue  # there may be more finished trials than one read returns
            if sweep.state in FINAL_SWEEP_STATES:
                yield self._mark(_event("end", progress))
                return
            if await _disconnected_after(request, POLL_SECONDS):
                return
            if time.monotonic() - self._last_sent >= KEEPALIVE_SECONDS:
                yield self._mark(": keep-alive\n\n")

    def _poll(self) -> tuple[SweepRecord, list[TrialRecord]]:
        # The sweep first: once it reads as final, the events read next include every trial.
        sweep = self.store.get_sweep(self.owner_id, self.sweep_id)
        return sweep, self.store.trial_events(self.owner_id, self.sweep_id, after=self.cursor)

    def _trial_event(self, trial: TrialRecord) -> str:
        assert trial.finished_at is not None  # trial_events returns finished trials only
        self.cursor = (trial.finished_at, trial.id)
        data = trial_public(trial).model_dump_json(exclude={"result": {"curve"}})
        return f"id: {format_cursor(self.cursor)}\nevent: trial\ndata: {data}\n\n"

    def _mark(self, text: str) -> str:
        self._last_sent = time.monotonic()
        return text


def format_cursor(cursor: Cursor) -> str:
    return f"{cursor[0].isoformat()}|{cursor[1]}"


def parse_cursor(text: str | None) -> Cursor | None:
    """The cursor of a `Last-Event-ID` header; None (start over) when absent or malformed."""
    if not text:
        return None
    when, _, trial_id = text.partition("|")
    try:
        moment = datetime.fromisoformat(when)
        return (moment, int(trial_id)) if moment.tzinfo is not None else None
    except ValueError:
        return None


def _event(name: str, data: BaseModel) -> str:
    return f"event: {name}\ndata: {data.model_dump_json()}\n\n"


async def _disconnected_after(request: Request, seconds: float) -> bool:
    await anyio.sleep(seconds)
    return await request.is_disconnected()
