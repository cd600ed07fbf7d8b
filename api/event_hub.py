"""One store poller per followed sweep, fanning its updates out to every stream that follows it.

Event streams used to poll the store each on their own: 100 streams of a 100 000-trial sweep
re-counted its trials 200 times a second and starved every other reader. Now the first stream
that follows a sweep starts its `_Poller`; each poll (every `sse_poll_seconds`) reads the sweep
once and the trials finished since the previous poll once, encodes each as its `trial` event
once (`FinishedTrial`), and posts one `Update` to the `Mailbox` of every stream following it;
the last stream to leave stops it. Store reads and event encodings per poll interval therefore
do not depend on the number of streams.

A stream that resumes from an older `Last-Event-ID`, or that reads more slowly than trials
finish, reads the trials it is missing from the store itself, once (`Update.since` says where
the shared feed starts); only the latest update is kept for a stream that falls behind.

`SweepHub.close()` (the app's lifespan end, or `close_threadsafe()` from a signal handler
before the server waits for open connections) ends every stream and refuses new ones (503).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from fastapi.sse import format_sse_event
from starlette.concurrency import run_in_threadpool

from sweepd.errors import NotFound, Unavailable
from sweepd.records import SweepRecord, TrialRecord
from sweepd.settings import Settings
from sweepd.slots import Slots
from sweepd.states import FINAL_SWEEP_STATES
from sweepd.storage.store import Store
from sweepd_api.convert import sweep_progress, trial_public

log = logging.getLogger("api.events")

Cursor = tuple[datetime, int]
PAGE = 1000  # trials per store read (the store's own cap on one `trial_events` call)
MAX_PENDING = 32  # updates waiting for one stream before it is told to catch up instead
_START = (datetime.min.replace(tzinfo=timezone.utc), 0)


def cursor_of(trial: TrialRecord) -> Cursor:
    """The (finished_at, id) position of a finished trial, its zone made explicit."""
    assert trial.finished_at is not None  # only finished trials have a position
    when = trial.finished_at
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc), trial.id)


def later(a: Cursor | None, b: Cursor | None) -> bool:
    """Whether position `a` comes after `b` (None: before the first trial)."""
    return _normal(a) > _normal(b)


def _normal(c: Cursor | None) -> Cursor:
    if c is None:
        return _START
    return (c[0] if c[0].tzinfo else c[0].replace(tzinfo=timezone.utc), c[1])


def format_cursor(cursor: Cursor) -> str:
    """The `id:` of a trial event (what a client sends back as `Last-Event-ID`)."""
    return f"{cursor[0].isoformat()}|{cursor[1]}"


@dataclass(frozen=True)
class FinishedTrial:
    """A finished trial as its stream sends it: its cursor and its encoded `trial` event.

    Encoded once per poll, however many streams follow the sweep; a stream writes the events
    of an update as one chunk (one socket write, not one per trial: issue 19).
    """

    cursor: Cursor
    event: bytes


def finished_trial(trial: TrialRecord) -> FinishedTrial:
    """The `trial` event of a finished trial: TrialPublic without its curve, with its cursor
    as the event id."""
    cursor = cursor_of(trial)
    data = trial_public(trial).model_dump_json(exclude={"result": {"curve"}})
    return FinishedTrial(cursor, format_sse_event(data_str=data, event="trial",
                                                  id=format_cursor(cursor)))


@dataclass(frozen=True)
class Update:
    """One poll of one sweep, as every follower sees it.

    `trials` are those finished after `since` up to `head`, in cursor order; a follower whose
    own cursor is before `since` reads the gap from the store. `final`: the sweep is final and
    every finished trial has been posted. `gone`: the sweep vanished or the poll failed.
    """

    sweep_id: int
    sweep: SweepRecord | None
    progress: Any
    trials: tuple[FinishedTrial, ...]
    since: Cursor | None
    head: Cursor | None
    final: bool = False
    gone: bool = False


class Mailbox:
    """What one stream has not read yet: a short list of updates per followed sweep.

    Args:
        trials: whether the stream shows trials (a progress-only stream keeps the newest
            update of each sweep and nothing else).
    """

    def __init__(self, *, trials: bool) -> None:
        self.trials = trials
        self.closed = False
        self._pending: dict[int, list[Update]] = {}
        self._ready = asyncio.Event()

    def post(self, update: Update) -> None:
        queue = self._pending.setdefault(update.sweep_id, [])
        if not self.trials:
            queue[:] = [update]
        elif len(queue) >= MAX_PENDING:  # behind: drop the trials; it reads them up to head
            queue[:] = [replace(update, trials=(), since=update.head)]
        else:
            queue.append(update)
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def next(self, timeout: float) -> list[Update] | None:
        """The updates posted since the last call ([] after `timeout` s), or None once closed."""
        if not self._pending and not self.closed:
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        self._ready.clear()
        if self.closed:
            return None
        out = [u for queue in self._pending.values() for u in queue]
        self._pending.clear()
        return out


class _Poller:
    """The one query loop of one (owner, sweep)."""

    def __init__(self, hub: SweepHub, owner_id: int, sweep_id: int) -> None:
        self.hub, self.owner_id, self.sweep_id = hub, owner_id, sweep_id
        self.mailboxes: set[Mailbox] = set()
        self.last: Update | None = None
        self.task: asyncio.Task[None] | None = None
        self.nudged = asyncio.Event()  # results were stored: poll now rather than at the next tick

    async def run(self) -> None:
        head: Cursor | None = None
        try:
            while self.mailboxes:
                sweep, trials = await run_in_threadpool(self._read, head)
                since, head = head, trials[-1].cursor if trials else head
                final = sweep.state in FINAL_SWEEP_STATES and len(trials) < PAGE
                if final:  # a stream joining from now on starts a new poller
                    self.hub._forget(self)
                self._publish(Update(self.sweep_id, sweep, sweep_progress(sweep),
                                     tuple(trials), since, head, final=final))
                if final:
                    return
                if len(trials) < PAGE:  # a full page: more may be waiting, read on at once
                    await self._pause()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not isinstance(exc, NotFound):
                log.warning("polling sweep %d failed: %s", self.sweep_id, exc)
            self.hub._forget(self)
            self._publish(Update(self.sweep_id, None, None, (), head, head, gone=True))
        finally:
            self.hub._forget(self)

    async def _pause(self) -> None:
        """Until the next poll: `poll_seconds`, or less when `SweepHub.nudge` says results were
        stored, but never under a fifth of it, so that a burst of nudges costs one read.

        A sweep's end reached its streams up to `poll_seconds` late (0.125 s on average): for a
        2 000-trial sweep of one-step trials, a tenth of its time as the SDK saw it (issue 19).
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await asyncio.wait_for(self.nudged.wait(), self.hub.poll_seconds)
        except TimeoutError:
            pass
        self.nudged.clear()
        rest = self.hub.poll_seconds / 5 - (loop.time() - started)
        if rest > 0:
            await asyncio.sleep(rest)

    def _read(self, head: Cursor | None) -> tuple[SweepRecord, list[FinishedTrial]]:
        # The sweep first: once it reads as final, the trials read next include every one.
        self.hub.polls += 1
        sweep = self.hub.store.get_sweep(self.owner_id, self.sweep_id)
        trials = self.hub.store.trial_events(self.owner_id, self.sweep_id, after=head, limit=PAGE,
                                             curves=False)
        return sweep, [finished_trial(t) for t in trials]

    def _publish(self, update: Update) -> None:
        self.last = update
        for mailbox in list(self.mailboxes):
            mailbox.post(update)


