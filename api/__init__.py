"""The HTTP transport of sweepd (FastAPI): routers, schemas conversion, auth, errors, SSE.

Only `create_app` is public; the composition root (`sweepd_service.server`) calls it.
"""

from __future__ import annotations

from sweepd_api.app import create_app

__all__ = ["create_app"]
