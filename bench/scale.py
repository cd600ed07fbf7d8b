"""How each cost of a sweep grows with its size (issue 19): one-step trials at 10³, 10⁴, 10⁵.

For each database (the embedded SQLite and PostgreSQL) and each size it runs a real
`sweepd serve` joined to one Ray head and reports: the submission (POST) time, end-to-end
trials/s (dispatch + training + storing), `GET /sweeps/{id}` latency p50/p95 while the sweep
runs, the trial list page at offset 0, at the end by keyset (`after=`) and at the end by
offset, `GET /compare` cold and cached, the lag of `trial` server-sent events behind the
trials' `finished_at`, the sweep web page in headless Chromium (signed in through the form;
its words and tables on screen, and everything drawn, on a second visit: a returning user's,
with plotly.js in the browser's cache; `--no-web` skips it), database bytes per trial and the
service's peak RSS. Then the growth exponent k of each figure between sizes (time ∝ nᵏ).

    .venv/bin/python bench/scale.py                        # 10³ 10⁴ 10⁵, SQLite and PostgreSQL
    .venv/bin/python bench/scale.py --sizes 1000 10000 --databases sqlite   # the CI smoke size

The trials are one GD step of a 2-2-1 net on 200 moons points (2 initializers × n/2 seeds):
what is measured is the service, not training. Nothing is asserted here: the figures go to
bench/RESULTS.md by hand, with the command.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import queue
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from _service import RayHead, Service
from _web import page_times

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
FINAL = ("completed", "failed", "cancelled")


def spec(n: int) -> dict[str, Any]:
    return {
        "name": f"scale-{n}",
        "dataset": {"name": "moons", "n_samples": 200, "noise": 0.2, "seed": 0},
        "model": {"hidden": [2], "activation": "tanh"},
        "training": {"optimizer": "gd", "learning_rate": 0.5, "steps": 1},
        "seeds": {"start": 0, "count": n // 2},
        "initializers": ["glorot_uniform", "he_normal"],
        "store": {"initial_weights": False, "curve_every": 1},
    }


class Database:
    """A fresh database of one kind for one service run."""

    def __init__(self, kind: str, data_dir: Path) -> None:
        self.kind, self.data_dir = kind, data_dir
        self.name = f"sweepd_scale_{uuid.uuid4().hex[:10]}"
        self.url = None if kind == "sqlite" else sa.make_url(PG_ADMIN).set(
            database=self.name).render_as_string(hide_password=False)
        if kind == "postgresql":
            from sweepd.storage.schema import migrate

            self._admin("CREATE DATABASE \"{}\"")
            migrate(self.url)  # a server database is migrated by its operator, not by serve

    def _admin(self, sql: str) -> None:
        engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(sql.format(self.name))
        engine.dispose()

    def env(self) -> dict[str, str]:
        return {} if self.url is None else {"SWEEPD_DATABASE_URL": self.url}

    def size_bytes(self) -> int:
        if self.url is None:
            return sum(p.stat().st_size for p in self.data_dir.glob("sweepd.db*"))
        engine = sa.create_engine(self.url)
        with engine.connect() as conn:
            size = int(conn.execute(sa.text("SELECT pg_database_size(current_database())"))
                       .scalar_one())
        engine.dispose()
        return size

    def drop(self) -> None:
        if self.url is not None:
            self._admin("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)")


class EventLag:
    """Follows a sweep's event stream; the lag of each `trial` event behind its finished_at.

    It reads in a process of its own, as a browser or another program following the sweep
    would: a thread of this process parsing a thousand events a second held the GIL that the
    status reads timed here need, and counted the wait as the service's.
    """

    def __init__(self, url: str, headers: dict[str, str], sweep_id: int) -> None:
        self.lags: list[float] = []
        context = multiprocessing.get_context("spawn")
        self._queue = context.Queue()
        self._process = context.Process(target=_follow, args=(url, headers, sweep_id,
                                                              self._queue), daemon=True)
        self._process.start()

    def join(self, timeout: float) -> None:
        try:
            self.lags = self._queue.get(timeout=timeout)
        except queue.Empty:
            pass
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()


def _follow(url: str, headers: dict[str, str], sweep_id: int, out: Any) -> None:
    lags: list[float] = []
    event = None
    with httpx.stream("GET", f"{url}/api/v1/sweeps/{sweep_id}/events", headers=headers,
                      timeout=None) as response:
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "trial":
                finished = json.loads(line[5:])["finished_at"]
                at = datetime.fromisoformat(finished.replace("Z", "+00:00"))
                lags.append((datetime.now(timezone.utc) - at).total_seconds())
            elif line.startswith("data:") and event == "end":
                break
    out.put(lags)


def timed(fn: Any, repeats: int = 1) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(service: Service, database: Database, n: int, *, web: bool = True
            ) -> dict[str, float]:
    client = service.client
    http = httpx.Client(base_url=service.url, headers=client._http.headers, timeout=600)
    started = time.perf_counter()
    response = http.post("/api/v1/sweeps", json=spec(n))
    submitted = time.perf_counter()
    response.raise_for_status()
    sweep_id = response.json()["id"]
    events = EventLag(service.url, dict(client._http.headers), sweep_id)
    status: list[float] = []
    server: list[float] = []  # the service's own time for the same reads (Server-Timing)
    while True:
        t0 = time.perf_counter()
        reply = http.get(f"/api/v1/sweeps/{sweep_id}")
        status.append(time.perf_counter() - t0)
        server.append(server_ms(reply) / 1000)
        state = reply.json()["state"]
        if state in FINAL:
            break
        time.sleep(0.2)
    ended = time.perf_counter()
    events.join(60)
    trials = f"/api/v1/sweeps/{sweep_id}/trials"
    first = http.get(trials, params={"limit": 50}).json()
    last_id = first["items"][0]["id"] + n - 51
    page = {"page@0": timed(lambda: http.get(trials, params={"limit": 50}), 5),
            "page@end keyset": timed(lambda: http.get(trials, params={"limit": 50,
                                                                        "after": last_id}), 5),
            "page@end offset": timed(lambda: http.get(trials, params={"limit": 50,
                                                                        "offset": n - 50}), 5)}
    compare = f"/api/v1/sweeps/{sweep_id}/compare"

    def answer() -> None:  # a long comparison answers 503 + Retry-After and goes on
        while (reply := http.get(compare)).status_code in (503, 429):
            time.sleep(min(1.0, float(reply.headers.get("Retry-After", 1))))
        reply.raise_for_status()

    cold = timed(answer)[0]
    cached = statistics.median(timed(answer, 3))
    http.close()
    screen = page_times(service.url, service.token, sweep_id, visits=2)[-1] if web else {}
    return {
        "submit s": submitted - started,
        "trials/s": n / (ended - started),
        "status p50 ms": 1000 * percentile(status, 0.5),
        "status p95 ms": 1000 * percentile(status, 0.95),
        "status server p95 ms": 1000 * percentile(server, 0.95),
        **{f"{k} ms": 1000 * statistics.median(v) for k, v in page.items()},
        "compare cold s": cold,
        "compare cached ms": 1000 * cached,
        "SSE lag p95 s": percentile(events.lags, 0.95),
        "web first screen s": screen.get("first", math.nan) / 1000,
        "web all drawn s": screen.get("ready", math.nan) / 1000,
        "bytes/trial": database.size_bytes() / n,
        "peak RSS MB": peak_rss_mb(service.pid),
    }


def server_ms(reply: httpx.Response) -> float:
    """The service's `Server-Timing: app;dur=<ms>` of a reply."""
    for part in reply.headers.get("server-timing", "").split(";"):
        if part.startswith("dur="):
            return float(part[4:])
    return math.nan


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def report(results: dict[str, dict[int, dict[str, float]]]) -> str:
    lines = []
    for kind, by_size in results.items():
        sizes = sorted(by_size)
        names = list(by_size[sizes[0]])
        head = ["figure", *[f"n={s:,}".replace(",", " ") for s in sizes],
                *[f"k {a:g}→{b:g}" for a, b in zip(sizes, sizes[1:])]]
        lines += [f"\n### {kind}\n", "| " + " | ".join(head) + " |",
                  "|" + "---|" * len(head)]
        for name in names:
            values = [by_size[s][name] for s in sizes]
            ks = [_exponent(a, b, values[i], values[i + 1])
                  for i, (a, b) in enumerate(zip(sizes, sizes[1:]))]
            lines.append("| " + " | ".join([name, *[_fmt(v) for v in values],
                                            *[_fmt(k) for k in ks]]) + " |")
    return "\n".join(lines)


