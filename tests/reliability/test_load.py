"""Concurrent submissions and an idempotency race against a live service, SQLite and PostgreSQL.

The service runs with its dispatcher, so the API's writes contend with result writes as they do
in real use. Latency figures are printed for the closing report, never asserted.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.ray

N_SWEEPS = 200
CONCURRENCY = 20


def tiny_spec(i: int) -> dict:
    return {
        "name": f"load-{i}",
        "dataset": {"name": "xor", "n_samples": 64, "seed": 0},
        "model": {"hidden": [2]},
        "training": {"optimizer": "gd", "learning_rate": 0.5, "steps": 1},
        "seeds": [i, i + 1],
        "initializers": ["glorot_uniform"],
        "store": {"initial_weights": False},
    }


def _submit_all(url: str, token: str) -> tuple[list[int], list[float], list[str]]:
    headers = {"Authorization": f"Bearer {token}"}
    statuses: list[int] = []
    latencies: list[float] = []
    bodies: list[str] = []
    stop = threading.Event()

    def reader() -> None:  # readers polling while the writers write
        with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
            while not stop.is_set():
                r = c.get("/api/v1/sweeps", params={"limit": 20})
                statuses.append(r.status_code)
                if r.status_code >= 500:
                    bodies.append(r.text)

    def submit(i: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
            start = time.perf_counter()
            r = c.post("/api/v1/sweeps", json=tiny_spec(i))
            latencies.append(time.perf_counter() - start)
            statuses.append(r.status_code)
            if r.status_code >= 300:
                bodies.append(r.text)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(submit, range(N_SWEEPS)))
    stop.set()
    for t in readers:
        t.join()
    return statuses, latencies, bodies


def _counts(db_url: str) -> tuple[int, int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        sweeps = conn.execute(sa.text("SELECT COUNT(*) FROM sweeps")).scalar_one()
        trials = conn.execute(sa.text("SELECT COUNT(*) FROM trials")).scalar_one()
    engine.dispose()
    return sweeps, trials


def _run_load(server, db_url: str, backend: str) -> None:
    statuses, latencies, bodies = _submit_all(server.url, server.token)
    posts = latencies
    assert len(posts) == N_SWEEPS
    assert all(s < 300 for s in statuses), bodies[:3]
    assert not any("locked" in b for b in bodies)
    assert _counts(db_url) == (N_SWEEPS, 2 * N_SWEEPS)
    assert "database is locked" not in server.log_path.read_text()
    p95 = statistics.quantiles(posts, n=20)[-1]
    print(f"\n[{backend}] {N_SWEEPS} POST /sweeps at concurrency {CONCURRENCY} + 2 readers: "
          f"{len(statuses)} responses, p50 {statistics.median(posts) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms")


def test_submit_concurrently_sqlite_without_errors(live_server_factory):
    server = live_server_factory().start()
    _run_load(server, f"sqlite:///{server.data_dir / 'sweepd.db'}", "sqlite")


@pytest.mark.postgres
def test_submit_concurrently_postgres_without_errors(live_server_factory, pg_database_factory):
    from sweepd.storage.schema import migrate

    url = pg_database_factory()
    migrate(url)
    server = live_server_factory(SWEEPD_DATABASE_URL=url).start()
    _run_load(server, url, "postgresql")


def test_race_one_idempotency_key_gives_one_sweep(live_server_factory):
    server = live_server_factory(SWEEPD_RUN_DISPATCHER="false").start()
    headers = {"Authorization": f"Bearer {server.token}", "Idempotency-Key": "race-1"}
    body = tiny_spec(7)

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as c:
            return c.post("/api/v1/sweeps", json=body)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        responses = list(pool.map(post, range(50)))
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses][:2]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    assert sum(r.status_code == 201 for r in responses) == 1
    other = httpx.post(f"{server.url}/api/v1/sweeps", headers=headers,
                       json={**body, "name": "another body"}, timeout=30)
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert json.loads(other.text)["status"] == 409
    assert _counts(f"sqlite:///{server.data_dir / 'sweepd.db'}") == (1, 2)
