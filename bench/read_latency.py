"""p95 of a second user's reads while one user floods replays, or holds many event streams.

Issue 14, items 2 and 3: 45 concurrent replays made another user's GET time out, and 100 SSE
streams on a 100 000-trial pending sweep made `GET /sweeps/{id}` take 57 s. This starts its own
Ray head and `sweepd serve` (SQLite, own data directory; both stopped by pid at the end), and
for each scenario measures `GET /api/v1/sweeps/{id}` of a second user, sequentially:

    replay  one user fires `--replays` concurrent replays of a trained trial
    sse     one user opens `--streams` event streams on a `--trials`-trial pending sweep

    python bench/read_latency.py                        # both scenarios, this checkout
    python bench/read_latency.py --code /tmp/before     # the same against another tree

`--code DIR` runs the server from another source tree (e.g. `git archive HEAD | tar -x -C DIR`);
the script links DIR/sweepd_api etc. to DIR's folders so that tree's code is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _service import RayHead, Service  # noqa: E402

PACKAGES = {"sweepd_api": "api", "sweepd_workers": "workers", "sweepd_service": "service",
            "sweepd_migrations": "migrations"}


def spec(name: str, seeds: int, steps: int) -> dict[str, Any]:
    return {"name": name, "dataset": {"name": "moons", "n_samples": 200, "noise": 0.2, "seed": 0},
            "model": {"hidden": [4], "activation": "tanh"},
            "training": {"optimizer": "gd", "learning_rate": 0.5, "steps": steps},
            "seeds": {"start": 0, "count": seeds},
            "initializers": ["glorot_uniform", "he_normal"], "store": {"curve_every": 50}}


def code_env(code: Path | None) -> dict[str, str]:
    if code is None:
        return {}
    for name, folder in PACKAGES.items():
        link = code / name
        if not link.exists():
            link.symlink_to(code / folder)
    return {"PYTHONPATH": str(code)}


def owner_headers(service: Service) -> dict[str, str]:
    """The admin's bearer header (the token the service saved on first start)."""
    token = json.loads((service.data_dir / "token.json").read_text())["token"]
    return {"Authorization": f"Bearer {token}"}


def second_user(service: Service, env: dict[str, str]) -> dict[str, str]:
    """A second user and its token, made by the served tree's own store (its schema)."""
    code = ("import sys; from sweepd.storage import open_store\n"
            "store = open_store(f'sqlite:///{sys.argv[1]}', auto_migrate=False)\n"
            "user = store.create_user(sys.argv[2]); print(store.create_token(user.id, 'b')[1])")
    done = subprocess.run([sys.executable, "-c", code, str(service.database),
                           f"reader-{time.time_ns()}"], env={**os.environ, **env},
                          capture_output=True, text=True, check=True)
    return {"Authorization": f"Bearer {done.stdout.strip().splitlines()[-1]}"}


def read_latencies(url: str, headers: dict[str, str], sweep_id: int, n: int,
                   timeout: float) -> tuple[list[float], int]:
    """(seconds of each successful read, reads that failed or timed out)."""
    out, failed = [], 0
    with httpx.Client(base_url=url, headers=headers, timeout=timeout) as http:
        for _ in range(n):
            started = time.perf_counter()
            try:
                ok = http.get(f"/api/v1/sweeps/{sweep_id}").status_code == 200
            except httpx.HTTPError:
                ok = False
            elapsed = time.perf_counter() - started
            if ok:
                out.append(elapsed)
            failed += not ok
            time.sleep(0.1)
    return out, failed


def summary(latencies: list[float], failed: int) -> dict[str, Any]:
    if len(latencies) < 2:
        return {"reads": len(latencies), "failed": failed}
    return {"reads": len(latencies), "failed": failed,
            "p50_s": round(statistics.median(latencies), 3),
            "p95_s": round(statistics.quantiles(latencies, n=20)[18], 3),
            "max_s": round(max(latencies), 3)}


