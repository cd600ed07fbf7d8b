"""Users, API tokens, and the web page's sessions.

A raw token is `swd_` followed by 32 random bytes (URL-safe base64); it is shown once, when it
is created, and only its sha256 is stored (invariant 7) with an 8-character prefix for display.
Lookups go by hash: the raw token never reaches the database, not even in a WHERE clause.

A web session is started with a token but never holds it: the browser's cookie carries a
session id of its own (`sws_…`), stored hashed like a token, with an expiry, revocable on its
own, and ended with the token it was started with. A sign-in link (`sweepd open`) is a row of
the same table whose one-time code (`swl_…`) turns into a session when it is used.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sweepd.errors import Conflict, NotFound, Unavailable
from sweepd.records import TokenRecord, UserRecord
from sweepd.storage.convert import token_record, user_record
from sweepd.storage.models import SqlApiToken, SqlUser, SqlWebSession
from sweepd.storage.store_base import StoreBase

log = logging.getLogger(__name__)

TOKEN_PREFIX = "swd_"
SESSION_PREFIX = "sws_"
LINK_PREFIX = "swl_"
# Ended sessions stay listed this long after they expire, then the next sign-in deletes them.
SESSION_RETENTION = timedelta(days=30)
PREFIX_CHARS = 8
# last_used_at is bookkeeping: writing it on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How long a token that authenticated is taken as live without reading it again (see
# `TokenCache`); at most this many tokens are remembered.
AUTH_CACHE_SECONDS = 2.0
AUTH_CACHE_TOKENS = 1024


class TokenCache:
    """The users of tokens that authenticated in the last `seconds`, by the tokens' hashes.

    Every API request authenticates; reading the token's row each time was a statement of its
    own in every status read, waiting its turn behind a running sweep's writes (issue 19). A
    token revoked through this store is forgotten at once; one revoked by another process (the
    CLI on the same database, another API replica) stops working here within `seconds`. Unknown
    and revoked tokens are never remembered, so a guess costs a database read as before.
    """

    def __init__(self, seconds: float = AUTH_CACHE_SECONDS, size: int = AUTH_CACHE_TOKENS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self._size, self._clock = seconds, size, clock
        self._users: OrderedDict[str, tuple[float, UserRecord]] = OrderedDict()
        self._lock = threading.Lock()
        self.generation = 0  # moves with each `clear`

    def get(self, token_hash: str) -> UserRecord | None:
        with self._lock:
            found = self._users.get(token_hash)
            if found is None:
                return None
            if self._clock() >= found[0]:
                del self._users[token_hash]
                return None
            return found[1]

    def put(self, token_hash: str, user: UserRecord, *, read_at: int) -> None:
        """Remember a token read live while `generation` was `read_at`; not if a revocation
        has cleared the cache since (the read may predate it)."""
        if self.seconds <= 0:
            return
        with self._lock:
            if read_at != self.generation:
                return
            self._users[token_hash] = (self._clock() + self.seconds, user)
            self._users.move_to_end(token_hash)
            while len(self._users) > self._size:
                self._users.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._users.clear()
            self.generation += 1


def hash_token(raw_token: str) -> str:
    """The sha256 hex digest under which a token is stored."""
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def new_raw_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class WebSessionRecord:
    """A web session as `sweepd token list` shows it; `csrf_hash` checks the page's token."""

    id: int
    user_id: int
    token_id: int
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    csrf_hash: str


@dataclass(frozen=True)
class NewWebSession:
    """A session just started: the cookie's secret and the page's CSRF token, shown once."""

    record: WebSessionRecord
    secret: str
    csrf: str


def _session_record(row: SqlWebSession) -> WebSessionRecord:
    return WebSessionRecord(id=row.id, user_id=row.user_id, token_id=row.token_id,
                            created_at=row.created_at, expires_at=row.expires_at,
                            last_used_at=row.last_used_at, revoked_at=row.revoked_at,
                            csrf_hash=row.csrf_hash or "")


