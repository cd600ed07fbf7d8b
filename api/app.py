"""The FastAPI application: routers, middleware, error mapping and lifespan, wired together.

`create_app` is called by the composition root (`sweepd_service.server`) with everything the app needs
passed in: the settings, the store, and callables for what lives outside the transport (the
dispatcher's start/stop, its readiness, the replayer). The app imports no executor code.

    RequestContextMiddleware   request id, access log, last-resort 500   (outermost)
    TrustedHostMiddleware      400 for a Host not in settings.resolved_trusted_hosts
    BodyLimitMiddleware        413 over settings.max_body_bytes
    ExceptionMiddleware        api.errors: every error as problem details
    /healthz /readyz /metrics  no token (metrics: loopback only by default)
    /api/v1/...                sweeps, trials, events: bearer token only (no cookie)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

import sweepd
from sweepd.compare_json import JsonCache
from sweepd.comparisons import CompareLimits, ComparisonCache
from sweepd.settings import Settings
from sweepd.storage.store import Store
from sweepd_api import web
from sweepd_api.errors import install_error_handlers
from sweepd_api.event_hub import SweepHub
from sweepd_api.metrics import DispatcherStats, ServiceMetrics
from sweepd_api.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    TrustedHostMiddleware,
)
from sweepd_api.openapi import build_openapi
from sweepd_api.routers import (
    compare,
    datasets,
    events,
    exports,
    figures,
    growth,
    health,
    metrics,
    models,
    sweeps,
    trials,
)

log = logging.getLogger("api.app")

API_PREFIX = "/api/v1"
Hook = tuple[Callable[[], None], Callable[[], None]]
Replay = Callable[[int, int, int], dict]

DESCRIPTION = """Seed × initializer sweeps of neural networks, stored and compared.

Authenticate with `Authorization: Bearer <token>`. Errors are RFC 9457 problem details."""


def create_app(settings: Settings, store: Store, *, lifespan_hooks: Sequence[Hook] = (),
               readiness: Callable[[], dict[str, Any]] | None = None,
               replay: Replay | None = None,
               dispatcher_stats: DispatcherStats | None = None,
               new_trials: Callable[[], None] | None = None) -> FastAPI:
    """Build the sweepd HTTP application.

    Args:
        settings: the service settings (body cap, limits, metrics exposure).
        store: the open store; the app never closes it.
        lifespan_hooks: (startup, shutdown) pairs of blocking callables, run in a worker
            thread when the app starts and stops (the dispatcher); shutdowns run in reverse.
        readiness: returns component states for /readyz; a value "down" or "error" makes
            the service unready.
        replay: `replay(owner_id, sweep_id, trial_id) -> dict`; without it the replay route
            is absent.
        dispatcher_stats: returns the dispatcher's cumulative counters, exported on /metrics.
        new_trials: called after a request stored new pending trials (a submission, seeds
            added, a resumed sweep): the in-process dispatcher's `wake`.

    Returns:
        The FastAPI app; `app.state.metrics` is its `ServiceMetrics`.
    """
    app = FastAPI(title="sweepd", version=sweepd.__version__, description=DESCRIPTION,
                  lifespan=_lifespan(lifespan_hooks), docs_url=None,
                  openapi_url="/openapi.json", redoc_url=None,
                  # Operation ids are the handlers' names (`submit_sweep`), stable for clients.
                  generate_unique_id_function=lambda route: route.name)
    app.state.settings = settings
    app.state.store = store
    app.state.readiness = readiness
    app.state.replay = replay
    app.state.new_trials = new_trials or (lambda: None)
    app.state.comparisons = ComparisonCache(limits=CompareLimits.from_settings(settings))
    app.state.comparison_json = JsonCache()  # the same comparisons, serialised
    # Bounded work (README, "Bounded reads and replays"): replays and comparisons a few at a
    # time, one store poller per followed sweep for every event stream.
    app.state.replay_slots = trials.replay_slots(settings)
    app.state.compare_runner = compare.ComparisonRunner(settings)
    app.state.event_hub = SweepHub(store, settings)
    app.state.metrics = ServiceMetrics(store, dispatcher_stats)
    install_error_handlers(app)
    _include_routers(app, with_replay=replay is not None)
    # Added last = outermost: the context middleware must see the 413s of the body cap too.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, path_limits={
        f"{API_PREFIX}/datasets": settings.max_dataset_bytes + 64 * 1024})  # + multipart headers
    app.add_middleware(TrustedHostMiddleware, hosts=settings.resolved_trusted_hosts)
    app.add_middleware(RequestContextMiddleware, observe=app.state.metrics.observe_request)
    app.openapi = partial(build_openapi, app)  # type: ignore[method-assign]
    return app


def _include_routers(app: FastAPI, *, with_replay: bool) -> None:
    app.include_router(health.router)
    app.include_router(metrics.router)
    # Health under the API prefix as well, for clients that only know the base URL.
    app.include_router(health.router, prefix=API_PREFIX, include_in_schema=False)
    for router in (sweeps.router, growth.router, trials.router, events.router, compare.router,
                   figures.router, exports.router, datasets.router,
                   models.router):
        app.include_router(router, prefix=API_PREFIX)
    if with_replay:
        app.include_router(trials.replay_router, prefix=API_PREFIX)
    web.install(app, api_prefix=API_PREFIX)  # the status page: /, /signin, /sweeps/..., /web-api/..., /static/...


def _lifespan(hooks: Sequence[Hook]) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stops: list[Callable[[], None]] = []
        _app.state.event_hub.reopen()  # closed by an earlier lifespan of the same app (tests)
        _app.state.compare_runner.start()
        try:
            for start, stop in hooks:
                await run_in_threadpool(start)
                stops.append(stop)
            yield
        finally:
            # Open event streams end first (the server's shutdown may also have ended them
            # earlier through `event_hub.close_threadsafe()`), and comparisons stop queueing.
            _app.state.event_hub.close()
            _app.state.compare_runner.shutdown()
            # Only what started is stopped, newest first, also when a later start failed.
            for stop in reversed(stops):
                try:
                    await run_in_threadpool(stop)
                except Exception:
                    log.exception("a shutdown hook failed")

    return lifespan
