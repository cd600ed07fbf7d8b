"""How fast the web page of a 1 500-trial sweep loads (issue 5: under 1 s on this machine).

The sweep (5 initializers × 300 seeds on moons, 2-4-1 tanh) is written straight into a SQLite
store with hand-built results: three solutions trained here with NumPy, each trial a signed
permutation of one of them plus a small drift, with its real accuracy and a 101-point curve.
The app is served by uvicorn in a thread; headless Chromium (selenium) opens the sweep page.

The page shows its words and tables first (the answer, per-initializer statistics, the trial
table: `data-first-ms` on the body), then draws its plots one by one in page order; it has loaded
when everything is drawn (`data-ready-ms`): the strip plot, the cost bands, 6 000 hidden
units raw and canonical (binned), the heat map and four decision boundaries. Both are ms from
navigation start. The first visit of a fresh browser profile also downloads and compiles
plotly.js (4.8 MB); later visits take it from the browser's caches, like a returning user.
The server's figure caches are warm for the visits (a finished sweep's figures are computed
once); the request table gives each JSON endpoint's first (cold) and later times.

    .venv/bin/python bench/page_speed.py [--visits 5] [--record]

`--record` writes the figures into bench/RESULTS.md under "## Web page" (that section only).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import statistics
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
from _web import page_times, signed_in_client  # noqa: E402  (bench/_web.py)
from scipy.special import expit

from sweepd import weights
from sweepd.analysis.functional import evaluate
from sweepd.datasets import load
from sweepd.records import ResultItem
from sweepd.results import TrialResult
from sweepd.settings import Settings
from sweepd.spec import SweepSpec
from sweepd.storage.schema import migrate, open_store
from sweepd_api import create_app

HIDDEN, SEEDS = 4, 300
INITIALIZERS = ["glorot_uniform", "glorot_normal", "he_normal", "lecun_normal",
                {"name": "random_normal", "stddev": 0.01}]
RESULTS = Path(__file__).with_name("RESULTS.md")


def spec() -> SweepSpec:
    return SweepSpec.model_validate({
        "name": "page-speed-1500", "dataset": {"name": "moons", "n_samples": 1000, "seed": 0},
        "model": {"hidden": [HIDDEN], "activation": "tanh"},
        "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": 10_000},
        "seeds": {"start": 0, "count": SEEDS}, "initializers": INITIALIZERS,
        "store": {"curve_every": 100}})


def train(x: np.ndarray, y: np.ndarray, seed: int, steps: int = 1500) -> list[np.ndarray]:
    """A 2-4-1 tanh net by full-batch GD (one of the sweep's 'solutions')."""
    rng = np.random.default_rng(seed)
    w1, b1 = rng.normal(0, 0.5, (2, HIDDEN)), np.zeros(HIDDEN)
    w2, b2 = rng.normal(0, 0.5, (HIDDEN, 1)), np.zeros(1)
    y = y[:, None]
    for _ in range(steps):
        h = np.tanh(x @ w1 + b1)
        dz = (expit(h @ w2 + b2) - y) / len(x)
        dh = dz @ w2.T * (1 - h**2)
        w2, b2, w1, b1 = (w2 - 1.2 * h.T @ dz, b2 - 1.2 * dz.sum(0), w1 - 1.2 * x.T @ dh,
                          b1 - 1.2 * dh.sum(0))
    return [w1, b1, w2, b2]


def variant(base: list[np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    w1, b1, w2, b2 = base
    perm, sign = rng.permutation(HIDDEN), rng.choice([-1.0, 1.0], HIDDEN)
    pairs = [(w1[:, perm] * sign, b1[perm] * sign), (w2[perm] * sign[:, None], b2)]
    return {k: (v + rng.normal(0, 0.01, v.shape)).astype(np.float32)
            for k, v in weights.from_layers(pairs).items()}


def result(cell_key: str, net: dict[str, np.ndarray], data: object) -> TrialResult:
    train_cost, train_error = evaluate(net, data.x_train, data.y_train, "tanh")
    test_cost, test_error = evaluate(net, data.x_test, data.y_test, "tanh")
    steps = np.arange(101)
    curve = [float(train_cost + (0.69 - train_cost) * np.exp(-s / 8)) for s in steps]
    final, final_sha = weights.pack(net)
    return TrialResult(
        cell_key=cell_key, status="ok", train_cost=train_cost, train_accuracy=1 - train_error,
        test_cost=test_cost, test_accuracy=1 - test_error, train_cost_tail=train_cost,
        steps=10_000, wall_seconds=1.0, curve_every=100, curve=curve, final_weights=final,
        final_sha256=final_sha, environment={"torch": "bench", "device": "cpu"})


def build(store: object) -> tuple[int, str]:
    """The 1 500-trial sweep, stored and completed; returns (sweep id, the owner's token)."""
    user = store.create_user("bench")
    _, token = store.create_token(user.id, "bench")
    sweep_spec = spec()
    record, _ = store.submit_sweep(user.id, sweep_spec)
    data = load(sweep_spec.dataset)
    bases = [train(data.x_train, data.y_train, seed) for seed in range(3)]
    rng = np.random.default_rng(0)
    batches = store.claim_trials(holder="bench", max_trials=10_000, max_batch=10_000,
                                 lease_seconds=3600)
    items = [ResultItem(trial_id=t.trial_id, attempt=t.attempt, node="bench", device="cpu",
                        result=result(t.spec.cell_key,
                                      variant(bases[rng.choice(3, p=[0.6, 0.3, 0.1])], rng),
                                      data))
             for b in batches for t in b.trials]
    assert not store.record_results(items).rejected
    return record.id, token


def serve(app: object) -> tuple[str, object]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", server


def server_times(url: str, token: str, sweep_id: int) -> dict[str, tuple[float, float]]:
    """(first, median of 5 later) seconds per request of the page."""
    paths = {"page HTML": f"/sweeps/{sweep_id}", "trials": f"/web-api/sweeps/{sweep_id}/trials",
             "comparison": f"/web-api/sweeps/{sweep_id}/comparison",
             "units": f"/web-api/sweeps/{sweep_id}/units",
             "boundary (4)": f"/web-api/sweeps/{sweep_id}/boundary?trial=1&trial=2&trial=3&trial=4"}
    out = {}
    client = signed_in_client(url, token, timeout=60)
    try:
        for name, path in paths.items():
            times = []
            for _ in range(6):
                start = time.perf_counter()
                client.get(path).raise_for_status()
                times.append(time.perf_counter() - start)
            out[name] = (times[0], statistics.median(times[1:]))
    finally:
        client.close()
    return out


def report(server: dict[str, tuple[float, float]], visits: list[dict[str, int]],
           load: tuple[float, float]) -> str:
    def row(label: str, runs: list[dict[str, int]]) -> str:
        cells = [f"{statistics.median(v[k] for v in runs):.0f} ms" for k in ("dcl", "first")]
        ready = [v["ready"] for v in runs]
        spread = f" ({min(ready)}–{max(ready)})" if len(runs) > 1 else ""
        return f"| {label} | {cells[0]} | {cells[1]} | **{statistics.median(ready):.0f} ms**{spread} |"

    machine = (f"Machine: {platform.machine()}, {os.cpu_count()} cores, Chromium headless "
               f"(selenium), uvicorn in the bench process.\nDate: "
               f"{datetime.date.today().isoformat()}. Load average {load[0]:.1f} at start, "
               f"{load[1]:.1f} at end.")
    lines = [f"Command: `.venv/bin/python bench/page_speed.py --visits {len(visits)} --record`",
             machine, "",
             "| sweep page, 1 500 trials | DOMContentLoaded | words and tables | all drawn |",
             "|---|---|---|---|",
             row("first visit, fresh profile (plotly.js downloaded and compiled)", visits[:1])]
    if len(visits) > 1:
        lines.append(row(f"later visits, browser caches warm (median of {len(visits) - 1})",
                         visits[1:]))
    lines += ["", f"Points drawn: {visits[-1]['points']} SVG markers.", "",
              "| request (server only) | first | later (median of 5) |", "|---|---|---|"]
    lines += [f"| {name} | {first * 1000:.0f} ms | {later * 1000:.0f} ms |"
              for name, (first, later) in server.items()]
    return "\n".join(lines) + "\n"


def record_section(body: str) -> None:
    """Write `body` under "## Web page" in RESULTS.md, leaving every other section alone."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    about = " ".join(__doc__.split("\n\n")[1:3]).replace("\n", " ")
    about = textwrap.fill(f"`bench/page_speed.py`: {about}", width=96)
    section = f"## Web page\n\n{about}\n\n{body}"
    pattern = re.compile(r"^## Web page\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=6, help="page visits (the first is cold)")
    parser.add_argument("--record", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="sweepd-page-speed-") as tmp:
        url = f"sqlite:///{tmp}/sweepd.db"
        migrate(url)
        store = open_store(url, auto_migrate=False)
        sweep_id, token = build(store)
        base, server = serve(create_app(Settings(data_dir=Path(tmp)), store))
        try:
            requests = server_times(base, token, sweep_id)  # first: a cold server cache
            visits = page_times(base, token, sweep_id, args.visits)
        finally:
            server.should_exit = True
            store.dispose()
    body = report(requests, visits, (load_start, os.getloadavg()[0]))
    print(body)
    if args.record:
        record_section(body)


if __name__ == "__main__":
    main()
