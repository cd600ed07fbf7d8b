"""Signing in to the web page: server-side sessions, the page guard, CSRF defence, `sweepd open`.

    GET  /signin              the form (a signed-in visitor goes straight on)
    POST /signin              token → a new session: cookie `sweepd_session` (`__Host-` on https)
    GET  /signin/local        ?code=: a `sweepd open` link: "sign in as NAME?" (one click)
    POST /signin/local        uses the link's one-time code → a new session
    POST /signout             ends the session on the server and clears the cookie
    GET  /web-api/session     whether the cookie signs someone in, and whether this page holds
                              its CSRF token (200 either way)
    POST /api/v1/signin-links bearer only: a one-time sign-in link for `sweepd open`

The cookie holds a random session id (HttpOnly, SameSite=Strict, Path=/, Secure on https),
never the API token: the API (`/api/v1`) does not take it at all, and a session is revocable
and expires (`sweepd token list`). Cookies ignore ports, so any other server on this host
receives the cookie and may set one; what it cannot reach is this origin's storage, where the
page keeps the session's CSRF token (handed over once, in the sign-in response). Every change
the page makes needs that token and this origin (`sweepd_api.deps.current_user`); a page that
finds a session without its token (a cookie set from elsewhere: login CSRF) ends it.

A sign-in link proves what the old "local token" button did not: that the caller holds a token
(`sweepd open` reads the token file). Opening it asks before it signs in, so a link made by
someone else cannot sign a browser into their account unseen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from sweepd.errors import BadRequest, Unauthorized
from sweepd.records import UserRecord
from sweepd.settings import Settings
from sweepd.storage.store_auth import NewWebSession
from sweepd_api.deps import (
    MAX_TOKEN_CHARS,
    CurrentUser,
    SettingsDep,
    StoreDep,
    bearer_token,
    check_same_origin,
    cookie_values,
    holds_csrf,
    is_https,
    session_cookie_name,
    web_session,
)
from sweepd_api.openapi import problems
from sweepd_api.web.templating import render

SIGNIN = "/signin"
MAX_FORM_BYTES = 4096
FOREIGN_SESSION = ("The session in this browser was not started on this page (another server "
                   "on this machine may have set its cookie), so it has been ended. Sign in "
                   "again.")
DEAD_LINK = ("This sign-in link is not valid any more: each works once, for a short time. "
             "Run `sweepd open` again.")

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["sessions"])


class SignInRequired(Exception):
    """A page was asked for without a valid session: answered by `redirect_to_signin`."""

    def __init__(self, location: str, *, clear_cookie: str | None) -> None:
        super().__init__(location)
        self.location = location
        self.clear_cookie = clear_cookie


def viewer(request: Request) -> UserRecord | None:
    """The user whose session cookie the request carries, or None."""
    found = web_session(request, request.app.state.store, request.app.state.settings)
    return found[0] if found else None


def page_user(request: Request, settings: SettingsDep) -> UserRecord:
    """Dependency of the pages: the signed-in user.

    Raises:
        SignInRequired: no valid session; the app answers 303 to `/signin?next=<this page>`.
    """
    user = viewer(request)
    if user is None:
        name = session_cookie_name(request, settings)
        raise SignInRequired(signin_url(request),
                             clear_cookie=name if cookie_values(request, name) else None)
    return user


async def redirect_to_signin(_request: Request, exc: Exception) -> Response:
    """The exception handler of `SignInRequired`: 303, clearing a cookie that no longer works."""
    assert isinstance(exc, SignInRequired)
    response = RedirectResponse(exc.location, status_code=303)
    if exc.clear_cookie:
        _clear(response, exc.clear_cookie)
    return response


PageUser = Annotated[UserRecord, Depends(page_user)]
SameOrigin = Depends(check_same_origin)


def signin_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{SIGNIN}?next={quote(target, safe='')}"


def safe_next(target: str | None) -> str:
    """A local path to go on to after signing in; "/" for anything else (no open redirect)."""
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or len(target) > 2000 or any(ord(c) < 32 for c in target)):
        return "/"
    return target.split("#", 1)[0] or "/"


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


def session_lifetime(settings: Settings) -> timedelta:
    return timedelta(hours=settings.web_session_hours)


def signed_in(request: Request, settings: Settings, user: UserRecord, new: NewWebSession,
              target: str) -> Response:
    """The page that hands the new session to the browser: the cookie, and the CSRF token.

    The CSRF token goes into the page (not a cookie, which every port of this host would see);
    its script keeps it in this origin's storage and goes on to `target`.
    """
    response = render(request, "signed_in.html", user=None, who=user.name,
                      next=safe_next(target), csrf=new.csrf)
    response.set_cookie(session_cookie_name(request, settings), new.secret,
                        max_age=int(session_lifetime(settings).total_seconds()), path="/",
                        httponly=True, samesite="strict", secure=is_https(request, settings))
    return response


def _clear(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="strict",
                           secure=name.startswith("__Host-"))


def _form(request: Request, target: str, error: str | None = None,
          status_code: int = 200) -> Response:
    return render(request, "signin.html", status_code, next=safe_next(target), error=error,
                  user=None)


@router.get(SIGNIN)
def signin_form(request: Request, next: str = "/", foreign: bool = False) -> Response:
    """The sign-in form; a visitor already signed in goes straight to `next`."""
    if not foreign and viewer(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, next, FOREIGN_SESSION if foreign else None)


@router.post(SIGNIN, dependencies=[SameOrigin])
async def signin(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Check the token from the form and start a session, or show the form again with a 401."""
    fields = await form_fields(request)
    token, target = fields.get("token", "").strip(), fields.get("next", "/")
    started = (store.start_web_session(token, lifetime=session_lifetime(settings))
               if token and len(token) <= MAX_TOKEN_CHARS else None)
    if started is None:
        return _form(request, target, "That token is not valid, or it has been revoked. Check "
                     "it and try again.", 401)
    return signed_in(request, settings, *started, target)


