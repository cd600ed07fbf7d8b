"""The cache of lately authenticated tokens: bounded in time and size, and never holding a
token that a revocation in this process may have ended."""

from __future__ import annotations

from datetime import datetime, timezone

from sweepd.records import UserRecord
from sweepd.storage.store_auth import TokenCache

ALICE = UserRecord(id=1, name="alice", is_admin=False, created_at=datetime.now(timezone.utc))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_remembered_for_its_seconds_only() -> None:
    clock = Clock()
    cache = TokenCache(seconds=2.0, clock=clock)
    cache.put("h", ALICE, read_at=cache.generation)
    clock.now += 1.9
    assert cache.get("h") == ALICE
    clock.now += 0.2
    assert cache.get("h") is None
    assert cache.get("h") is None  # and it stays forgotten


def test_the_cache_keeps_at_most_its_size_newest_first() -> None:
    cache = TokenCache(size=3, clock=Clock())
    for name in "abcd":
        cache.put(name, ALICE, read_at=cache.generation)
    assert [cache.get(name) for name in "abcd"] == [None, ALICE, ALICE, ALICE]


def test_a_read_from_before_a_revocation_is_not_remembered() -> None:
    # authenticate() reads the token, a revocation commits and clears, then the read returns:
    # remembering it would keep the revoked token alive for the cache's seconds.
    cache = TokenCache(clock=Clock())
    cache.put("old", ALICE, read_at=cache.generation)
    read_at = cache.generation
    cache.clear()
    cache.put("h", ALICE, read_at=read_at)
    assert cache.get("h") is None
    assert cache.get("old") is None


def test_zero_seconds_remembers_nothing() -> None:
    cache = TokenCache(seconds=0.0, clock=Clock())
    cache.put("h", ALICE, read_at=cache.generation)
    assert cache.get("h") is None
