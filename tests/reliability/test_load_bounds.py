"""Replays are bounded (issue 14, items 2 and 19): a flood of replays by one user gets only 200s
and 429s with Retry-After while another user's reads stay fast; replays ask Ray for CPUs like
batches do; a replay whose worker dies answers a 502 problem naming the cause."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from sweepd.records import ResultItem
from sweepd.settings import load_settings
from sweepd_api import create_app
from tests.reliability.helpers import moons_spec, wait_until

SWEEPS = "/api/v1/sweeps"


@pytest.fixture
def finished(store, owner):
    """One trained trial of the owner, trained in this process as a batch would be (the
    replay retrains it on Ray): (sweep id, trial)."""
    from sweepd.engine import run_batch

    spec = moons_spec(seeds=1, steps=200, inits=["glorot_uniform"], name="replayed")
    sweep, _ = store.submit_sweep(owner, spec)
    [batch] = store.claim_trials(holder="test", max_trials=1, max_batch=1, lease_seconds=60)
    [claimed] = batch.trials
    [result] = run_batch([claimed.spec])
    store.record_results([ResultItem(trial_id=claimed.trial_id, attempt=claimed.attempt,
                                     result=result, node="test", device="cpu")])
    trials, _ = store.list_trials(owner, sweep.id, limit=1, offset=0)
    assert trials[0].state == "completed"
    return sweep.id, trials[0]


@contextmanager
def service(store, ray_address: str, fault_dir, tmp_path, **overrides) -> Iterator[str]:
    """The real app with the real Replayer, served by uvicorn in a thread."""
    from sweepd_workers.replay import Replayer

    settings = load_settings(data_dir=tmp_path, ray_address=ray_address, fault_dir=fault_dir,
                             trusted_hosts="127.0.0.1", **overrides)
    app = create_app(settings, store, replay=Replayer(store, settings).replay)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="replay-test-uvicorn", daemon=True)
    thread.start()
    wait_until(lambda: server.started, 30, "uvicorn to start")
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def token(store, user_id: int) -> dict[str, str]:
    _, raw = store.create_token(user_id, "t")
    return {"Authorization": f"Bearer {raw}"}


def test_replay_flood_gets_200s_and_429s_while_another_user_reads_fast(
        store, owner, finished, ray_connected, fault_dir, tmp_path):
    sweep_id, trial = finished
    bob = store.create_user("bob").id
    own, _ = store.submit_sweep(bob, moons_spec(seeds=1, steps=10, name="bob"))
    alice_headers, bob_headers = token(store, owner), token(store, bob)
    url_path = f"{SWEEPS}/{sweep_id}/trials/{trial.id}/replay"
    with service(store, ray_connected, fault_dir, tmp_path, replay_max_concurrent=1,
                 replay_max_per_user=1) as url:
        with httpx.Client(base_url=url, headers=alice_headers, timeout=300) as alice:
            latencies: list[float] = []
            flooding = threading.Event()

            def read_while_flooding() -> None:
                with httpx.Client(base_url=url, headers=bob_headers, timeout=30) as http:
                    while not flooding.is_set() or len(latencies) < 20:
                        started = time.perf_counter()
                        assert http.get(f"{SWEEPS}/{own.id}").status_code == 200
                        latencies.append(time.perf_counter() - started)
                        time.sleep(0.05)

            reader = threading.Thread(target=read_while_flooding)
            reader.start()
            with ThreadPoolExecutor(12) as pool:
                answers = list(pool.map(lambda _: alice.post(url_path), range(12)))
            flooding.set()
            reader.join(timeout=60)
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(200) >= 1 and statuses.count(429) >= 1, statuses
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code == 429)
    assert all(a.json()["matches"] for a in answers if a.status_code == 200)
    assert statistics.quantiles(latencies, n=20)[18] < 2.0


def test_replay_whose_worker_dies_answers_502_naming_the_cause(
        store, owner, finished, ray_connected, fault_dir, tmp_path):
    sweep_id, trial = finished
    (fault_dir / f"crash-{trial.cell_key}").touch()  # the worker exits as the replay starts
    with service(store, ray_connected, fault_dir, tmp_path) as url:
        answer = httpx.post(f"{url}{SWEEPS}/{sweep_id}/trials/{trial.id}/replay",
                            headers=token(store, owner), timeout=120)
    assert list(fault_dir.glob(f"fired-{trial.cell_key}-*")), "the crash did not fire"
    assert answer.status_code == 502
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["title"] == "Worker failed" and "Worker" in body["detail"]


def test_replay_asks_for_cpus_and_answers_503_when_none_come_free(
        store, owner, finished, ray_connected, fault_dir, tmp_path):
    sweep_id, trial = finished
    # More CPUs than the 2-CPU test cluster has: the task can never start, as a replay behind
    # a full cluster would wait; it is cancelled after its time budget.
    with service(store, ray_connected, fault_dir, tmp_path, replay_cpus=64,
                 replay_timeout_seconds=2) as url:
        started = time.monotonic()
        answer = httpx.post(f"{url}{SWEEPS}/{sweep_id}/trials/{trial.id}/replay",
                            headers=token(store, owner), timeout=60)
    assert answer.status_code == 503 and time.monotonic() - started < 30
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.json()["title"] == "Timed out"
