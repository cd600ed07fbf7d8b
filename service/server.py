"""The composition root: wires the store, the API and the dispatcher into one service.

`sweepd serve` runs both in one process by default (SQLite + a local Ray started in-process).
In production the API can run as several replicas with `SWEEPD_RUN_DISPATCHER=false` and one
more process runs the dispatcher, all against PostgreSQL and an existing Ray cluster
(`RAY_ADDRESS`); only one dispatcher is active at a time (it holds a database lease).
This package is the only place that imports both `api` and `workers`.

Shutdown (SIGTERM or SIGINT): the listening socket closes, the SSE streams end
(`app.state.event_hub.close_threadsafe()`), open requests get `shutdown_grace_seconds`, then the lifespan stops the
dispatcher (it saves finished results, releases the trials of unfinished batches and its
leadership) and checkpoints the SQLite file; the database is closed, Ray is left (a local
Ray this process started is stopped, see `_close`) and the process exits 0. A
watchdog ends the process with exit 1 if all that takes longer than `_deadline()`. Ray's
core worker installs a C++ handler that dumps "*** SIGTERM received ***" and kills the process,
so the Python handlers are installed again once Ray is connected.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from sweepd.bootstrap import bootstrap_admin, open_service_store, token_prefix
from sweepd.settings import Settings
from sweepd.storage.database import Checkpointer
from sweepd.storage.store import Store

log = logging.getLogger("sweepd.service")

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# What the shutdown may take beyond the grace for open requests: the dispatcher's stop (its
# loop's join is bounded by 10 s), the last checkpoint (2 s busy timeout) and Ray's shutdown.
SHUTDOWN_MARGIN_S = 25.0
RECORD_EVERY_TICKS = 100  # uvicorn ticks every 0.1 s: the local Ray's processes every 10 s


def build_app(settings: Settings, store: Store) -> tuple[Any, Any]:
    """Build the FastAPI app and (unless disabled) the dispatcher that runs beside it."""
    from sweepd_api import create_app
    from sweepd_workers.dispatcher import Dispatcher
    from sweepd_workers.replay import Replayer

    dispatcher = Dispatcher(store, settings) if settings.run_dispatcher else None
    checkpointer = Checkpointer(store.engine, settings.checkpoint_seconds)
    # Stopped in reverse: the dispatcher's last writes land before the last checkpoint.
    hooks = [(checkpointer.start, checkpointer.stop)]
    if dispatcher:
        hooks.append((dispatcher.start, dispatcher.stop))
    replayer = Replayer(store, settings)
    app = create_app(settings, store, lifespan_hooks=hooks,
                     readiness=dispatcher.status if dispatcher else None,
                     replay=replayer.replay,
                     dispatcher_stats=(lambda: vars(dispatcher.stats)) if dispatcher else None,
                     new_trials=dispatcher.wake if dispatcher else None)
    if dispatcher is not None:
        dispatcher.on_batch_seconds = app.state.metrics.batch_duration.observe
        dispatcher.on_retries = app.state.metrics.retries.inc
        dispatcher.on_results = app.state.event_hub.nudge
    return app, dispatcher


SWITCH_INTERVAL_S = 0.001  # sys.setswitchinterval of the service (Python's default: 5 ms)


def serve(settings: Settings) -> None:
    """Run the service until SIGINT/SIGTERM, then shut down cleanly (see the module docstring)."""
    from sweepd_api.logs import configure_logging
    from sweepd_workers import local_ray

    store = open_service_store(settings)
    if settings.ray_address is None:
        local_ray.reap(settings.data_dir)
    token = bootstrap_admin(store, settings)
    if token:
        announce_token(token, settings)
    app, _ = build_app(settings, store)
    configure_logging()
    # The dispatcher and the event poller are CPU-bound Python threads; a request thread that
    # gave up the GIL for a SQL statement waits up to the switch interval to get it back, once
    # per statement. 1 ms instead of 5 keeps status reads short while a sweep runs (issue 19).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    print(f"sweepd serving on {settings.url}  (API docs: {settings.url}/docs)", flush=True)
    # Event streams end when the signal arrives, not after the grace for open requests.
    server = graceful_server(app, settings, on_exit=app.state.event_hub.close_threadsafe)
    freeze_heap()
    code = 1
    try:
        server.run()
        code = 0
    except Exception:
        log.exception("the service failed")
    finally:
        _close(store, settings, code)
    if code:
        raise SystemExit(code)


def announce_token(token: str, settings: Settings) -> None:
    """Show a new admin token once, on a terminal only; elsewhere (a log file) its prefix."""
    path = settings.resolved_token_file
    if sys.stdout.isatty():
        print(f"Admin token (shown once, saved to {path}):\n  {token}", flush=True)
    else:
        print(f"Admin token {token_prefix(token)}… created and saved to {path} (mode 0600); "
              "`sweepd token show` prints it", flush=True)


def http_config(app: Any, settings: Settings) -> Any:
    """uvicorn's configuration with the connection limits of the settings."""
    import uvicorn

    return uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning",
        http=header_deadline_protocol(settings.http_header_timeout_seconds),
        timeout_keep_alive=settings.http_keep_alive_seconds,
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
        limit_concurrency=settings.http_max_connections,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds)