class AuthStore(StoreBase):
    """Users and their API tokens."""

    def create_user(self, name: str, *, is_admin: bool = False) -> UserRecord:
        """Create a user.

        Raises:
            Conflict: a user with this name exists.
        """
        try:
            with self._write() as session:
                user = SqlUser(name=name, is_admin=is_admin, created_at=self._clock())
                session.add(user)
                session.flush()
                return user_record(user)
        except IntegrityError as err:
            raise Conflict(f"a user named {name!r} already exists") from err

    def find_user(self, name: str) -> UserRecord | None:
        """The user with this name, or None."""
        with self._read() as session:
            user = session.scalars(select(SqlUser).where(SqlUser.name == name)).first()
            return user_record(user) if user is not None else None

    def count_users(self) -> int:
        with self._read() as session:
            return int(session.scalar(select(func.count()).select_from(SqlUser)) or 0)

    def create_token(self, user_id: int, name: str) -> tuple[TokenRecord, str]:
        """Create an API token for a user.

        Returns:
            The token's record and the raw token, which is not kept and cannot be shown again.

        Raises:
            NotFound: no such user.
        """
        raw = new_raw_token()
        with self._write() as session:
            if session.get(SqlUser, user_id) is None:
                raise NotFound(f"user {user_id} not found")
            token = SqlApiToken(user_id=user_id, name=name, token_hash=hash_token(raw),
                                prefix=raw[:PREFIX_CHARS], created_at=self._clock())
            session.add(token)
            session.flush()
            return token_record(token), raw

    @cached_property
    def token_cache(self) -> TokenCache:
        """The tokens that authenticated lately (`TokenCache`)."""
        return TokenCache()

    def recently_authenticated(self, raw_token: str) -> UserRecord | None:
        """The user of a token that authenticated in the last `AUTH_CACHE_SECONDS`, read from
        no database; None: ask `authenticate`."""
        return self.token_cache.get(hash_token(raw_token)) if raw_token else None

    def authenticate(self, raw_token: str) -> UserRecord | None:
        """The user a raw token belongs to, or None for an unknown or revoked token.

        Raises:
            Unavailable: the database cannot be reached.
        """
        if not raw_token:
            return None
        generation = self.token_cache.generation
        with self._read() as session:
            found = self._live_token(session, raw_token)
            if found is None:
                return None
            token, user = found
            record, token_id, last_used = user_record(user), token.id, token.last_used_at
        self._touch(token_id, last_used)
        self.token_cache.put(hash_token(raw_token), record, read_at=generation)
        return record

    def _touch(self, token_id: int, last_used: datetime | None) -> None:
        now = self._clock()
        if last_used is not None and now - last_used < LAST_USED_RESOLUTION:
            return
        stale = now - LAST_USED_RESOLUTION
        try:
            with self._write() as session:
                session.execute(
                    update(SqlApiToken)
                    .where(SqlApiToken.id == token_id,
                           or_(SqlApiToken.last_used_at.is_(None),
                               SqlApiToken.last_used_at < stale))
                    .values(last_used_at=now).execution_options(synchronize_session=False)
                )
        except Unavailable:
            # The request is authenticated already; losing one last-used stamp is harmless.
            log.warning("could not record the last use of token %d", token_id)

    def revoke_token(self, token_id: int) -> None:
        """Revoke a token; revoking it again keeps the first revocation time.

        Raises:
            NotFound: no such token.
        """
        with self._write() as session:
            token = session.get(SqlApiToken, token_id)
            if token is None:
                raise NotFound(f"token {token_id} not found")
            if token.revoked_at is None:
                token.revoked_at = self._clock()
        self.token_cache.clear()  # the revoked token's hash is not known here; all go

    def list_tokens(self, user_id: int) -> list[TokenRecord]:
        """A user's tokens, revoked ones included, oldest first."""
        with self._read() as session:
            query = select(SqlApiToken).where(SqlApiToken.user_id == user_id)
            return [token_record(t) for t in session.scalars(query.order_by(SqlApiToken.id))]

    # -- web sessions ----------------------------------------------------------------------

    def start_web_session(self, raw_token: str, *, lifetime: timedelta
                          ) -> tuple[UserRecord, NewWebSession] | None:
        """Start a web session for the holder of a live token; None for any other token."""
        with self._write() as session:
            found = self._live_token(session, raw_token)
            if found is None:
                return None
            token, user = found
            now = self._clock()
            session.execute(delete(SqlWebSession)
                            .where(SqlWebSession.expires_at < now - SESSION_RETENTION))
            secret, csrf = SESSION_PREFIX + secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            row = SqlWebSession(user_id=user.id, token_id=token.id, kind="session",
                                secret_hash=hash_token(secret), csrf_hash=hash_token(csrf),
                                created_at=now, expires_at=now + lifetime)
            session.add(row)
            session.flush()
            return user_record(user), NewWebSession(_session_record(row), secret, csrf)

    def create_signin_link(self, raw_token: str, *, lifetime: timedelta) -> str | None:
        """A one-time code that signs a browser in as the token's user (`sweepd open`).

        Returns:
            The raw code (not kept), or None when the token is not live.
        """
        with self._write() as session:
            found = self._live_token(session, raw_token)
            if found is None:
                return None
            token, user = found
            code, now = LINK_PREFIX + secrets.token_urlsafe(32), self._clock()
            session.add(SqlWebSession(user_id=user.id, token_id=token.id, kind="link",
                                      secret_hash=hash_token(code), created_at=now,
                                      expires_at=now + lifetime))
            return code

    def signin_link_user(self, code: str) -> UserRecord | None:
        """The user an unused, unexpired sign-in link would sign in, or None."""
        with self._read() as session:
            found = session.execute(self._live_query(code, "link")).first()
            return user_record(found[1]) if found is not None else None

    def redeem_signin_link(self, code: str, *, lifetime: timedelta
                           ) -> tuple[UserRecord, NewWebSession] | None:
        """Turn a sign-in link into a session, once: a second use, or a late one, is None."""
        secret, csrf = SESSION_PREFIX + secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._write() as session:
            found = session.execute(self._live_query(code, "link")).first()
            if found is None:
                return None
            row, user = found
            now = self._clock()
            # Conditional on the row still being an unused link: of two concurrent uses, one
            # updates it and the other finds nothing to update.
            used = session.execute(
                update(SqlWebSession)
                .where(SqlWebSession.id == row.id, SqlWebSession.kind == "link")
                .values(kind="session", secret_hash=hash_token(secret),
                        csrf_hash=hash_token(csrf), created_at=now, expires_at=now + lifetime)
                .execution_options(synchronize_session=False))
            if used.rowcount != 1:
                return None
            session.refresh(row)
            return user_record(user), NewWebSession(_session_record(row), secret, csrf)

    def authenticate_web_session(self, secret: str
                                 ) -> tuple[UserRecord, WebSessionRecord] | None:
        """The user and session of a cookie's secret; None when unknown, ended or expired.

        Raises:
            Unavailable: the database cannot be reached.
        """
        if not secret.startswith(SESSION_PREFIX):
            return None
        with self._read() as session:
            found = session.execute(self._live_query(secret, "session")).first()
            if found is None:
                return None
            record, user = _session_record(found[0]), user_record(found[1])
        self._touch_session(record)
        return user, record

    def revoke_web_session(self, session_id: int, *, user_id: int | None = None) -> None:
        """End a session; ending it again keeps the first time.

        Raises:
            NotFound: no such session (or, with `user_id`, none of that user's).
        """
        with self._write() as session:
            row = session.get(SqlWebSession, session_id)
            if row is None or row.kind != "session" or user_id not in (None, row.user_id):
                raise NotFound(f"web session {session_id} not found")
            if row.revoked_at is None:
                row.revoked_at = self._clock()

    def list_web_sessions(self, user_id: int) -> list[WebSessionRecord]:
        """A user's web sessions, ended ones included (until `SESSION_RETENTION`), oldest first."""
        with self._read() as session:
            query = (select(SqlWebSession)
                     .where(SqlWebSession.user_id == user_id, SqlWebSession.kind == "session")
                     .order_by(SqlWebSession.id))
            return [_session_record(row) for row in session.scalars(query)]

    def _live_token(self, session: Session, raw_token: str
                    ) -> tuple[SqlApiToken, SqlUser] | None:
        query = (select(SqlApiToken, SqlUser).join(SqlUser, SqlUser.id == SqlApiToken.user_id)
                 .where(SqlApiToken.token_hash == hash_token(raw_token),
                        SqlApiToken.revoked_at.is_(None)))
        found = session.execute(query).first()
        return (found[0], found[1]) if found is not None else None

    def _live_query(self, secret: str, kind: str) -> Select[tuple[SqlWebSession, SqlUser]]:
        """The row of an unexpired, unrevoked session or link whose token is still live."""
        return (select(SqlWebSession, SqlUser)
                .join(SqlUser, SqlUser.id == SqlWebSession.user_id)
                .join(SqlApiToken, SqlApiToken.id == SqlWebSession.token_id)
                .where(SqlWebSession.secret_hash == hash_token(secret),
                       SqlWebSession.kind == kind, SqlWebSession.revoked_at.is_(None),
                       SqlWebSession.expires_at > self._clock(),
                       SqlApiToken.revoked_at.is_(None)))

    def _touch_session(self, record: WebSessionRecord) -> None:
        now = self._clock()
        if record.last_used_at is not None and now - record.last_used_at < LAST_USED_RESOLUTION:
            return
        try:
            with self._write() as session:
                session.execute(update(SqlWebSession).where(SqlWebSession.id == record.id)
                                .values(last_used_at=now)
                                .execution_options(synchronize_session=False))
        except Unavailable:
            log.warning("could not record the last use of web session %d", record.id)