class SweepHub:
    """The pollers of the app's followed sweeps, and the per-user cap on open streams.

    Args:
        store: the store every poll reads (owner-scoped, like any read).
        settings: `sse_poll_seconds`, `sse_max_streams_per_user`, `retry_after_seconds`.
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.poll_seconds = settings.sse_poll_seconds
        self.retry_after = settings.retry_after_seconds
        self.streams = Slots("event streams", total=2**31,
                             per_key=settings.sse_max_streams_per_user,
                             retry_after=settings.retry_after_seconds)
        self.polls = 0  # store polls so far (each reads one sweep and its new trials)
        self.closed = False
        self._pollers: dict[Hashable, _Poller] = {}
        self._mailboxes: set[Mailbox] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextmanager
    def open(self, owner_id: int, *, trials: bool = True) -> Iterator[Mailbox]:
        """A mailbox for one stream of `owner_id`, held (against the cap) while the block runs.

        Raises:
            Busy: the user already has `sse_max_streams_per_user` streams open.
            Unavailable: the service is shutting down.
        """
        if self.closed:
            raise Unavailable("the service is shutting down; reconnect shortly",
                              retry_after=self.retry_after)
        self._loop = asyncio.get_running_loop()
        with self.streams.hold(owner_id):
            mailbox = Mailbox(trials=trials)
            self._mailboxes.add(mailbox)
            try:
                yield mailbox
            finally:
                self._mailboxes.discard(mailbox)
                for poller in list(self._pollers.values()):
                    poller.mailboxes.discard(mailbox)

    def follow(self, mailbox: Mailbox, owner_id: int, sweep_id: int) -> None:
        """Post the updates of one of `owner_id`'s sweeps to `mailbox` from now on."""
        poller = self._pollers.get((owner_id, sweep_id))
        if poller is None:
            poller = self._pollers[(owner_id, sweep_id)] = _Poller(self, owner_id, sweep_id)
            poller.mailboxes.add(mailbox)
            poller.task = asyncio.get_running_loop().create_task(poller.run())
            return
        poller.mailboxes.add(mailbox)
        if poller.last is not None:  # show the state at once; trials up to head are read
            mailbox.post(replace(poller.last, trials=(), since=poller.last.head))

    def pollers(self) -> int:
        """Sweeps being polled now."""
        return len(self._pollers)

    def reopen(self) -> None:
        """Take streams again after `close` (an app started anew in one process)."""
        self.closed = False

    def close(self) -> None:
        """End every stream and refuse new ones (call on the event loop)."""
        self.closed = True
        for mailbox in list(self._mailboxes):
            mailbox.close()
        for poller in list(self._pollers.values()):
            if poller.task is not None:
                poller.task.cancel()
        self._pollers.clear()

    def nudge(self) -> None:
        """Results were stored (called from the dispatcher's thread): every poller polls soon.

        A hint only; the pollers read what is there, as at any poll.
        """
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._nudge_all)

    def _nudge_all(self) -> None:
        for poller in list(self._pollers.values()):
            poller.nudged.set()

    def close_threadsafe(self) -> None:
        """`close()` from another thread (a signal handler), before the server drains."""
        self.closed = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.close)

    def _forget(self, poller: _Poller) -> None:
        if self._pollers.get((poller.owner_id, poller.sweep_id)) is poller:
            del self._pollers[(poller.owner_id, poller.sweep_id)]
