"""Dependencies shared by the routers: the store, the settings, the caller, paging and ids.

Authorization lives here, not in handlers: a handler that takes `CurrentUser` cannot run for
an anonymous caller, and every store call it makes is scoped to that user's id, so another
user's sweep is simply not found (404, invariant 7).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sweepd.errors import BadRequest, Unauthorized
from sweepd.records import UserRecord
from sweepd.schemas import DEFAULT_PAGE_SIZE, MAX_IDEMPOTENCY_KEY, MAX_PAGE_SIZE
from sweepd.settings import Settings
from sweepd.storage.store import Store

TOKEN_COOKIE = "sweepd_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TOKEN_CHARS = 512
# Sweep ids are 32-bit (INTEGER) columns, trial ids 64-bit: larger values could only fail inside
# the database, so they are refused as invalid input before reaching it.
MAX_SWEEP_ID = 2**31 - 1
MAX_TRIAL_ID = 2**63 - 1
MAX_OFFSET = 10**12


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def request_token(request: Request) -> str | None:
    """The raw token of a request: `Authorization: Bearer <token>`, else the `sweepd_token` cookie.

    A browser attaches the cookie to requests other sites make too, so a cookie-authenticated
    request that changes something must come from the service's own pages: its `Origin`, when
    the browser sends one, must be this host (cross-site request forgery).

    Raises:
        Unauthorized: an Authorization header that is not a bearer token, or a cross-site
            request that relies on the cookie.
    """
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        return token.strip()
    cookie = request.cookies.get(TOKEN_COOKIE) or None
    if cookie is not None and request.method not in SAFE_METHODS and _cross_site(request):
        raise Unauthorized("a cross-site request cannot use the session cookie; send "
                           "'Authorization: Bearer <token>'")
    return cookie


def _cross_site(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc != request.headers.get("host")


# Declares the bearer scheme in the OpenAPI document (an Authorize button in /docs and a scheme
# generated clients use); the token itself is read by `request_token`, which also knows the
# web page's cookie.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="An API token: `Authorization: Bearer swd_…` "
                                "(`sweepd token show` prints the local one).")


def current_user(request: Request, store: StoreDep,
                 _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None,
                 ) -> UserRecord:
    """Dependency: the user the request's token belongs to.

    Raises:
        Unauthorized: no token, or one that is unknown or revoked.
    """
    raw = request_token(request)
    if raw is None:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    user = store.authenticate(raw) if len(raw) <= MAX_TOKEN_CHARS else None
    if user is None:
        raise Unauthorized("invalid or revoked token")
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
