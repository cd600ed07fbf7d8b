"""Session-wide fixtures: one local Ray cluster per test session, and live service processes.

Every process a fixture starts is stopped by its pid (or its own process group) at teardown,
also when the test fails; nothing here touches processes it did not start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

BIN = Path(sys.executable).parent
# The test clusters are private to this machine's loopback; Ray's token auth would otherwise
# pick up a token file left in ~/.ray by some other local cluster and refuse our drivers.
os.environ["RAY_AUTH_MODE"] = "disabled"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_group(proc: subprocess.Popen, timeout: float = 8.0) -> None:
    """Stop a process started with start_new_session=True, and everything in its group."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port}")


def start_ray_head(num_cpus: int = 2, resources: str | None = None) -> tuple[subprocess.Popen, str]:
    """`ray start --head --block` in its own process group; returns (process, address)."""
    port = free_port()
    temp = tempfile.mkdtemp(prefix="swr", dir="/tmp")  # Ray's socket paths must stay short
    cmd = [str(BIN / "ray"), "start", "--head", f"--port={port}", f"--num-cpus={num_cpus}",
           "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats", "--block",
           f"--temp-dir={temp}", "--dashboard-agent-listen-port", str(free_port()),
           "--ray-client-server-port", str(free_port()), "--min-worker-port", "20000",
           "--max-worker-port", "29999"]
    if resources:
        cmd.append(f"--resources={resources}")
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port)
    address = f"127.0.0.1:{port}"
    wait_for_raylet(address, 1)  # the GCS listens before the raylet has registered
    return proc, address


def wait_for_raylet(address: str, count: int, timeout: float = 60.0) -> None:
    """Wait until `count` Ray nodes are alive at `address` (asked of the GCS, no sleep guess)."""
    code = ("import sys, ray; ray.init(address=sys.argv[1], logging_level='ERROR'); "
            "sys.exit(0 if sum(n['Alive'] for n in ray.nodes()) >= int(sys.argv[2]) else 1)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run([sys.executable, "-c", code, address, str(count)],
                              capture_output=True, timeout=timeout)
        if done.returncode == 0:
            return
    raise TimeoutError(f"fewer than {count} Ray nodes came up at {address}")


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """One local Ray cluster (2 CPUs) shared by every test of the session."""
    proc, address = start_ray_head()
    yield address
    stop_group(proc)


@pytest.fixture(scope="session")
def ray_connected(ray_address: str) -> str:
    """This process joined to the session's Ray cluster (for in-process dispatchers)."""
    import ray

    if not ray.is_initialized():
        ray.init(address=ray_address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    return ray_address


@dataclass
class LiveServer:
    """A `sweepd serve` process with its own data directory."""

    data_dir: Path
    env: dict[str, str]
    port: int
    proc: subprocess.Popen | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        import json

        return json.loads((self.data_dir / "token.json").read_text())["token"]

    def start(self, timeout: float = 120.0) -> LiveServer:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sweepd", "serve", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"server not ready:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the service process (only it: the Ray cluster is not its child)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)

    def client(self):
        from sweepd.client import Client

        return Client(url=self.url, token=self.token)


@contextmanager
def finished_sweep(data: Path, ray_address: str, spec: Any, *,
                   timeout: float = 900) -> Iterator[tuple[LiveServer, Any, Any]]:
    """A live server with one sweep submitted and waited for: (server, client, sweep)."""
    env = {**os.environ, "SWEEPD_DATA_DIR": str(data), "SWEEPD_RAY_ADDRESS": ray_address}
    server = LiveServer(data_dir=data, env=env, port=free_port()).start()
    try:
        client = server.client()
        sweep = client.submit(spec).wait(progress=False, timeout=timeout)
        assert sweep.state == "completed", sweep.counts
        yield server, client, sweep
    finally:
        server.stop()


@pytest.fixture
def live_server_factory(tmp_path: Path, ray_address: str):
    """Build (not start) live servers joined to the session's Ray cluster."""
    servers: list[LiveServer] = []

    def make(**env: str) -> LiveServer:
        data = tmp_path / f"server{len(servers)}"
        data.mkdir()
        full = {**os.environ, "SWEEPD_DATA_DIR": str(data), "SWEEPD_RAY_ADDRESS": ray_address,
                "SWEEPD_LEASE_SECONDS": "6", "SWEEPD_REAP_INTERVAL_SECONDS": "1",
                "PYTHONUNBUFFERED": "1", **env}
        full.pop("RAY_ADDRESS", None)
        server = LiveServer(data_dir=data, env=full, port=free_port())
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
