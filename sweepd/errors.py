"""The one exception tree of sweepd.

    SweepdError
     ├── InvalidSpec        bad input: a spec, a query or a parameter     → 422
     │    └── OverBudget    a sweep's estimated cost over a settings cap  → 422
     ├── BadRequest         a malformed request header or option          → 400
     ├── Unauthorized       no, bad or revoked token                      → 401
     ├── NotFound           no such object, or not the caller's           → 404
     ├── Conflict           idempotency key reused with another body      → 409
     ├── LimitExceeded      per-user quota (trials in flight, sweep size) → 429
     │    └── Busy          bounded work full (replays, comparisons, streams) → 429 + Retry-After
     ├── WorkerFailed       the executor's worker crashed or raised       → 502
     ├── SchemaOutOfDate    database not at the Alembic head              → 503
     └── Unavailable        database or executor unreachable              → 503
          └── TimedOut      work over its time budget (still running)     → 503 + Retry-After

The domain raises these; `sweepd_api.errors` maps them to HTTP status codes (as drawn above) and
problem-details bodies in one place. The domain's errors carry no status code and nothing in
`sweepd/` raises an HTTP exception.
"""

from __future__ import annotations

from typing import Any


class SweepdError(Exception):
    """Base of every error sweepd raises on purpose."""

    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.retry_after = retry_after  # seconds a client should wait before trying again


class InvalidSpec(SweepdError):
    title = "Invalid input"


class OverBudget(InvalidSpec):
    """A valid spec whose estimated compute, memory or storage is over a cap (`sweepd.budget`)."""

    title = "Over budget"


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


class Busy(LimitExceeded):
    """Refused at once, not queued: the bounded work of its kind is at its limit."""

    title = "Too many requests"


class WorkerFailed(SweepdError):
    """The worker that ran the job died (crash, out of memory) or raised."""

    title = "Worker failed"


class Unavailable(SweepdError):
    title = "Service unavailable"


class TimedOut(Unavailable):
    """The job outlived its time budget; it may still finish, and a retry may find its result."""

    title = "Timed out"


class SchemaOutOfDate(Unavailable):
    title = "Database schema out of date"
