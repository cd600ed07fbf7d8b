"""Authentication and isolation (invariant 7, issue 6): tokens, revocation, other users' sweeps."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.integration.api.api_support import database_text, finish_trials, open_client, small_spec

SWEEPS = "/api/v1/sweeps"


@pytest.fixture
def bob_client(app, bob):
    with open_client(app, bob) as client:
        yield client


def assert_unauthorized(response):
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer swd_not-a-real-token"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
    {"Authorization": "Bearer " + "x" * 5000},
])
def test_request_without_valid_token_is_401(anonymous, counts, headers):
    before = counts()
    assert_unauthorized(anonymous.get(SWEEPS, headers=headers))
    assert_unauthorized(anonymous.post(SWEEPS, json=small_spec(), headers=headers))
    assert counts() == before


def test_request_with_revoked_token_is_401(client, store, alice):
    assert client.get(SWEEPS).status_code == 200
    store.revoke_token(alice.token_id)
    assert_unauthorized(client.get(SWEEPS))


def test_submit_sweep_unauthenticated_is_401_before_reading_body(anonymous, counts):
    before = counts()
    response = anonymous.post(SWEEPS, content=b"{not json", headers={
        "Content-Type": "application/json"})
    assert_unauthorized(response)
    assert counts() == before


def test_api_takes_no_cookie_neither_token_nor_session(anonymous, alice, store, counts):
    """Issue 14, item 10: a browser attaches cookies by itself, so the API never reads one."""
    _, session = store.start_web_session(alice.token, lifetime=timedelta(hours=1))
    before = counts()
    for name, value in (("sweepd_token", alice.token), ("sweepd_session", session.secret)):
        anonymous.cookies.clear()
        anonymous.cookies.set(name, value)
        assert_unauthorized(anonymous.get(SWEEPS))
        assert_unauthorized(anonymous.post(SWEEPS, json=small_spec(),
                                           headers={"Origin": "http://testserver"}))
        assert_unauthorized(anonymous.post(SWEEPS, content=json.dumps(small_spec())))
    assert counts() == before


def test_list_sweeps_shows_only_own(client, bob_client):
    client.post(SWEEPS, json=small_spec("alice's"))
    bob_client.post(SWEEPS, json=small_spec("bob's"))
    assert [s["name"] for s in client.get(SWEEPS).json()["items"]] == ["alice's"]
    assert [s["name"] for s in bob_client.get(SWEEPS).json()["items"]] == ["bob's"]


def test_read_sweep_of_other_user_is_404(client, bob_client, store, counts):
    sweep_id = client.post(SWEEPS, json=small_spec()).json()["id"]
    trial_id = finish_trials(store, max_trials=1)[0]
    base = f"{SWEEPS}/{sweep_id}"
    before = counts()
    for path in (base, f"{base}/trials", f"{base}/trials/{trial_id}",
                 f"{base}/trials/{trial_id}/weights", f"{base}/events"):
        response = bob_client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        if not path.endswith("/events"):  # the owner's stream would follow the running sweep
            assert client.get(path).status_code == 200, path
    assert bob_client.post(f"{base}/cancel").status_code == 404
    assert client.get(base).json()["state"] == "running"
    assert counts() == before


def test_submit_sweep_same_key_two_users_stores_two(client, bob_client):
    headers = {"Idempotency-Key": "shared-key"}
    mine = client.post(SWEEPS, json=small_spec(), headers=headers)
    theirs = bob_client.post(SWEEPS, json=small_spec(seeds=2), headers=headers)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def test_store_tokens_never_raw(client, alice, bob, db_url):
    client.post(SWEEPS, json=small_spec(), headers={"Idempotency-Key": "k1"})
    client.get(SWEEPS)
    text = database_text(db_url)
    assert alice.name in text  # the dump does see the tables' contents
    for token in (alice.token, bob.token):
        assert token not in text
        assert token[len("swd_"):] not in text


def _token_reads(engine) -> list[str]:
    from sqlalchemy import event

    seen: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *args: seen.append(statement))
    return seen


def test_a_token_that_authenticated_lately_costs_no_statement(client, store, alice):
    """Issue 19: every request read the token's row; now a status read is one statement."""
    sweep_id = client.post(SWEEPS, json=small_spec()).json()["id"]
    statements = _token_reads(store.engine)
    assert client.get(f"{SWEEPS}/{sweep_id}").status_code == 200
    assert not [s for s in statements if "api_tokens" in s]
    store.token_cache.clear()
    assert client.get(f"{SWEEPS}/{sweep_id}").status_code == 200
    assert [s for s in statements if "api_tokens" in s]  # forgotten: read again


def test_a_token_revoked_elsewhere_ends_here_within_the_cache_window(client, store, db_url,
                                                                       alice):
    from sweepd.storage.schema import open_store
    from sweepd.storage.store_auth import TokenCache

    now = [0.0]
    store.token_cache = TokenCache(seconds=2.0, clock=lambda: now[0])
    assert client.get(SWEEPS).status_code == 200
    other = open_store(db_url, auto_migrate=False)  # the CLI, or another API replica
    try:
        other.revoke_token(alice.token_id)
    finally:
        other.dispose()
    assert client.get(SWEEPS).status_code == 200  # the window this process does not see
    now[0] += 2.0
    assert_unauthorized(client.get(SWEEPS))
