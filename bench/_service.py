"""Processes the service benchmark drives: a local Ray head and a `sweepd serve` joined to it.

Both run in their own process group and are stopped by pid at the end, also when the benchmark
fails; nothing here touches a process it did not start. The Ray head is shared by the service
and by Ray Tune, so the two contenders see the same workers, CPUs and object store.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sweepd.client import Client
from sweepd.spec import SweepSpec

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_group(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a process started with start_new_session=True, and everything in its group."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port}")


@dataclass
class RayHead:
    """`ray start --head --block` with `cores` CPUs, in its own process group."""

    cores: int
    address: str = ""
    seconds_to_start: float = 0.0
    proc: subprocess.Popen | None = None

    def start(self) -> RayHead:
        port = free_port()
        temp = tempfile.mkdtemp(prefix="swb", dir="/tmp")  # Ray's socket paths must stay short
        cmd = [str(BIN / "ray"), "start", "--head", f"--port={port}", f"--num-cpus={self.cores}",
               "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats", "--block",
               f"--temp-dir={temp}", "--dashboard-agent-listen-port", str(free_port()),
               "--ray-client-server-port", str(free_port())]
        started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _wait_port(port, 120.0)
        self._wait_raylet(f"127.0.0.1:{port}")
        self.seconds_to_start = time.perf_counter() - started
        self.address = f"127.0.0.1:{port}"
        return self

    def _wait_raylet(self, address: str) -> None:
        # The GCS listens before the raylet has registered its CPUs; `ray status` says when.
        deadline = time.monotonic() + 120.0
        while time.monotonic() < deadline:
            done = subprocess.run([str(BIN / "ray"), "status", f"--address={address}"],
                                  capture_output=True, text=True, check=False)
            if done.returncode == 0 and "CPU" in done.stdout:
                return
            time.sleep(0.5)
        raise TimeoutError("the Ray head never reported its CPUs")

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)


@dataclass
class SweepRun:
    """One sweep through the service: what was asked, how long it took, what was stored."""

    sweep_id: int
    n_trials: int
    wall_seconds: float  # client: submit call → completed state seen
    server_seconds: float  # server: created_at → finished_at
    submit_seconds: float  # the POST alone (validation, expansion, insert)
    counts: dict[str, int]
    stored_with_weights: int


@dataclass
class Service:
    """A `sweepd serve` process with its own SQLite data directory, joined to a Ray cluster."""

    ray_address: str
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    seconds_to_ready: float = 0.0
    proc: subprocess.Popen | None = None
    _client: Client | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> Path:
        return self.data_dir / "sweepd.db"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 180.0) -> Service:
        """Start the service and wait until `/readyz` says the dispatcher runs."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SWEEPD_DATA_DIR": str(self.data_dir),
               "SWEEPD_RAY_ADDRESS": self.ray_address, "PYTHONUNBUFFERED": "1",
               **self.extra_env}
        env.pop("RAY_ADDRESS", None)
        log = (self.data_dir / "server.log").open("ab")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sweepd", "serve", "--port", str(self.port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready(timeout)
        self.seconds_to_ready = time.perf_counter() - started
        token = json.loads((self.data_dir / "token.json").read_text())["token"]
        self._client = Client(url=self.url, token=token, timeout=300.0)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"sweepd serve exited:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"sweepd serve not ready after {timeout} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        path = self.data_dir / "server.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
        if self.proc is not None:
            stop_group(self.proc)

    @property
    def token(self) -> str:
        """The API token the service wrote at its first start (also signs in the web page)."""
        return json.loads((self.data_dir / "token.json").read_text())["token"]

    @property
    def client(self) -> Client:
        assert self._client is not None, "start() the service first"
        return self._client

    def run_sweep(self, spec: SweepSpec, *, timeout: float = 3600.0) -> SweepRun:
        """Submit `spec` over REST and wait for its end as the SDK does; check what is stored.

        It waits on the sweep's event stream (`Sweep.wait`), as a user of the SDK, the CLI or
        the web page would. An earlier version polled `GET /sweeps/{id}` every 20 ms to 1 s,
        about 150 reads in a 7 s sweep: over two 16-trial moons sweeps the service process
        used 1.44 s of CPU polled and 0.76–0.90 s waited on (2026-12-06), CPU that the sweep
        it measured lost to its observer.

        Raises:
            RuntimeError: the sweep ended with trials that did not complete.
            TimeoutError: it was still running after `timeout` seconds.
        """
        started = time.perf_counter()
        sweep = self.client.submit(spec)
        submitted = time.perf_counter()
        sweep.wait(progress=False, timeout=timeout)
        wall = time.perf_counter() - started
        public = sweep.public
        if public.counts.get("completed", 0) != public.n_trials:
            raise RuntimeError(f"sweep {sweep.id} ended {public.state} with {public.counts}:\n"
                               f"{self.log_tail()}")
        server = (public.finished_at - public.created_at).total_seconds()
        return SweepRun(sweep.id, public.n_trials, wall, server, submitted - started,
                        dict(public.counts), self.count_stored(sweep.id))

    def count_stored(self, sweep_id: int) -> int:
        """Trials of the sweep whose result row holds final (and, if asked, initial) weights."""
        with _read_only(self.database) as db:
            row = db.execute(
                "SELECT count(*) FROM results r JOIN trials t ON t.id = r.trial_id JOIN "
                "weight_blobs w ON w.sha256 = r.final_sha256 WHERE t.sweep_id = ? AND "
                "length(w.data) > 0", (sweep_id,)).fetchone()
        return int(row[0])

    def time_compare(self, sweep_id: int, repeats: int) -> tuple[float, list[float]]:
        """GET /compare: the first (computed) call, then `repeats` cached calls, in seconds."""
        first = self._timed_get(f"/sweeps/{sweep_id}/compare")
        return first, [self._timed_get(f"/sweeps/{sweep_id}/compare") for _ in range(repeats)]

    def _timed_get(self, path: str) -> float:
        started = time.perf_counter()
        resp = self.client._http.get(path, timeout=600.0)  # raw: time the HTTP call only
        resp.raise_for_status()
        resp.read()
        return time.perf_counter() - started

    def dispatcher_stats(self) -> dict[str, Any]:
        """The dispatcher's counters as `/metrics` shows them (batches, seconds)."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        return {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
                if line.startswith("sweepd_dispatcher") and len(line.split()) == 2}


class _read_only:
    """A read-only SQLite connection to the service's live database (WAL lets us read)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.close()


