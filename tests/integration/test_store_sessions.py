"""Web sessions and sign-in links in the store (issue 14, items 8 and 9), on SQLite and PostgreSQL.

A session is a secret of its own, stored hashed, that expires, can be revoked on its own and
ends with the token it was started with; a sign-in link turns into a session once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from sweepd.errors import NotFound
from sweepd.storage.store import Store
from tests.integration.api.api_support import database_text

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def alice(store: Store) -> tuple[int, int, str]:
    user = store.create_user("alice")
    token, raw = store.create_token(user.id, "laptop")
    return user.id, token.id, raw


def test_session_is_not_the_token_and_is_stored_hashed(store, alice, store_url):
    user_id, token_id, raw = alice
    user, new = store.start_web_session(raw, lifetime=HOUR)
    assert user.id == user_id and new.record.token_id == token_id
    assert new.secret.startswith("sws_") and raw not in new.secret
    assert store.authenticate(new.secret) is None  # a session id is no API token
    assert store.authenticate_web_session(raw) is None  # and a token is no session
    found = store.authenticate_web_session(new.secret)
    assert found is not None and found[0].name == "alice"
    text = database_text(store_url)
    assert new.secret not in text and new.csrf not in text
    assert new.secret[len("sws_"):] not in text


def test_unknown_token_starts_no_session(store, alice):
    assert store.start_web_session("swd_not-a-token", lifetime=HOUR) is None
    assert store.list_web_sessions(alice[0]) == []


def test_expired_session_is_refused(store, alice, clock):
    _, new = store.start_web_session(alice[2], lifetime=HOUR)
    clock.advance(HOUR.total_seconds() - 1)
    assert store.authenticate_web_session(new.secret) is not None
    clock.advance(2)
    assert store.authenticate_web_session(new.secret) is None


def test_revoked_session_is_refused_and_listed_as_revoked(store, alice):
    _, new = store.start_web_session(alice[2], lifetime=HOUR)
    _, other = store.start_web_session(alice[2], lifetime=HOUR)
    store.revoke_web_session(new.record.id)
    assert store.authenticate_web_session(new.secret) is None
    assert store.authenticate_web_session(other.secret) is not None  # only that one ends
    listed = {s.id: s for s in store.list_web_sessions(alice[0])}
    assert listed[new.record.id].revoked_at is not None
    assert listed[other.record.id].revoked_at is None


def test_revoking_a_session_of_another_user_is_not_found(store, alice):
    _, new = store.start_web_session(alice[2], lifetime=HOUR)
    bob = store.create_user("bob")
    with pytest.raises(NotFound):
        store.revoke_web_session(new.record.id, user_id=bob.id)
    with pytest.raises(NotFound):
        store.revoke_web_session(10_000)
    assert store.authenticate_web_session(new.secret) is not None


def test_revoking_the_token_ends_its_sessions_and_links(store, alice):
    _, new = store.start_web_session(alice[2], lifetime=HOUR)
    code = store.create_signin_link(alice[2], lifetime=MINUTE)
    store.revoke_token(alice[1])
    assert store.authenticate_web_session(new.secret) is None
    assert store.redeem_signin_link(code, lifetime=HOUR) is None


def test_signin_link_works_once(store, alice):
    code = store.create_signin_link(alice[2], lifetime=MINUTE)
    assert code.startswith("swl_")
    assert store.signin_link_user(code).name == "alice"
    assert store.authenticate_web_session(code) is None  # a link is not yet a session
    user, new = store.redeem_signin_link(code, lifetime=HOUR)
    assert user.name == "alice" and store.authenticate_web_session(new.secret) is not None
    assert store.redeem_signin_link(code, lifetime=HOUR) is None
    assert store.signin_link_user(code) is None
    assert [s.id for s in store.list_web_sessions(alice[0])] == [new.record.id]


def test_signin_link_expires(store, alice, clock):
    code = store.create_signin_link(alice[2], lifetime=MINUTE)
    clock.advance(61)
    assert store.signin_link_user(code) is None
    assert store.redeem_signin_link(code, lifetime=HOUR) is None


def test_concurrent_uses_of_one_link_make_one_session(store, alice):
    code = store.create_signin_link(alice[2], lifetime=MINUTE)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.redeem_signin_link(code, lifetime=HOUR), range(8)))
    assert sum(r is not None for r in results) == 1
    assert len(store.list_web_sessions(alice[0])) == 1


def test_sessions_long_expired_are_deleted_at_the_next_sign_in(store, alice, clock):
    store.start_web_session(alice[2], lifetime=HOUR)
    clock.advance(timedelta(days=31).total_seconds())
    store.start_web_session(alice[2], lifetime=HOUR)
    assert [s.created_at for s in store.list_web_sessions(alice[0])] == [clock()]
