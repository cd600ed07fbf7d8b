"""The one exception tree of sweepd.

    SweepdError
     ├── InvalidSpec        bad input: a spec, a query or a parameter     → 422
     ├── BadRequest         a malformed request header or option          → 400
     ├── Unauthorized       no, bad or revoked token                      → 401
     ├── NotFound           no such object, or not the caller's           → 404
     ├── Conflict           idempotency key reused with another body      → 409
     ├── LimitExceeded      per-user quota (trials in flight, sweep size) → 429
     ├── SchemaOutOfDate    database not at the Alembic head              → 503
     └── Unavailable        database or executor unreachable              → 503

The domain raises these; `sweepd_api.errors` maps them to HTTP status codes (as drawn above) and
problem-details bodies in one place. The domain's errors carry no status code and nothing in
`sweepd/` raises an HTTP exception.
"""

from __future__ import annotations

from typing import Any


class SweepdError(Exception):
    """Base of every error sweepd raises on purpose."""

    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidSpec(SweepdError):
    title = "Invalid input"


class BadRequest(SweepdError):
    title = "Bad request"


class Unauthorized(SweepdError):
    title = "Unauthorized"


class NotFound(SweepdError):
    title = "Not found"


class Conflict(SweepdError):
    title = "Conflict"


class LimitExceeded(SweepdError):
    title = "Limit exceeded"


class Unavailable(SweepdError):
    title = "Service unavailable"


class SchemaOutOfDate(Unavailable):
    title = "Database schema out of date"
