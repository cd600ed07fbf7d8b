"""Signing in to the web page: the token cookie, the page guard, CSRF defence, the local token.

    GET  /signin         the form (a signed-in visitor goes straight on)
    POST /signin         token → HttpOnly, SameSite=Strict cookie `sweepd_token` (Secure on https)
    POST /signin/local   the service's saved token, for a browser on this machine only
    POST /signout        clears the cookie
    GET  /web-api/session  whether the cookie signs someone in (200 either way)

The cookie holds the API token itself, so the JSON API (`sweepd_api.deps.current_user`) accepts the
page's requests as they are. Pages without a valid cookie answer 303 to the sign-in form; data
endpoints answer 401. Every state-changing request of the page (sign-in included, against login
CSRF) must come from this origin: SameSite=Strict keeps the cookie off cross-site requests, and
the Origin (or Referer) check refuses them even where a browser sends cookies anyway.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from sweepd import tokenfile
from sweepd.errors import BadRequest, Unauthorized
from sweepd.records import UserRecord
from sweepd.settings import Settings
from sweepd.storage.store import Store
from sweepd_api.deps import MAX_TOKEN_CHARS, TOKEN_COOKIE, SettingsDep, StoreDep, request_token
from sweepd_api.web.templating import render

SIGNIN = "/signin"
COOKIE_MAX_AGE = 7 * 24 * 3600
MAX_FORM_BYTES = 4096
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# A proxy in front of the service makes every request look local: never trust those.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")

router = APIRouter(include_in_schema=False)


def viewer(request: Request, store: Store) -> UserRecord | None:
    """The user whose token the request carries (cookie or bearer), or None."""
    try:
        raw = request_token(request)
    except Unauthorized:
        return None
    if raw is None or len(raw) > MAX_TOKEN_CHARS:
        return None
    return store.authenticate(raw)


class SignInRequired(Exception):
    """A page was asked for without a valid token: answered by `redirect_to_signin`."""

    def __init__(self, location: str, *, clear_cookie: bool) -> None:
        super().__init__(location)
        self.location = location
        self.clear_cookie = clear_cookie


def page_user(request: Request, store: StoreDep) -> UserRecord:
    """Dependency of the pages: the signed-in user.

    Raises:
        SignInRequired: no valid token; the app answers 303 to `/signin?next=<this page>`.
    """
    user = viewer(request, store)
    if user is None:
        raise SignInRequired(signin_url(request), clear_cookie=TOKEN_COOKIE in request.cookies)
    return user


async def redirect_to_signin(_request: Request, exc: Exception) -> Response:
    """The exception handler of `SignInRequired`: 303, clearing a cookie that no longer works."""
    assert isinstance(exc, SignInRequired)
    response = RedirectResponse(exc.location, status_code=303)
    if exc.clear_cookie:
        response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
    return response


PageUser = Annotated[UserRecord, Depends(page_user)]


def check_same_origin(request: Request, settings: SettingsDep) -> None:
    """Dependency of state-changing page requests: refuse those sent from another site.

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


SameOrigin = Depends(check_same_origin)


def signin_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{SIGNIN}?next={quote(target, safe='')}"


def safe_next(target: str | None) -> str:
    """A local path to go on to after signing in; "/" for anything else (no open redirect)."""
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or len(target) > 2000 or any(ord(c) < 32 for c in target)):
        return "/"
    return target


def is_local_request(request: Request) -> bool:
    """A browser on this machine talking to the service directly, not through a proxy."""
    client = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(client).is_loopback
    except ValueError:
        return False
    host = urlsplit(f"//{request.headers.get('host', '')}").hostname or ""
    return (loopback and host in LOCAL_HOSTS
            and not any(h in request.headers for h in PROXY_HEADERS))


def local_token(request: Request, settings: Settings) -> str | None:
    """The service's saved token when the request is local and the file exists, else None.

    The token is read here, on the server, and only ever goes into the HttpOnly cookie.
    """
    if not is_local_request(request):
        return None
    saved = tokenfile.load(settings.resolved_token_file)
    return saved[1] if saved else None


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a small url-encoded form body (first value of each).

    Raises:
        BadRequest: a body over 4 KiB.
    """
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise BadRequest("the form is too large")
    parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=8)
    return {key: values[0] for key, values in parsed.items()}


def signed_in(request: Request, settings: Settings, token: str, target: str) -> Response:
    """A 303 to `target` that sets the token cookie."""
    response = RedirectResponse(safe_next(target), status_code=303)
    secure = request.url.scheme == "https" or (settings.public_url or "").startswith("https:")
    response.set_cookie(TOKEN_COOKIE, token, max_age=COOKIE_MAX_AGE, path="/", httponly=True,
                        samesite="strict", secure=secure)
    return response


def _form(request: Request, settings: Settings, target: str, error: str | None = None,
          status_code: int = 200) -> Response:
    return render(request, "signin.html", status_code, next=safe_next(target), error=error,
                  local=local_token(request, settings) is not None, user=None)


@router.get(SIGNIN)
def signin_form(request: Request, store: StoreDep, settings: SettingsDep,
                next: str = "/") -> Response:
    """The sign-in form; a visitor already signed in goes straight to `next`."""
    if viewer(request, store) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, settings, next)


@router.post(SIGNIN, dependencies=[SameOrigin])
async def signin(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Check the token from the form; set the cookie, or show the form again with a 401."""
    fields = await form_fields(request)
    token, target = fields.get("token", "").strip(), fields.get("next", "/")
    if not token or len(token) > MAX_TOKEN_CHARS or store.authenticate(token) is None:
        return _form(request, settings, target, "That token is not valid, or it has been "
                     "revoked. Check it and try again.", 401)
    return signed_in(request, settings, token, target)


@router.post(f"{SIGNIN}/local", dependencies=[SameOrigin])
async def signin_local(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Sign in with the service's saved token: only for a browser on this machine."""
    target = (await form_fields(request)).get("next", "/")
    token = local_token(request, settings)
    if token is None or store.authenticate(token) is None:
        return _form(request, settings, target, "The local token is not available here: "
                     "paste a token instead.", 403)
    return signed_in(request, settings, token, target)


@router.get("/web-api/session")
def session(request: Request, store: StoreDep) -> JSONResponse:
    """Whether the browser is signed in, for the sign-in page.

    A link from another site opens the page without the SameSite=Strict cookie, so the server
    sends the form; the form's script asks here (same-site, with the cookie) and goes on to
    the page it was sent to if the visitor turns out to be signed in after all.
    """
    user = viewer(request, store)
    return JSONResponse({"signed_in": user is not None, "user": user.name if user else None},
                        headers={"Cache-Control": "no-store"})


@router.post("/signout", dependencies=[SameOrigin])
def signout() -> Response:
    """Forget the cookie and go back to the sign-in form."""
    response = RedirectResponse(SIGNIN, status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
    return response
