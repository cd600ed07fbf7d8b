"""Every error response, in one place: RFC 9457 problem details (`application/problem+json`).

    sweepd.errors.SweepdError (and subclasses)  → the status of `STATUS`, and its `title`
    RequestValidationError, pydantic ValidationError → 422 with `errors: [{loc, msg, type}]`
    Starlette/FastAPI HTTPException              → its status (404 unknown route, 405, ...)
    anything else                                → 500 without internals (see `internal_error`)

Messages name the field (`loc`) and never echo the offending input: pydantic's `input` and
`ctx` are dropped, and messages and locations are cut short, because a hostile body may carry a
megabyte in one string or thousands of unknown keys.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sweepd.errors import (
    BadRequest,
    Conflict,
    InvalidSpec,
    LimitExceeded,
    NotFound,
    SweepdError,
    Unauthorized,
    Unavailable,
    WorkerFailed,
)
from sweepd.schemas import Problem
from sweepd_api.logs import current_request_id

log = logging.getLogger("api.errors")

PROBLEM_JSON = "application/problem+json"
MAX_ERRORS = 20
MAX_MESSAGE = 300
MAX_LOC_PART = 80
WWW_AUTHENTICATE = 'Bearer realm="sweepd"'


class PayloadTooLarge(SweepdError):
    title = "Payload too large"


class UnsupportedMediaType(SweepdError):
    title = "Unsupported media type"


# The one mapping from the domain's errors to HTTP; a subclass takes its nearest base's status.
STATUS: dict[type[SweepdError], int] = {
    InvalidSpec: 422, BadRequest: 400, Unauthorized: 401, NotFound: 404, Conflict: 409,
    LimitExceeded: 429, Unavailable: 503, PayloadTooLarge: 413, UnsupportedMediaType: 415,
    WorkerFailed: 502,
}


def status_of(exc: SweepdError) -> int:
    """The HTTP status of a domain error (500 for one the mapping does not know)."""
    return next((STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS), 500)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def problem(status: int, title: str, detail: str = "", *, instance: str | None = None,
            errors: Iterable[Mapping[str, Any]] = (), kind: str | None = None,
            headers: Mapping[str, str] | None = None) -> ProblemResponse:
    """A problem-details response.

    Args:
        status: the HTTP status.
        title: a short, fixed summary of the problem type.
        detail: what went wrong this time, in words.
        instance: the request path.
        errors: validation errors (`loc`, `msg`, `type`); cleaned and cut to `MAX_ERRORS`.
        kind: a slug naming the problem type (the `type` URI); None gives `about:blank`.
        headers: extra response headers (WWW-Authenticate, Allow...).

    Returns:
        The response, with the request id of the current request.
    """
    body = Problem(
        type=f"tag:sweepd,2026:{kind}" if kind else "about:blank",
        title=title, status=status, detail=_cut(detail, 2000), instance=instance,
        request_id=current_request_id(), errors=clean_errors(errors),
    )
    return ProblemResponse(body.model_dump(mode="json"), status_code=status,
                           headers=dict(headers or {}))


def clean_errors(raw: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors reduced to `loc`, `msg` and `type`, short and without the input."""
    out = []
    for item in list(raw)[:MAX_ERRORS]:
        loc = [p if isinstance(p, int) else _cut(str(p), MAX_LOC_PART) for p in item.get("loc", ())]
        out.append({"loc": loc, "msg": _cut(str(item.get("msg", "")), MAX_MESSAGE),
                    "type": _cut(str(item.get("type", "invalid")), MAX_LOC_PART)})
    return out


def summarize(errors: list[Mapping[str, Any]]) -> str:
    """A one-line `detail` naming the fields at fault: `training.learning_rate: ...; seeds: ...`."""
    parts = []
    for item in errors[:3]:
        loc = [str(p) for p in item.get("loc", ())]
        where = ".".join(loc[1:] if loc[:1] == ["body"] and len(loc) > 1 else loc) or "body"
        parts.append(f"{_cut(where, 200)}: {_cut(str(item.get('msg', '')), MAX_MESSAGE)}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def internal_error(path: str | None) -> ProblemResponse:
    """The 500 answer to an unexpected exception: no internals, only the id to quote."""
    return problem(500, "Internal server error",
                   f"an unexpected error occurred; quote request id {current_request_id()} "
                   "when reporting it", instance=path, kind="internal-error")


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping above on `app` (unexpected exceptions: the context middleware)."""
    app.add_exception_handler(SweepdError, _sweepd_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _request_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(ValidationError, _pydantic_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]


async def _sweepd_error(request: Request, exc: SweepdError) -> ProblemResponse:
    status = status_of(exc)
    if status >= 500:
        log.warning("%s: %s", type(exc).__name__, exc.detail)
    headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if status == 401 else {}
    if exc.retry_after is not None:  # whole seconds, at least 1 (RFC 9110 §10.2.3)
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    errors = clean_errors(exc.errors)
    return problem(status, exc.title, exc.detail or summarize(errors),
                   instance=request.url.path, errors=errors, kind=_slug(exc.title),
                   headers=headers)


async def _request_invalid(request: Request, exc: RequestValidationError) -> ProblemResponse:
    errors = clean_errors(exc.errors())
    return problem(422, "Invalid input", summarize(errors), instance=request.url.path,
                   errors=errors, kind="invalid-input")


async def _pydantic_invalid(request: Request, exc: ValidationError) -> ProblemResponse:
    errors = clean_errors(exc.errors(include_input=False, include_url=False))
    return problem(422, "Invalid input", summarize(errors), instance=request.url.path,
                   errors=errors, kind="invalid-input")


async def _http_error(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
    title = _phrase(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else (
        f"{title}: {request.method} {_cut(request.url.path, 200)}")
    return problem(exc.status_code, title, detail, instance=request.url.path,
                   headers=exc.headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _slug(title: str) -> str:
    return "-".join(title.lower().split())


def _cut(text: str, limit: int) -> str:
    # A lone surrogate (legal in a JSON escape) cannot be encoded as UTF-8: escape it.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"