def header_deadline_protocol(seconds: float) -> type:
    """uvicorn's h11 protocol, closing a connection whose request headers take over `seconds`.

    uvicorn times out idle keep-alive connections only after a response, and any byte stops
    that timer: a client that opens connections and sends headers slowly (or nothing) would
    hold them, and their file descriptors, for ever. The deadline starts when a connection
    opens and whenever a new request begins, and ends when its headers are complete.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadlineProtocol(H11Protocol):
        _deadline: Any = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._between_requests():
                self._arm()
            super().data_received(data)
            if not self._between_requests():
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self._between_requests() and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadlineProtocol


def graceful_server(app: Any, settings: Settings, *, on_exit: Callable[[], None]) -> Any:
    """A uvicorn server that exits 0 on SIGTERM/SIGINT after a bounded, clean shutdown."""
    import uvicorn

    from sweepd_workers import cluster, local_ray

    record = settings.ray_address is None

    class GracefulServer(uvicorn.Server):
        _exiting = False
        _rearmed = False

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn's own version raises the signal again after the shutdown, which ends
            # the process by SIGTERM (exit -15) instead of exit 0.
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in SIGNALS}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            if not self._exiting:
                self._exiting = True
                log.info("signal %d: shutting down", sig)
                on_exit()
                _watchdog(_deadline(settings))

        async def on_tick(self, counter: int) -> bool:
            just_connected = not self._rearmed and cluster.connected()
            if just_connected:
                self._rearmed = True
                rearm_signals()
                freeze_heap()  # what connecting to Ray built, too
            # Again every 10 s: Ray starts and ends worker processes as it goes.
            due = just_connected or counter % RECORD_EVERY_TICKS == 0
            if record and due and cluster.started_local():
                local_ray.record(settings.data_dir)
            return await super().on_tick(counter)

    return GracefulServer(http_config(app, settings))


def freeze_heap() -> None:
    """Take the objects alive now (modules, classes, the app: what lives as long as the
    process) out of the garbage collector's sight (`gc.freeze()`), after a collection.

    A full collection walks every tracked object with the GIL held, so every thread of the
    process stops for it: with the ~400 000 objects of a running service that was 200 ms every
    2-3 s, the whole tail of the status reads while a sweep ran (issue 19). Frozen objects are
    never collected, so this runs only on what is built once: at start and once Ray connects.
    """
    gc.collect()
    gc.freeze()


def rearm_signals() -> None:
    """Install the Python handlers again, over the C++ handler Ray's core worker installed
    when it connected (main thread only)."""
    for sig in SIGNALS:
        signal.signal(sig, signal.getsignal(sig))


def _deadline(settings: Settings) -> float:
    return settings.shutdown_grace_seconds + SHUTDOWN_MARGIN_S


def _watchdog(seconds: float) -> None:
    def expire() -> None:
        print(f"sweepd: shutdown took over {seconds:.0f} s; exiting", file=sys.stderr,
              flush=True)
        os._exit(1)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def _close(store: Store, settings: Settings, code: int) -> None:
    """Close the database, then leave Ray; a local Ray this process started ends the process.

    `ray.shutdown()` of a local Ray started from the dispatcher's thread waits on its own
    agents (which ignore SIGTERM) for 15 s or more, or kills the process when its GCS goes
    first, so the service stops that Ray itself: once the database is closed nothing is left
    to save, its processes are killed and the process exits with `code` at once.
    """
    from sweepd_workers import cluster, local_ray

    store.dispose()
    if cluster.started_local():
        killed = local_ray.kill_descendants()
        local_ray.reap(settings.data_dir)
        log.info("stopped the local Ray (%d processes); sweepd stopped", killed)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    try:
        cluster.shutdown()
    except Exception:
        log.exception("Ray did not shut down cleanly")
    if settings.ray_address is None:
        local_ray.reap(settings.data_dir)
    log.info("sweepd stopped")


def run_dispatcher_only(settings: Settings) -> None:
    """Run only the dispatcher (for deployments with separate API replicas)."""
    from sweepd_workers import cluster
    from sweepd_workers.dispatcher import Dispatcher

    store = open_service_store(settings)
    dispatcher = Dispatcher(store, settings)
    checkpointer = Checkpointer(store.engine, settings.checkpoint_seconds)
    done = threading.Event()
    for sig in SIGNALS:
        signal.signal(sig, lambda *_: done.set())
    checkpointer.start()
    dispatcher.start()
    print(f"sweepd dispatcher {dispatcher.holder} running", flush=True)
    rearmed = False
    while not done.wait(0.2):
        if not rearmed and cluster.connected():
            rearmed = True
            rearm_signals()
            freeze_heap()
    _watchdog(_deadline(settings))
    dispatcher.stop()
    checkpointer.stop()
    _close(store, settings, 0)
