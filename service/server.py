"""The composition root: wires the store, the API and the dispatcher into one service.

`sweepd serve` runs both in one process by default (SQLite + a local Ray started in-process).
In production the API can run as several replicas with `SWEEPD_RUN_DISPATCHER=false` and one
more process runs the dispatcher, all against PostgreSQL and an existing Ray cluster
(`RAY_ADDRESS`); only one dispatcher is active at a time (it holds a database lease).
This package is the only place that imports both `api` and `workers`.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from sweepd.bootstrap import bootstrap_admin, open_service_store
from sweepd.settings import Settings
from sweepd.storage.store import Store


def build_app(settings: Settings, store: Store) -> tuple[Any, Any]:
    """Build the FastAPI app and (unless disabled) the dispatcher that runs beside it."""
    from sweepd_api import create_app
    from sweepd_workers.dispatcher import Dispatcher
    from sweepd_workers.replay import Replayer

    dispatcher = Dispatcher(store, settings) if settings.run_dispatcher else None
    hooks = [(dispatcher.start, dispatcher.stop)] if dispatcher else []
    replayer = Replayer(store, settings)
    app = create_app(settings, store, lifespan_hooks=hooks,
                     readiness=dispatcher.status if dispatcher else None,
                     replay=replayer.replay,
                     dispatcher_stats=(lambda: vars(dispatcher.stats)) if dispatcher else None)
    if dispatcher is not None:
        dispatcher.on_batch_seconds = app.state.metrics.batch_duration.observe
        dispatcher.on_retries = app.state.metrics.retries.inc
    return app, dispatcher


def serve(settings: Settings) -> None:
    """Run the service until SIGINT/SIGTERM."""
    import uvicorn

    from sweepd_api.logs import configure_logging

    store = open_service_store(settings)
    token = bootstrap_admin(store, settings)
    if token:
        print(f"Admin token (shown once, saved to {settings.resolved_token_file}):\n  {token}",
              flush=True)
    app, _ = build_app(settings, store)
    configure_logging()
    print(f"sweepd serving on {settings.url}  (API docs: {settings.url}/docs)", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                timeout_graceful_shutdown=5)


def run_dispatcher_only(settings: Settings) -> None:
    """Run only the dispatcher (for deployments with separate API replicas)."""
    from sweepd_workers.dispatcher import Dispatcher

    store = open_service_store(settings)
    dispatcher = Dispatcher(store, settings)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    dispatcher.start()
    print(f"sweepd dispatcher {dispatcher.holder} running", flush=True)
    done.wait()
    dispatcher.stop()
