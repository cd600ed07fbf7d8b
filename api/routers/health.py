"""Liveness and readiness, without authentication (load balancers and orchestrators call them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sweepd.schemas import Readiness
from sweepd.storage.store import Store
from sweepd_api.deps import StoreDep

log = logging.getLogger("api.health")

router = APIRouter(tags=["health"])

# A component reporting one of these values makes the service not ready.
PROBLEM_VALUES = frozenset({"down", "error"})


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers HTTP. Says nothing about the database."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "Not ready: see `checks`"}})
def readyz(request: Request, store: StoreDep) -> JSONResponse:
    """Readiness: 200 when the database answers and takes writes and no component reports a
    problem, else 503."""
    checks = {**database_check(store), **component_checks(request.app.state.readiness)}
    ready = not any(isinstance(v, str) and v in PROBLEM_VALUES for v in checks.values())
    body = Readiness(status="ready" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


def database_check(store: Store) -> dict[str, str]:
    """`database`: "ok" when it answers a query and the store's last write succeeded, else
    "down" (the error is logged only).

    A read alone is not enough: on a full disk every write fails while reads still answer, and
    a replica that cannot store a sweep must leave the load balancer. The next write that
    succeeds (the dispatcher renews its lease every few seconds) makes it ready again.
    """
    try:
        store.count_users()
    except Exception:
        log.warning("readiness: the database does not answer", exc_info=True)
        return {"database": "down"}
    last = store.last_write
    if not last.ok:
        log.warning("readiness: the last write failed: %s", last.error)
        when = last.at.isoformat() if last.at else "unknown"
        return {"database": "down", "last_write_failed_at": when}
    return {"database": "ok"}


def component_checks(readiness: Callable[[], dict[str, Any]] | None) -> dict[str, Any]:
    """What the composition root's readiness callable reports; "error" if it fails."""
    if readiness is None:
        return {}
    try:
        return dict(readiness())
    except Exception:
        log.warning("readiness: the component check failed", exc_info=True)
        return {"components": "error"}
