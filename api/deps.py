"""Dependencies shared by the routers: the store, the settings, the caller, paging and ids.

Authorization lives here, not in handlers: a handler that takes `CurrentUser` cannot run for
an anonymous caller, and every store call it makes is scoped to that user's id, so another
user's sweep is simply not found (404, invariant 7).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Header, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from sweepd.errors import BadRequest, Unauthorized
from sweepd.records import UserRecord
from sweepd.schemas import DEFAULT_PAGE_SIZE, MAX_IDEMPOTENCY_KEY, MAX_PAGE_SIZE
from sweepd.settings import Settings
from sweepd.storage.store import Store
from sweepd.storage.store_auth import WebSessionRecord, hash_token

SESSION_COOKIE = "sweepd_session"
# Over HTTPS the cookie carries the `__Host-` prefix: the browser then only accepts it with
# Secure, Path=/ and no Domain, so neither a plain-HTTP origin nor a sibling host can set it.
SECURE_SESSION_COOKIE = "__Host-sweepd_session"
CSRF_HEADER = "X-Sweepd-CSRF"
WEB_API = "/web-api/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TOKEN_CHARS = 512
# Sweep ids are 32-bit (INTEGER) columns, trial ids 64-bit: larger values could only fail inside
# the database, so they are refused as invalid input before reaching it.
MAX_SWEEP_ID = 2**31 - 1
MAX_TRIAL_ID = 2**63 - 1
MAX_OFFSET = 10**12


# Async on purpose: FastAPI runs a plain `def` dependency in the threadpool, and each hop there
# and back waits for a busy event loop (issue 19: status reads while a sweep streams events).
async def get_store(request: Request) -> Store:
    return request.app.state.store


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_new_trials(request: Request) -> Callable[[], None]:
    return request.app.state.new_trials


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# Called once a request has stored new pending trials (the in-process dispatcher's `wake`).
NewTrials = Annotated[Callable[[], None], Depends(get_new_trials)]


def bearer_token(request: Request) -> str | None:
    """The raw token of `Authorization: Bearer <token>`, or None without the header.

    Raises:
        Unauthorized: an Authorization header that is not a bearer token.
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def is_https(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or (settings.public_url or "").startswith("https:")


def session_cookie_name(request: Request, settings: Settings) -> str:
    return SECURE_SESSION_COOKIE if is_https(request, settings) else SESSION_COOKIE


def cookie_values(request: Request, name: str) -> list[str]:
    """Every value the Cookie header sends under `name` (a browser sends one per path/domain)."""
    values = []
    for part in request.headers.get("cookie", "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            values.append(value.strip().strip('"'))
    return values


def web_session(request: Request, store: Store, settings: Settings
                ) -> tuple[UserRecord, WebSessionRecord] | None:
    """The user and session of the request's session cookie, or None.

    Two cookies of the name mean that another server on this host (cookies ignore ports) has
    set one beside ours: the request then signs nobody in rather than guess which is ours.
    """
    values = cookie_values(request, session_cookie_name(request, settings))
    if len(values) != 1 or not values[0] or len(values[0]) > MAX_TOKEN_CHARS:
        return None
    return store.authenticate_web_session(values[0])


def check_same_origin(request: Request, settings: SettingsDep) -> None:
    """Refuse a state-changing browser request sent from another origin (port included).

    Raises:
        HTTPException: 403 when neither Origin nor Referer names this service.
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    own = {request.headers.get("host", "").lower()}
    if settings.public_url:
        own.add(urlsplit(settings.public_url).netloc.lower())
    if not source or urlsplit(source).netloc.lower() not in own:
        raise HTTPException(403, "refused: this request did not come from the sweepd page "
                                 "(Origin or Referer must name this service)")


def holds_csrf(request: Request, record: WebSessionRecord) -> bool:
    """Whether the request's `X-Sweepd-CSRF` header is the session's CSRF token.

    The page keeps the token in its origin's storage, which no other port can read or write;
    a session cookie tossed in from elsewhere therefore comes without it.
    """
    sent = request.headers.get(CSRF_HEADER, "")
    return (bool(sent) and len(sent) <= MAX_TOKEN_CHARS
            and hmac.compare_digest(hash_token(sent), record.csrf_hash))


def check_csrf(request: Request, record: WebSessionRecord) -> None:
    """Refuse a state-changing page request without the session's CSRF token.

    Raises:
        HTTPException: 403 without the `X-Sweepd-CSRF` header of this session.
    """
    if not holds_csrf(request, record):
        raise HTTPException(403, "refused: the page's CSRF token is missing or not this "
                                 "session's (sign in again)")


# Declares the bearer scheme in the OpenAPI document (an Authorize button in /docs and a scheme
# generated clients use); the token itself is read by `bearer_token`.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="An API token: `Authorization: Bearer swd_…` "
                                "(`sweepd token show` prints the local one).")


async def current_user(request: Request, store: StoreDep, settings: SettingsDep,
                       _scheme: Annotated[HTTPAuthorizationCredentials | None,
                                          Depends(BEARER)] = None,
                       ) -> UserRecord:
    """Dependency: the user the request's credential belongs to.

    The API (`/api/v1`) takes only the bearer header, which a browser never attaches by
    itself, so no other site can make a browser act through it. The page's own routes
    (`/web-api/`) also take the session cookie; those that change something then need this
    origin and the session's CSRF token as well.

    Async, so a token that authenticated in the last seconds (`Store.recently_authenticated`)
    costs no trip to the threadpool and no statement; any other goes to the database there.

    Raises:
        Unauthorized: no credential, or one that is unknown, revoked or expired.
        HTTPException: 403 for a cookie request that fails the origin or CSRF check.
    """
    raw = bearer_token(request)
    if raw is None and request.scope["path"].startswith(WEB_API):
        return await run_in_threadpool(_cookie_user, request, store, settings)
    if raw is None:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>' "
                           "(the API takes no cookie)")
    if len(raw) > MAX_TOKEN_CHARS:
        raise Unauthorized("invalid or revoked token")
    user = store.recently_authenticated(raw) or await run_in_threadpool(store.authenticate, raw)
    if user is None:
        raise Unauthorized("invalid or revoked token")
    return user


def _cookie_user(request: Request, store: Store, settings: Settings) -> UserRecord:
    found = web_session(request, store, settings)
    if found is None:
        raise Unauthorized("sign in to the web page, or send 'Authorization: Bearer <token>'")
    user, record = found
    if request.method not in SAFE_METHODS:
        check_same_origin(request, settings)
        check_csrf(request, record)
    return user


CurrentUser = Annotated[UserRecord, Depends(current_user)]


def idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key",
                                      description="Repeat a submission safely: the same key "
                                      "and body return the first sweep (≤ 255 characters).")]
    = None,
) -> str | None:
    """Dependency: the Idempotency-Key header, checked (a malformed header is a 400, not a 422).

    Raises:
        BadRequest: an empty key, one over 255 characters, or one with control characters.
    """
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable "
                         f"characters (got {len(key)})")
    return key


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
SweepId = Annotated[int, Path(ge=1, le=MAX_SWEEP_ID, description="The sweep's id.")]
TrialId = Annotated[int, Path(ge=1, le=MAX_TRIAL_ID, description="The trial's id.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]
DEFAULT_LIMIT = DEFAULT_PAGE_SIZE