def _exponent(n1: int, n2: int, v1: float, v2: float) -> float:
    if not (v1 > 0 and v2 > 0) or math.isnan(v1) or math.isnan(v2):
        return math.nan
    return math.log(v2 / v1) / math.log(n2 / n1)


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}".replace(",", " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--ray-address", help="join this Ray cluster instead of starting one")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-web", action="store_true", help="skip the web page's timing")
    parser.add_argument("--service-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for sweepd serve, e.g. SWEEPD_WORKER_NICE=0")
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.service_env)
    ray = None if args.ray_address else RayHead(cores=args.cores).start()
    address = args.ray_address or ray.address
    results: dict[str, dict[int, dict[str, float]]] = {}
    try:
        for kind in args.databases:
            for n in args.sizes:
                data_dir = Path(tempfile.mkdtemp(prefix=f"scale-{kind}-"))
                database = Database(kind, data_dir)
                service = Service(ray_address=address, data_dir=data_dir,
                                  extra_env={**database.env(), **extra,
                                             "SWEEPD_MAX_TRIALS_IN_FLIGHT_PER_USER": str(10 * n)})
                try:
                    service.start()
                    results.setdefault(kind, {})[n] = measure(service, database, n,
                                                              web=not args.no_web)
                    print(f"{kind} n={n}: {json.dumps(results[kind][n])}", flush=True)
                finally:
                    service.stop()
                    database.drop()
    finally:
        if ray is not None:
            ray.stop()
    env = "".join(f" --service-env {item}" for item in args.service_env)
    print(f"\n## Scale (`.venv/bin/python bench/scale.py --sizes "
          f"{' '.join(map(str, args.sizes))} --databases {' '.join(args.databases)}{env}`)")
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
