"""Pure ASGI middleware: request context (id, access log, last-resort 500), trusted hosts, and
the body cap.

Both are plain ASGI callables rather than `BaseHTTPMiddleware`, which buffers nothing here but
would run the app in another task and break streaming responses' disconnect handling.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sweepd_api.errors import PayloadTooLarge, internal_error, problem
from sweepd_api.logs import bind_request_id, reset_request_id

access_log = logging.getLogger("api.access")
error_log = logging.getLogger("api.errors")

REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is reused only when it cannot smuggle anything into a log line.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

Observer = Callable[[str, int, float], None]


class RequestContextMiddleware:
    """Gives each request an id (the client's X-Request-ID if sane), echoes it, logs the request.

    Each response also says in `Server-Timing: app;dur=<ms>` how long the service took until
    it began.

    It also answers any exception that escaped the app with a 500 problem body carrying the
    request id and nothing else, after logging the traceback with that id. Being the outermost
    middleware, it sees every response, so the id header is on error responses too.

    Args:
        app: the ASGI app.
        observe: called with (method, status, seconds) after each request (metrics).
    """

    def __init__(self, app: ASGIApp, observe: Observer | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = bind_request_id(request_id)
        started, status = time.perf_counter(), [0]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                # The time the app took until the response began (W3C Server-Timing), so a
                # client can tell the service's time from the network's and its own.
                headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1e3:.1f}"
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if status[0]:
                raise  # the response has begun: nothing sane can be sent any more
            await internal_error(scope["path"])(scope, receive, send_with_id)
        finally:
            self._log(scope, status[0], time.perf_counter() - started)
            reset_request_id(token)

    def _log(self, scope: Scope, status: int, seconds: float) -> None:
        access_log.info("%s %s %d %.1fms", scope["method"], scope["path"], status, seconds * 1e3,
                        extra={"method": scope["method"], "path": scope["path"],
                               "status": status, "duration_ms": round(seconds * 1e3, 2),
                               "request_id": scope["state"]["request_id"]})
        if self.observe is not None:
            self.observe(scope["method"], status, seconds)


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with a 413 problem (issue 6).

    A declared Content-Length over the cap is refused before a byte of the body is read.
    Without one (chunked transfer) the bytes are counted as the app reads them, and reading
    past the cap raises `PayloadTooLarge`, which the error mapping turns into the same 413;
    the handler never sees a complete oversized body, so nothing is stored.

    Args:
        app: the ASGI app.
        max_bytes: the largest body accepted.
    """

    def __init__(self, app: ASGIApp, max_bytes: int,
                 path_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes that take files (data set uploads, issue 17) have their own, larger cap.
        self.path_limits = path_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"].rstrip("/"), self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await problem(413, PayloadTooLarge.title, self._detail(limit),
                          instance=scope["path"], kind="payload-too-large")(scope, receive, send)
            return
        await self.app(scope, self._counting(receive, limit), send)

    def _counting(self, receive: Receive, limit: int) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(self._detail(limit))
            return message

        return counted

    def _detail(self, limit: int) -> str:
        return f"the request body is larger than the limit of {limit} bytes"


class TrustedHostMiddleware:
    """Answers only requests whose `Host` names this service; others get a 400 problem.

    A web page on any domain can point that domain at 127.0.0.1 (DNS rebinding) and then read
    a loopback service as its own origin; such requests carry the attacker's name in `Host`.
    Starlette's middleware of the same name answers plain text; this one problem details.

    Args:
        app: the ASGI app.
        hosts: allowed host names (lower case, no port); `*.example.org` allows subdomains,
            `*` anything.
    """

    def __init__(self, app: ASGIApp, hosts: list[str]) -> None:
        self.app = app
        self.any = "*" in hosts
        self.exact = frozenset(h for h in hosts if not h.startswith("*"))
        self.suffixes = tuple(h[1:] for h in hosts if h.startswith("*."))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.any:
            await self.app(scope, receive, send)
            return
        name = _host_name(_header(scope, b"host"))
        if name is None or not (name in self.exact or name.endswith(self.suffixes)):
            await problem(400, "Bad request", "this service does not answer to that Host "
                          "name (see SWEEPD_TRUSTED_HOSTS)", instance=scope["path"],
                          kind="untrusted-host")(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _host_name(raw: bytes | None) -> str | None:
    """The name of a Host header without its port (`[::1]:8642` → `::1`), or None if invalid."""
    if not raw:
        return None
    try:
        return urlsplit("//" + raw.decode("ascii")).hostname
    except (UnicodeDecodeError, ValueError):
        return None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value
    return None


def _incoming_id(scope: Scope) -> str | None:
    raw = _header(scope, b"x-request-id")
    text = raw.decode("latin-1") if raw is not None else ""
    return text if _VALID_ID.match(text) else None


def _content_length(scope: Scope) -> int | None:
    raw = _header(scope, b"content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None  # the server rejects a malformed length; count the bytes regardless