def storage_figures(database: Path, sweep_ids: dict[str, int]) -> dict[str, Any]:
    """Database size and bytes per stored trial, per table (SQLite `dbstat`) and per sweep.

    Args:
        database: the service's SQLite file.
        sweep_ids: workload name → sweep id.

    Returns:
        `file_bytes` (database + WAL), `tables` (bytes on pages, by table and index),
        `trials_stored`, and per workload the mean payload of a result row.
    """
    files = [database, database.with_name(database.name + "-wal")]
    with _read_only(database) as db:
        tables = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
        stored = db.execute("SELECT count(*) FROM results").fetchone()[0]
        per_sweep = {name: _payload(db, sweep_id) for name, sweep_id in sweep_ids.items()}
    return {"file_bytes": sum(f.stat().st_size for f in files if f.exists()),
            "tables": tables, "trials_stored": stored, "per_sweep": per_sweep}


def _payload(db: sqlite3.Connection, sweep_id: int) -> dict[str, float]:
    row = db.execute(
        "SELECT count(*), avg(length(f.data)), avg(coalesce(length(i.data), 0)),"
        " avg(length(r.curve)), avg(length(r.environment)) FROM results r JOIN trials t"
        " ON t.id = r.trial_id JOIN weight_blobs f ON f.sha256 = r.final_sha256 LEFT JOIN"
        " weight_blobs i ON i.sha256 = r.initial_sha256 WHERE t.sweep_id = ?",
        (sweep_id,)).fetchone()
    # Per row as read back: a weights file shared by several trials is stored once (0010).
    keys = ("trials", "final_weights", "initial_weights", "curve", "environment_json")
    return dict(zip(keys, (float(v or 0) for v in row)))
