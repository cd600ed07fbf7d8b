"""The one LRU cache of derived values (comparisons, figures): final sweeps only, LRU order."""

from __future__ import annotations

from datetime import datetime, timezone

from sweepd.lru import SweepCache
from sweepd.records import SweepRecord


def _sweep(sweep_id: int, state: str, minute: int = 0) -> SweepRecord:
    at = datetime(2026, 1, 1, 0, minute, tzinfo=timezone.utc)
    return SweepRecord(id=sweep_id, owner_id=1, name="s", spec={}, state=state, n_trials=1,
                       counts={}, progress=1.0, created_at=at, updated_at=at)


def test_fetch_keeps_values_of_final_sweeps_only():
    cache: SweepCache[int] = SweepCache(size=4)
    calls = []
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert cache.fetch(_sweep(1, "running"), "cmp", compute) == 1
    assert cache.fetch(_sweep(1, "running"), "cmp", compute) == 2  # recomputed while running
    done = _sweep(1, "completed", minute=1)
    assert cache.fetch(done, "cmp", compute) == 3
    assert cache.fetch(done, "cmp", compute) == 3 and len(calls) == 3
    assert cache.fetch(_sweep(1, "completed", minute=2), "cmp", compute) == 4  # a newer write


def test_put_evicts_the_least_recently_used():
    cache: SweepCache[str] = SweepCache(size=2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # a is now the most recent
    cache.put("c", "C")
    assert cache.get("b") is None and cache.get("a") == "A" and cache.get("c") == "C"