def replay_flood(service: Service, reader: dict[str, str], args: argparse.Namespace) -> dict:
    owner = service.client
    trained = owner.submit(spec("replayed", 1, 200)).wait(progress=False, timeout=600)
    trial = owner.trials(trained.id)[0]
    own = httpx.post(f"{service.url}/api/v1/sweeps", headers=reader,
                     json=spec("reader", 1, 10), timeout=60).json()["id"]
    headers = owner_headers(service)
    path = f"{service.url}/api/v1/sweeps/{trained.id}/trials/{trial.id}/replay"
    statuses: Counter[str] = Counter()
    flooding = threading.Event()

    def replay(_: int) -> None:
        try:
            statuses[str(httpx.post(path, headers=headers, timeout=600).status_code)] += 1
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1

    def flood() -> None:
        with ThreadPoolExecutor(args.replays) as pool:
            list(pool.map(replay, range(args.replays)))
        flooding.set()

    thread = threading.Thread(target=flood)
    thread.start()
    time.sleep(0.5)
    latencies, failed = read_latencies(service.url, reader, own, args.reads, args.read_timeout)
    thread.join()
    return {"replays": args.replays, "statuses": dict(statuses), **summary(latencies, failed)}


def stream_flood(service: Service, reader: dict[str, str], args: argparse.Namespace) -> dict:
    headers = owner_headers(service)
    started = time.perf_counter()
    big = httpx.post(f"{service.url}/api/v1/sweeps", headers=headers,
                     json=spec("pending", args.trials // 2, 10), timeout=600).json()["id"]
    submit_s = time.perf_counter() - started
    own = httpx.post(f"{service.url}/api/v1/sweeps", headers=reader,
                     json=spec("reader", 1, 10), timeout=60).json()["id"]
    stop = threading.Event()
    opened: Counter[str] = Counter()

    def stream() -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(60, read=None)) as http, http.stream(
                    "GET", f"{service.url}/api/v1/sweeps/{big}/events",
                    headers=headers) as response:
                opened[str(response.status_code)] += 1
                for _ in response.iter_lines():
                    if stop.is_set():
                        return
        except httpx.HTTPError as exc:
            opened[type(exc).__name__] += 1

    threads = [threading.Thread(target=stream, daemon=True) for _ in range(args.streams)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 300
    while sum(opened.values()) < args.streams and time.monotonic() < deadline:
        time.sleep(0.2)  # every stream open (or refused) before the reads are timed
    time.sleep(2.0)
    latencies, failed = read_latencies(service.url, reader, own, args.reads, args.read_timeout)
    stop.set()
    return {"streams": args.streams, "trials": args.trials, "submit_s": round(submit_s, 1),
            "stream_statuses": dict(opened), **summary(latencies, failed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["replay", "sse", "both"], default="both")
    parser.add_argument("--replays", type=int, default=12)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=40)
    parser.add_argument("--read-timeout", type=float, default=60.0)
    parser.add_argument("--code", type=Path, default=None,
                        help="run the server from this source tree instead")
    args = parser.parse_args()
    env = {**code_env(args.code), "SWEEPD_TRUSTED_HOSTS": "127.0.0.1",
           "SWEEPD_SSE_MAX_STREAMS_PER_USER": str(args.streams + 10)}
    ray = RayHead(cores=2).start()
    results: dict[str, Any] = {"code": str(args.code or "this checkout")}
    try:
        for scenario in (["replay", "sse"] if args.scenario == "both" else [args.scenario]):
            data = Path(tempfile.mkdtemp(prefix=f"sweepd-bench-{scenario}-"))
            extra = env if scenario == "replay" else {**env, "SWEEPD_RUN_DISPATCHER": "false"}
            service = Service(ray.address, data, extra_env=extra).start()
            try:
                reader = second_user(service, extra)
                run = replay_flood if scenario == "replay" else stream_flood
                results[scenario] = run(service, reader, args)
            finally:
                service.stop()
            print(json.dumps({scenario: results[scenario]}), flush=True)
    finally:
        ray.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    main()
