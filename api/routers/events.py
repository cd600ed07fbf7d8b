"""Server-Sent Events of one sweep: `progress`, `trial` (a trial finished) and `end`.

    event: progress   data: SweepProgress         whenever counts, progress or state change
    event: trial      data: TrialPublic (no curve) for each trial finished since the cursor
    event: end        data: SweepProgress         once the sweep is final; then it closes
                                                  (paused is not final: the stream stays open)

Each `trial` event carries an `id:` (the cursor, finished_at|trial id), so a client that
reconnects with `Last-Event-ID` resumes after the last trial it saw instead of from the start;
a malformed one is a 400 before the stream opens.

The store is read by the sweep's one poller in `sweepd_api.event_hub`, shared by every stream
that follows the sweep, which also encodes each trial's event once for all of them. A stream
writes the trial events of one poll as chunks of `CHUNK` events (FastAPI's own
`EventSourceResponse` writes each event on its own: three task switches and a socket write per
trial, at a thousand trials a second the largest cost of the whole service, issue 19), with a
pause for the event loop after each chunk, so a client that drops mid-stream ends the stream
at the next write; it pings (`: ping`) after `PING_SECONDS` without an event. A user may hold
`sse_max_streams_per_user` streams (429 beyond), and each stream re-checks its credential every
`sse_auth_recheck_seconds`: a revoked token's streams close.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Annotated

import anyio.lowlevel
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import StreamingResponse
from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event
from starlette.concurrency import run_in_threadpool

from sweepd.errors import BadRequest, Unauthorized
from sweepd.records import UserRecord
from sweepd.schemas import SweepProgress
from sweepd_api.deps import MAX_TRIAL_ID, CurrentUser, StoreDep, SweepId, current_user
from sweepd_api.event_hub import (
    PAGE,
    Cursor,
    FinishedTrial,
    Mailbox,
    SweepHub,
    Update,
    cursor_of,
    finished_trial,
    later,
)
from sweepd_api.openapi import problems

router = APIRouter(prefix="/sweeps", tags=["sweeps"])

RETRY_MS = 2000  # how long an EventSource waits before it reconnects
CHUNK = 200  # trial events per write
PING_SECONDS = 15.0  # a `: ping` comment after this long without an event (proxies drop idle
# connections; the client learns the stream is alive)

# Each event of the stream, as OpenAPI 3.2's `itemSchema` describes server-sent events: `event`
# names the kind and `data` carries its JSON (SweepProgress for progress/end, TrialPublic).
_EVENT = {"type": "object", "required": ["data"],
          "properties": {"event": {"type": "string", "enum": ["progress", "trial", "end"]},
                         "data": {"type": "string", "contentMediaType": "application/json"},
                         "id": {"type": "string"}, "retry": {"type": "integer"}}}
_STREAM_200 = {"description": "A text/event-stream of `progress`, `trial` and `end` events.",
               "content": {"text/event-stream": {"itemSchema": _EVENT}}}


def last_event_cursor(
    last_event_id: Annotated[str | None, Header(max_length=200, description="Resume after "
                                                "this event (the `id:` of a `trial` event).")]
    = None,
) -> Cursor | None:
    """Dependency: the cursor of the `Last-Event-ID` header (None when absent).

    Raises:
        BadRequest: the header is not an id this service sent.
    """
    return parse_cursor(last_event_id)


async def check_sweep(sweep_id: SweepId, user: CurrentUser, store: StoreDep) -> None:
    """Dependency: a 404 before the stream opens.

    An owner-scoped read of at most one trial: `get_sweep` would count the sweep's trials, and
    200 streams opening on a 100 000-trial sweep would count them 200 times.
    """
    await run_in_threadpool(partial(store.trial_events, user.id, sweep_id, after=None, limit=1))


async def open_mailbox(request: Request, user: CurrentUser) -> AsyncIterator[Mailbox]:
    """Dependency: the stream's mailbox, held against the user's cap until the stream ends."""
    with hub(request).open(user.id) as mailbox:
        yield mailbox


class EventStream(StreamingResponse):
    """A `text/event-stream` of bytes the stream encoded itself (see the module docstring)."""

    media_type = "text/event-stream"


@router.get("/{sweep_id}/events", response_class=EventStream,
            responses={200: _STREAM_200, **problems(400, 401, 404, 422, 429, 503)})
async def sweep_events(
    sweep_id: SweepId, user: CurrentUser, request: Request,
    cursor: Annotated[Cursor | None, Depends(last_event_cursor)],
    _found: Annotated[None, Depends(check_sweep)],
    mailbox: Annotated[Mailbox, Depends(open_mailbox)],
) -> EventStream:
    """Follow a sweep live: progress, each finished trial, and the end."""
    # Dependencies run in this order: 401, 400 (Last-Event-ID), 404, 429 (streams per user),
    # all before the stream opens; the mailbox is held until the response ends.
    stream = SweepStream(request, user, sweep_id, cursor, mailbox)
    return EventStream(stream.chunks(),
                       headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class SweepStream:
    """The encoded events of one client's stream, read from its mailbox, a chunk at a time.

    Args:
        request: the stream's request (its credential is re-checked now and then).
        user: the client's user (every read is scoped to it).
        sweep_id: the sweep.
        cursor: (finished_at, trial id) of the last trial the client has seen, or None.
        mailbox: where the sweep's poller posts its updates.
    """

    def __init__(self, request: Request, user: UserRecord, sweep_id: int,
                 cursor: Cursor | None, mailbox: Mailbox) -> None:
        self.request, self.user, self.sweep_id = request, user, sweep_id
        self.cursor = cursor
        self.mailbox = mailbox
        self.store = request.app.state.store

    async def chunks(self) -> AsyncIterator[bytes]:
        """The stream's bytes until the sweep ends, the credential lapses or the hub closes;
        a `: ping` comment after `PING_SECONDS` without an event."""
        yield format_sse_event(retry=RETRY_MS)
        hub(self.request).follow(self.mailbox, self.user.id, self.sweep_id)
        shown = None
        recheck = Recheck(self.request)
        quiet_from = time.monotonic()
        while True:
            ping_in = quiet_from + PING_SECONDS - time.monotonic()
            updates = await self.mailbox.next(timeout=max(0.0, min(recheck.due_in(), ping_in)))
            if updates is None or not await recheck.still_authorized():
                return
            if not updates:
                if time.monotonic() - quiet_from >= PING_SECONDS:
                    quiet_from = time.monotonic()
                    yield KEEPALIVE_COMMENT
                continue
            for update in updates:
                if update.gone:
                    return
                async for chunk in self._trial_chunks(update):
                    quiet_from = time.monotonic()
                    yield chunk
                tail = b""
                if update.progress != shown:
                    shown = update.progress
                    tail = _event("progress", update.progress)
                if update.final:
                    yield tail + _event("end", update.progress)
                    return
                if tail:  # an update that changed nothing writes nothing: the ping still comes
                    quiet_from = time.monotonic()
                    yield tail

    async def _trial_chunks(self, update: Update) -> AsyncIterator[bytes]:
        # The trials of an update go out as chunks of CHUNK events, one socket write each: a
        # write per event cost the event loop more than everything else a sweep of one-step
        # trials asks of the service (issue 19). A pause between chunks lets other requests
        # in, and a client that dropped ends the stream at the next write.
        if later(update.since, self.cursor):  # the shared feed starts after this client
            missed = await run_in_threadpool(self._missed, update.since)
            for chunk in self._encode(missed):
                yield chunk
                await anyio.lowlevel.checkpoint()
        fresh = [t for t in update.trials if later(t.cursor, self.cursor)]
        for chunk in self._encode(fresh):
            yield chunk
            await anyio.lowlevel.checkpoint()

    def _encode(self, trials: Sequence[FinishedTrial]) -> Iterator[bytes]:
        for start in range(0, len(trials), CHUNK):
            part = trials[start:start + CHUNK]
            self.cursor = part[-1].cursor
            yield b"".join(t.event for t in part)

    def _missed(self, upto: Cursor | None) -> list[FinishedTrial]:
        """The trials finished after this client's cursor up to `upto`, read from the store."""
        found: list[FinishedTrial] = []
        after = self.cursor
        while True:
            page = self.store.trial_events(self.user.id, self.sweep_id, after=after, limit=PAGE,
                                           curves=False)
            kept = [t for t in page if not later(cursor_of(t), upto)]
            found.extend(finished_trial(t) for t in kept)
            if len(kept) < len(page) or len(page) < PAGE:
                return found
            after = cursor_of(page[-1])


