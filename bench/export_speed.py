"""Time the exports of a large sweep: the Parquet and CSV tables, the stacked weights, MLflow.

A sweep of `--trials` 2-4-1 trials (5 initializers × trials/5 seeds, 101-point curves) is stored
with plausible results in a temporary SQLite database and served by the real app (uvicorn on a
loopback port); each export goes through the SDK as a user's would.

    .venv/bin/python bench/export_speed.py [--trials 10000] [--mlflow-trials 1000]

MLflow is timed on the first `--mlflow-trials` trials' worth of a sweep of that size (a SQLite
tracking store: about one transaction per metric batch, so it grows linearly with the trials).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def _store_sweep(data: Path, trials: int):
    from sweepd import weights
    from sweepd.bootstrap import open_service_store
    from sweepd.records import ResultItem
    from sweepd.results import TrialResult
    from sweepd.settings import load_settings
    from sweepd.spec import SweepSpec

    settings = load_settings(data_dir=data, run_dispatcher=False, max_trials_per_sweep=trials,
                             trusted_hosts="127.0.0.1")
    store = open_service_store(settings)
    user = store.create_user("bench")
    _, token = store.create_token(user.id, "bench")
    seeds = trials // 5
    spec = SweepSpec.model_validate({
        "name": f"export-{trials}", "dataset": {"name": "moons", "n_samples": 1000, "seed": 0},
        "model": {"hidden": [4], "activation": "tanh"},
        "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": 10_000},
        "seeds": {"start": 0, "count": seeds},
        "initializers": ["glorot_uniform", "he_normal", "lecun_normal", "orthogonal", "zeros"],
        "store": {"curve_every": 100}})
    sweep, _ = store.submit_sweep(user.id, spec)
    rng = np.random.default_rng(0)
    curve = list(np.geomspace(0.69, 0.08, 101))
    while True:
        batches = store.claim_trials(holder="bench", max_trials=2_000, max_batch=2_000,
                                     lease_seconds=600)
        if not batches:
            break
        items = []
        for b in batches:
            for t in b.trials:
                blob, sha = weights.pack(weights.from_layers([
                    (rng.normal(size=(2, 4)).astype(np.float32), np.zeros(4, np.float32)),
                    (rng.normal(size=(4, 1)).astype(np.float32), np.zeros(1, np.float32))]))
                result = TrialResult(
                    cell_key=t.spec.cell_key, status="ok", train_cost=0.08, train_accuracy=0.97,
                    test_cost=0.09, test_accuracy=0.965, train_cost_tail=0.08, steps=10_000,
                    wall_seconds=1.0, curve_every=100, curve=curve, final_weights=blob,
                    final_sha256=sha, environment={"device": "cpu"})
                items.append(ResultItem(trial_id=t.trial_id, attempt=t.attempt, result=result,
                                        node="bench", device="cpu"))
        store.record_results(items)
    return settings, store, sweep.id, token


def serve(settings, store):
    import uvicorn

    from sweepd_api import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=0,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


def timed(what: str, fn) -> float:
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f"{what:<44} {seconds:8.2f} s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--mlflow-trials", type=int, default=1_000)
    args = parser.parse_args()

    from sweepd.client import Client

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings, store, sweep_id, token = _store_sweep(root / "big", args.trials)
        server, url = serve(settings, store)
        with Client(url=url, token=token) as sdk:
            sweep = sdk.get(sweep_id)
            print(f"export of a {args.trials}-trial sweep (101-point curves, 2-4-1 weights)")
            timed("Parquet (GET .../export, SDK download)", lambda: sweep.export(root / "s.parquet"))
            timed("CSV", lambda: sweep.export(root / "s.csv"))
            timed("stacked weights (.../weights.safetensors)", lambda: sweep.stacked_weights())
            print(f"sizes: parquet {(root / 's.parquet').stat().st_size / 2**20:.1f} MiB, "
                  f"csv {(root / 's.csv').stat().st_size / 2**20:.1f} MiB")
        server.should_exit = True

        settings, store, small_id, token = _store_sweep(root / "small", args.mlflow_trials)
        server, url = serve(settings, store)
        with Client(url=url, token=token) as sdk:
            sweep = sdk.get(small_id)
            uri = f"sqlite:///{root / 'mlflow.db'}"
            art = (root / "artifacts").as_uri()
            first = timed(f"MLflow, {args.mlflow_trials} trials, with weights",
                          lambda: sweep.export_mlflow(uri, artifact_location=art))
            again = timed("MLflow again (idempotent: nothing new)",
                          lambda: sweep.export_mlflow(uri, artifact_location=art))
            print(f"MLflow: {first / args.mlflow_trials * 1000:.1f} ms per trial; "
                  f"{again / args.mlflow_trials * 1000:.2f} ms per unchanged trial")
        server.should_exit = True


if __name__ == "__main__":
    main()
