"""The composition root: wires the store, the API and the dispatcher into one service.

`sweepd serve` runs both in one process by default (SQLite + a local Ray started in-process).
In production the API can run as several replicas with `SWEEPD_RUN_DISPATCHER=false` and one
more process runs the dispatcher, all against PostgreSQL and an existing Ray cluster
(`RAY_ADDRESS`); only one dispatcher is active at a time (it holds a database lease).
This is the only module that imports both `api` and `workers`.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from sweepd import tokenfile
from sweepd.settings import Settings

log = logging.getLogger("sweepd.server")


def open_service_store(settings: Settings) -> Any:
    """Open the store; the embedded SQLite default migrates its own file, others must be at head."""
    from sweepd.storage.schema import open_store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    auto = settings.auto_migrate if settings.auto_migrate is not None else settings.is_embedded_sqlite
    return open_store(settings.resolved_database_url, auto_migrate=auto)


def bootstrap_admin(store: Any, settings: Settings) -> str | None:
    """On an empty database, create the admin user and token, save it and return it (once)."""
    if store.count_users() > 0:
        return None
    user = store.create_user("admin", is_admin=True)
    _, raw = store.create_token(user.id, "default")
    path = tokenfile.save(settings.url, raw, settings.resolved_token_file)
    log.info("created the admin token and saved it to %s", path)
    return raw


def build_app(settings: Settings, store: Any) -> tuple[Any, Any]:
    """Build the FastAPI app and (unless disabled) the dispatcher that runs beside it."""
    from api import create_app
    from workers.dispatcher import Dispatcher
    from workers.replay import Replayer

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

    from api.logs import configure_logging

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
    from workers.dispatcher import Dispatcher

    store = open_service_store(settings)
    dispatcher = Dispatcher(store, settings)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    dispatcher.start()
    print(f"sweepd dispatcher {dispatcher.holder} running", flush=True)
    done.wait()
    dispatcher.stop()
