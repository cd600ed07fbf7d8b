"""Helpers of the API tests: database inspection, clients, specs, fake results, SSE parsing.

A module of its own (not the conftest) so that test modules can import it by name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sweepd import weights
from sweepd.records import ClaimedTrial, ResultItem
from sweepd.results import TrialResult
from sweepd.storage.database import create_engine
from sweepd.storage.store import Store

LOOPBACK = ("127.0.0.1", 50000)
# Parametrize a module's `db_url` with these to run it on both backends.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def table_names(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def table_counts(url: str) -> dict[str, int]:
    """Rows in every table of the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one()
                    for t in sa.inspect(engine).get_table_names()}
    finally:
        engine.dispose()


def database_text(url: str) -> str:
    """Every value of every row of every table as text (bytes decoded as latin-1)."""
    engine = create_engine(url)
    parts: list[str] = []
    try:
        with engine.connect() as conn:
            for table in sa.inspect(engine).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                    parts.extend(_text(v) for v in row)
    finally:
        engine.dispose()
    return "\n".join(parts)


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")
    return str(value)


@dataclass
class User:
    id: int
    name: str
    token: str
    token_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def open_client(app: FastAPI, user: User | None = None) -> TestClient:
    """A TestClient on the loopback address, authenticated as `user` if given."""
    client = TestClient(app, raise_server_exceptions=False, client=LOOPBACK)
    if user is not None:
        client.headers.update(user.headers)
    return client


def small_spec(name: str = "api-test", *, seeds: Any = 3,
               initializers: Any = ("glorot_uniform", "he_normal"),
               **changes: Any) -> dict[str, Any]:
    """A spec of `seeds` × `len(initializers)` trials; `seeds` as a count, list or range."""
    spec = {
        "name": name,
        "dataset": {"name": "moons", "n_samples": 200, "noise": 0.2, "seed": 0},
        "model": {"hidden": [4], "activation": "tanh"},
        "training": {"optimizer": "gd", "learning_rate": 0.5, "steps": 10},
        "seeds": {"start": 0, "count": seeds} if isinstance(seeds, int) else seeds,
        "initializers": list(initializers),
        "store": {"curve_every": 5},
    }
    spec.update(changes)
    return spec


def fake_result(trial: ClaimedTrial) -> TrialResult:
    """A plausible result for a claimed 2-4-1 trial, with real safetensors weights."""
    rng = np.random.default_rng(trial.trial_id)
    final, final_sha = weights.pack(_layers(rng))
    initial, initial_sha = weights.pack(_layers(rng))
    return TrialResult(
        cell_key=trial.spec.cell_key, status="ok", train_cost=0.31, train_accuracy=0.86,
        test_cost=0.33, test_accuracy=0.85, train_cost_tail=0.31, steps=10, wall_seconds=0.02,
        curve_every=5, curve=[0.69, 0.45, 0.31], final_weights=final, final_sha256=final_sha,
        initial_weights=initial, initial_sha256=initial_sha,
        environment={"torch": "test", "device": "cpu", "dtype": "float32"},
    )


def _layers(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return weights.from_layers([
        (rng.normal(size=(2, 4)).astype(np.float32), np.zeros(4, np.float32)),
        (rng.normal(size=(4, 1)).astype(np.float32), np.zeros(1, np.float32)),
    ])


def finish_trials(store: Store, max_trials: int = 10_000) -> list[int]:
    """Claim up to `max_trials` pending trials as a dispatcher would and complete them.

    Returns:
        The ids of the trials completed, in claim order.
    """
    batches = store.claim_trials(holder="api-tests", max_trials=max_trials, max_batch=10_000,
                                 lease_seconds=300)
    items = [ResultItem(trial_id=t.trial_id, attempt=t.attempt, result=fake_result(t),
                        node="node-a", device="cpu") for b in batches for t in b.trials]
    fenced = store.record_results(items)
    assert not fenced.rejected
    return fenced.accepted


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str, str | None, str]]:
    """(event, id, data) triples from the lines of a text/event-stream."""
    event, event_id, data = "message", None, []
    for line in lines:
        if line == "":
            if data:
                yield event, event_id, "\n".join(data)
            event, event_id, data = "message", None, []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """The app on a free loopback port (uvicorn in a thread of this process); its lifespan
    runs around the block, which gets the base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="api-test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
