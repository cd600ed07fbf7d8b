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
    """Readiness: 200 when the database answers and no component reports a problem, else 503."""
    checks = {"database": database_check(store), **component_checks(request.app.state.readiness)}
    ready = not any(isinstance(v, str) and v in PROBLEM_VALUES for v in checks.values())
    body = Readiness(status="ready" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


def database_check(store: Store) -> str:
    """"ok" when the database answers a query, "down" otherwise (the error is logged only)."""
    try:
        store.count_users()
    except Exception:
        log.warning("readiness: the database does not answer", exc_info=True)
        return "down"
    return "ok"


def component_checks(readiness: Callable[[], dict[str, Any]] | None) -> dict[str, Any]:
    """What the composition root's readiness callable reports; "error" if it fails."""
    if readiness is None:
        return {}
    try:
        return dict(readiness())
    except Exception:
        log.warning("readiness: the component check failed", exc_info=True)
        return {"components": "error"}