@router.get(f"{SIGNIN}/local")
def signin_link(request: Request, store: StoreDep,
                code: Annotated[str, Query(max_length=MAX_TOKEN_CHARS)] = "",
                next: str = "/") -> Response:
    """A `sweepd open` link: asks "sign in as NAME?"; the code is used only by the button."""
    user = store.signin_link_user(code) if code else None
    if user is None:
        return _form(request, next, DEAD_LINK, 403)
    return render(request, "signin_link.html", user=None, who=user.name, code=code,
                  next=safe_next(next))


@router.post(f"{SIGNIN}/local", dependencies=[SameOrigin])
async def signin_local(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Use a sign-in link's one-time code: start a session, or 403 for a used or late one."""
    fields = await form_fields(request)
    code, target = fields.get("code", ""), fields.get("next", "/")
    started = (store.redeem_signin_link(code, lifetime=session_lifetime(settings))
               if code and len(code) <= MAX_TOKEN_CHARS else None)
    if started is None:
        return _form(request, target, DEAD_LINK, 403)
    return signed_in(request, settings, *started, target)


@router.get("/web-api/session")
def session(request: Request, settings: SettingsDep) -> JSONResponse:
    """Whether the browser is signed in, and whether the page holds the session's CSRF token.

    The sign-in form asks here (a link from another site opens it without the SameSite=Strict
    cookie) and goes on if signed in; every page asks too, and ends a session it finds without
    its token (`bound: false`): a cookie tossed in from another port of this host.
    """
    found = web_session(request, request.app.state.store, settings)
    return JSONResponse({"signed_in": found is not None,
                         "user": found[0].name if found else None,
                         "bound": found is not None and holds_csrf(request, found[1])},
                        headers={"Cache-Control": "no-store"})


@router.post("/signout", dependencies=[SameOrigin])
def signout(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """End the session on the server, forget the cookie, go back to the sign-in form."""
    found = web_session(request, store, settings)
    if found is not None:
        store.revoke_web_session(found[1].id)
    response = RedirectResponse(SIGNIN, status_code=303)
    _clear(response, session_cookie_name(request, settings))
    return response


class SigninLink(BaseModel):
    """A one-time sign-in link for the web page."""

    url: str = Field(description="Open it in a browser: it asks, then signs in, once.")
    expires_at: datetime = Field(description="The link does not work after this time (UTC).")


@api_router.post("/signin-links", status_code=201, response_model=SigninLink,
                 responses=problems(401))
def create_signin_link(request: Request, user: CurrentUser, store: StoreDep,
                       settings: SettingsDep) -> SigninLink:
    """A link that signs a browser in to the web page as you, once, within a short time
    (`sweepd open`). Opening it asks before it signs in."""
    raw = bearer_token(request)
    lifetime = timedelta(seconds=settings.signin_link_seconds)
    code = store.create_signin_link(raw, lifetime=lifetime) if raw else None
    if code is None:  # revoked between the check and now
        raise Unauthorized(f"the token of {user.name!r} is not valid any more")
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return SigninLink(url=f"{base}{SIGNIN}/local?code={code}",
                      expires_at=datetime.now(UTC) + lifetime)
