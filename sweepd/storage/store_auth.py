"""Users and API tokens.

A raw token is `swd_` followed by 32 random bytes (URL-safe base64); it is shown once, when it
is created, and only its sha256 is stored (invariant 7) with an 8-character prefix for display.
Lookups go by hash: the raw token never reaches the database, not even in a WHERE clause.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from sweepd.errors import Conflict, NotFound, Unavailable
from sweepd.records import TokenRecord, UserRecord
from sweepd.storage.convert import token_record, user_record
from sweepd.storage.models import SqlApiToken, SqlUser
from sweepd.storage.store_base import StoreBase

log = logging.getLogger(__name__)

TOKEN_PREFIX = "swd_"
PREFIX_CHARS = 8
# last_used_at is bookkeeping: writing it on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw_token: str) -> str:
    """The sha256 hex digest under which a token is stored."""
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def new_raw_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


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

    def authenticate(self, raw_token: str) -> UserRecord | None:
        """The user a raw token belongs to, or None for an unknown or revoked token.

        Raises:
            Unavailable: the database cannot be reached.
        """
        if not raw_token:
            return None
        with self._read() as session:
            query = (select(SqlApiToken, SqlUser).join(SqlUser, SqlUser.id == SqlApiToken.user_id)
                     .where(SqlApiToken.token_hash == hash_token(raw_token),
                            SqlApiToken.revoked_at.is_(None)))
            found = session.execute(query).first()
            if found is None:
                return None
            token, user = found
            record, token_id, last_used = user_record(user), token.id, token.last_used_at
        self._touch(token_id, last_used)
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

    def list_tokens(self, user_id: int) -> list[TokenRecord]:
        """A user's tokens, revoked ones included, oldest first."""
        with self._read() as session:
            query = select(SqlApiToken).where(SqlApiToken.user_id == user_id)
            return [token_record(t) for t in session.scalars(query.order_by(SqlApiToken.id))]
