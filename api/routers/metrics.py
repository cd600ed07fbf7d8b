"""GET /metrics: the app's Prometheus registry, to loopback clients unless made public."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from sweepd_api.deps import SettingsDep
from sweepd_api.openapi import problems

router = APIRouter(tags=["health"])

_TEXT_200 = {"description": "Prometheus text exposition format",
             "content": {"text/plain": {"schema": {"type": "string"}}}}


@router.get("/metrics", response_class=Response, responses={200: _TEXT_200, **problems(403)})
def metrics(request: Request, settings: SettingsDep) -> Response:
    """Trials by state, queue depth, batch durations, retries and request counts.

    Served to clients on the loopback interface only, unless `SWEEPD_METRICS_PUBLIC=true`:
    the figures reveal how busy the service is, and the endpoint takes no token.
    """
    host = request.client.host if request.client else None
    if not settings.metrics_public and not is_loopback(host):
        raise HTTPException(403, "metrics are served to loopback clients only; set "
                                 "SWEEPD_METRICS_PUBLIC=true to serve them to all")
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def is_loopback(host: str | None) -> bool:
    """Whether a client address is on the loopback interface (127.0.0.0/8 or ::1)."""
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
