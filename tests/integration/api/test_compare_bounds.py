"""Expensive reads are bounded (issue 14, item 3): a comparison clusters a stated sample of runs,
refuses to align hidden layers over the cap, runs off the event loop with a time budget (503 +
Retry-After, never a hung request), is computed once per question and cached per (sweep,
parameters) until a new result lands, and a flood of new questions is refused with 429."""

from __future__ import annotations

import threading
import time

import pytest

from sweepd import comparisons
from tests.integration.api.api_support import finish_trials, open_client, small_spec

SWEEPS = "/api/v1/sweeps"


def finished_sweep(client, store, seeds: int = 6) -> int:
    sweep_id = client.post(SWEEPS, json=small_spec(seeds=seeds)).json()["id"]
    finish_trials(store)
    return sweep_id


@pytest.fixture
def slow_compare(monkeypatch):
    """Comparisons that wait for `release` (each call also counted in `calls`)."""
    release, calls = threading.Event(), []
    real = comparisons._compare

    def slow(*args, **kwargs):
        calls.append(args[3:5])  # (metric, tolerance)
        assert release.wait(timeout=30)
        return real(*args, **kwargs)

    monkeypatch.setattr(comparisons, "_compare", slow)
    yield release, calls
    release.set()


def test_a_new_tolerance_clusters_a_stated_sample_of_runs(make_app, store, alice):
    app = make_app({"compare_max_pairs": 3})
    with open_client(app, alice) as client:
        sweep_id = finished_sweep(client, store)
        body = client.get(f"{SWEEPS}/{sweep_id}/compare", params={"tolerance": 0.37}).json()
    for group in body["groups"]:
        solutions = group["solutions"]
        assert solutions["n_trials"] == 3 and solutions["n_left_out"] == 3  # 3 pairs: 3 runs
    assert any(n.startswith("sampled:") and "budget of 3 pairs" in n and "3 of 6" in n
               for n in body["notes"])


def test_alignment_work_bounds_the_sample_by_width(make_app, store, alice):
    # Width 4: 64 per pair; a budget of 200 fits 3 pairs, so 3 of the 6 runs are clustered.
    app = make_app({"compare_max_matching_cost": 200})
    with open_client(app, alice) as client:
        sweep_id = finished_sweep(client, store)
        body = client.get(f"{SWEEPS}/{sweep_id}/compare").json()
    assert {g["solutions"]["n_trials"] for g in body["groups"]} == {3}


def test_hidden_layers_over_the_alignment_cap_are_not_aligned(make_app, store, alice):
    app = make_app({"compare_max_matching_width": 2})
    with open_client(app, alice) as client:
        sweep_id = finished_sweep(client, store, seeds=2)
        body = client.get(f"{SWEEPS}/{sweep_id}/compare").json()
        a, b = (t["id"] for t in client.get(f"{SWEEPS}/{sweep_id}/trials").json()["items"][:2])
        pair = client.get(f"{SWEEPS}/{sweep_id}/compare/pair", params={"a": a, "b": b})
    assert all(g["solutions"] is None for g in body["groups"])
    assert any("wider than the alignment cap of 2" in n for n in body["notes"])
    assert pair.status_code == 422 and "alignment cap of 2" in pair.json()["detail"]


def test_a_slow_comparison_answers_503_with_retry_after_then_the_cached_result(
        make_app, store, alice, slow_compare):
    release, calls = slow_compare
    app = make_app({"compare_timeout_seconds": 0.3})
    with open_client(app, alice) as client:
        sweep_id = finished_sweep(client, store)
        started = time.monotonic()
        late = client.get(f"{SWEEPS}/{sweep_id}/compare", params={"tolerance": 0.2})
        assert time.monotonic() - started < 10  # answered, not hung
        assert late.status_code == 503
        assert late.headers["content-type"].startswith("application/problem+json")
        assert int(late.headers["retry-after"]) >= 1
        assert "still being computed" in late.json()["detail"]
        again = client.get(f"{SWEEPS}/{sweep_id}/compare", params={"tolerance": 0.2})
        assert again.status_code == 503  # joins the running computation, starts no other
        release.set()
        wait_for(lambda: not app.state.compare_runner._running)
        done = client.get(f"{SWEEPS}/{sweep_id}/compare", params={"tolerance": 0.2})
    assert done.status_code == 200 and done.json()["tolerance"] == 0.2
    assert len(calls) == 1  # one computation for the three requests: the last from the cache


def test_new_questions_past_the_concurrency_cap_get_429(make_app, store, alice, bob,
                                                         slow_compare):
    release, _ = slow_compare
    app = make_app({"compare_timeout_seconds": 0.3, "compare_max_concurrent": 1})
    with open_client(app, alice) as client, open_client(app, bob) as other:
        sweep_id = finished_sweep(client, store)
        assert client.get(f"{SWEEPS}/{sweep_id}/compare",
                          params={"tolerance": 0.1}).status_code == 503
        statuses = [client.get(f"{SWEEPS}/{sweep_id}/compare",
                               params={"tolerance": 0.1 + i / 100}) for i in range(1, 6)]
        own = other.post(SWEEPS, json=small_spec()).json()["id"]
        read = other.get(f"{SWEEPS}/{own}")
    assert {r.status_code for r in statuses} == {429}
    assert all(int(r.headers["retry-after"]) >= 1 for r in statuses)
    assert read.status_code == 200  # other reads are not held up
    release.set()


def test_a_new_result_invalidates_the_cached_comparison(make_app, store, alice, monkeypatch):
    app = make_app()
    with open_client(app, alice) as client:
        sweep_id = client.post(SWEEPS, json=small_spec()).json()["id"]
        finish_trials(store, max_trials=3)
        first = client.get(f"{SWEEPS}/{sweep_id}/compare", params={"tolerance": 0.3}).json()
        computed = []
        real = comparisons._compare
        monkeypatch.setattr(comparisons, "_compare",
                            lambda *a, **k: computed.append(1) or real(*a, **k))
        cached = client.get(f"{SWEEPS}/{sweep_id}/compare", params={"tolerance": 0.3}).json()
        finish_trials(store)
        fresh = client.get(f"{SWEEPS}/{sweep_id}/compare", params={"tolerance": 0.3}).json()
    assert first["n_with_result"] == cached["n_with_result"] == 3 and first["partial"]
    assert fresh["n_with_result"] == 6 and not fresh["partial"]
    assert computed == [1]  # the cached one was not recomputed; the new result was


def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
