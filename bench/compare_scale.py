"""`GET /compare` and `GET /sweeps/{id}` on a large synthetic store, without Ray (issue 19).

Builds a SQLite store holding one finished sweep of n one-step trials (the spec of
bench/scale.py: 2-2-1 tanh on 200 moons points, 2 initializers × n/2 seeds) through the Store
API (submit, claim, record results with small synthetic weights), then times, in process
through the real FastAPI app (httpx over ASGI): the comparison cold and cached and the status
read. Profiles with cProfile when asked.

    .venv/bin/python bench/compare_scale.py --n 100000            # build (or reuse) and time
    .venv/bin/python bench/compare_scale.py --n 100000 --profile cold   # cProfile, top 35

The store is kept under --dir (default /tmp/sweepd-compare-scale) and reused by a later run
of the same n.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from sweepd.records import ResultItem
from sweepd.results import TrialResult
from sweepd.settings import Settings
from sweepd.spec import SweepSpec
from sweepd.storage.schema import open_store
from sweepd.storage.store import Store
from sweepd.weights import from_layers, pack


def spec(n: int) -> SweepSpec:
    return SweepSpec.model_validate({
        "name": f"scale-{n}",
        "dataset": {"name": "moons", "n_samples": 200, "noise": 0.2, "seed": 0},
        "model": {"hidden": [2], "activation": "tanh"},
        "training": {"optimizer": "gd", "learning_rate": 0.5, "steps": 1},
        "seeds": {"start": 0, "count": n // 2},
        "initializers": ["glorot_uniform", "he_normal"],
        "store": {"initial_weights": False, "curve_every": 1},
    })


def synthetic_result(cell_key: str, seed: int, shift: float) -> TrialResult:
    """A one-step-like result: small random 2-2-1 weights, an accuracy around 0.8."""
    rng = np.random.default_rng(seed)
    layers = [(rng.normal(0, 1, (2, 2)), rng.normal(0, 0.1, 2)),
              (rng.normal(0, 1, (2, 1)), np.zeros(1))]
    blob, sha = pack({k: v.astype(np.float32) for k, v in from_layers(layers).items()})
    acc = float(np.clip(rng.normal(0.8 + shift, 0.05), 0, 1))
    cost = float(rng.uniform(0.3, 0.7))
    return TrialResult(
        cell_key=cell_key, status="ok", train_cost=cost, train_accuracy=acc, test_cost=cost,
        test_accuracy=acc, train_cost_tail=cost, steps=1, wall_seconds=0.001, curve_every=1,
        curve=[0.69, cost], final_weights=blob, final_sha256=sha, environment={})


def build(store: Store, owner: int, n: int, *, batch: int = 2000) -> int:
    """A finished sweep of n synthetic trials; its id."""
    sweep, _ = store.submit_sweep(owner, spec(n))
    while True:
        claimed = [t for b in store.claim_trials(holder="bench", max_trials=batch,
                                                 max_batch=batch, lease_seconds=600)
                   for t in b.trials]
        if not claimed:
            return sweep.id
        items = [ResultItem(trial_id=t.trial_id, attempt=t.attempt, node="bench", device="cpu",
                            result=synthetic_result(
                                t.spec.cell_key, t.spec.seed,
                                0.01 if t.spec.initializer.name == "he_normal" else 0.0))
                 for t in claimed]
        store.record_results(items)


def open_or_build(directory: Path, n: int) -> tuple[Store, int, str, int]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"n{n}.db"
    fresh = not path.exists()
    store = open_store(f"sqlite:///{path}", auto_migrate=True)
    if fresh:
        user = store.create_user("bench")
        t0 = time.perf_counter()
        sweep_id = build(store, user.id, n)
        print(f"built {n} trials in {time.perf_counter() - t0:.1f} s at {path}")
    user = store.find_user("bench")
    assert user is not None
    _, token = store.create_token(user.id, f"bench-{time.time()}")
    sweep_id = store.list_sweeps(user.id, limit=1, offset=0)[0][0].id
    return store, user.id, token, sweep_id


async def measure(store: Store, token: str, sweep_id: int, profile: str | None,
                  repeats: int) -> dict[str, float]:
    from sweepd_api.app import create_app

    settings = Settings(compare_timeout_seconds=600)
    app = create_app(settings, store)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, float] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost",
                                 headers=headers, timeout=600) as http:
        compare = f"/api/v1/sweeps/{sweep_id}/compare"

        async def get(url: str) -> httpx.Response:
            reply = await http.get(url)
            reply.raise_for_status()
            return reply

        async def timed(url: str, kind: str) -> tuple[float, httpx.Response]:
            prof = cProfile.Profile() if profile == kind and kind != "cold" else None
            t0 = time.perf_counter()
            if prof:
                prof.enable()
            reply = await get(url)
            if prof:
                prof.disable()
            took = time.perf_counter() - t0
            if prof:
                pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
            return took, reply

        out["status ms"] = 1000 * statistics.median(
            [(await timed(f"/api/v1/sweeps/{sweep_id}", "status"))[0] for _ in range(repeats)])
        cold, first = await timed(compare, "cold")
        out["compare cold s"] = cold
        cached = [await timed(compare, "cached") for _ in range(repeats)]
        out["compare cached ms"] = 1000 * statistics.median(c[0] for c in cached)
        out["identical"] = float(all(c[1].content == first.content for c in cached))
        out["response MB"] = len(first.content) / 1e6
        notes = first.json()["notes"]
        print("\n".join(f"note: {n}" for n in notes))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/sweepd-compare-scale"))
    parser.add_argument("--profile", choices=["cold", "cached", "status"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    store, owner, token, sweep_id = open_or_build(args.dir, args.n)
    if args.profile == "cold":  # the API computes in a thread of its own, out of cProfile's sight
        from sweepd import comparisons

        prof = cProfile.Profile()
        prof.runcall(comparisons.compare_sweep, store, owner, sweep_id)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
    figures: dict[str, Any] = asyncio.run(measure(store, token, sweep_id, args.profile,
                                                  args.repeats))
    print({k: round(v, 4) for k, v in figures.items()})
    if args.json:
        args.json.write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