def _event(kind: str, progress: SweepProgress) -> bytes:
    return format_sse_event(data_str=progress.model_dump_json(), event=kind)


class Recheck:
    """When a stream's credential is checked again, and whether it still holds."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.every = request.app.state.settings.sse_auth_recheck_seconds
        self.due = time.monotonic() + self.every

    def due_in(self) -> float:
        return max(0.0, self.due - time.monotonic())

    async def still_authorized(self) -> bool:
        if time.monotonic() < self.due:
            return True
        self.due = time.monotonic() + self.every
        state = self.request.app.state
        try:
            await current_user(self.request, state.store, state.settings)
        except (Unauthorized, HTTPException):
            return False
        return True


def hub(request: Request) -> SweepHub:
    return request.app.state.event_hub


def parse_cursor(text: str | None) -> Cursor | None:
    """The cursor of a `Last-Event-ID` header; None (start over) when absent or empty.

    Raises:
        BadRequest: not `<ISO time with zone>|<trial id>` with an id this service could send.
    """
    if not text:
        return None
    when, _, trial_id = text.partition("|")
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        moment = None
    number = int(trial_id) if trial_id.isascii() and trial_id.isdigit() and len(trial_id) < 20 \
        else 0
    if moment is None or moment.tzinfo is None or not 1 <= number <= MAX_TRIAL_ID:
        raise BadRequest("Last-Event-ID must be the id of an event of this stream "
                         "(<finished_at>|<trial id>); omit it to start from the beginning")
    return (moment, number)
