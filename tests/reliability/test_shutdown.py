"""`sweepd serve` as a process (issue 14, items 7, 13, 15, 18 and 19): SIGTERM shuts it down
cleanly and hands its work back, `kill -9` leaves no Ray process behind for long, the settings
decide what the command line does not, and slow-header connections are closed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from sweepd.storage import open_store
from tests.conftest import LiveServer, free_port
from tests.reliability.helpers import service_spec, wait_until

SHUTDOWN_BOUND_S = 30.0  # grace for open requests (5 s) + the service's own margin (25 s)


def _rows(server: LiveServer, query: str) -> list[tuple]:
    engine = sa.create_engine(f"sqlite:///{server.data_dir / 'sweepd.db'}")
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(query)).all()
    finally:
        engine.dispose()


def _api_only(tmp_path: Path, **env: str) -> LiveServer:
    """A live service without a dispatcher: it never joins Ray."""
    data = tmp_path / "api-only"
    data.mkdir()
    full = {**os.environ, "SWEEPD_DATA_DIR": str(data), "SWEEPD_RUN_DISPATCHER": "false",
            "PYTHONUNBUFFERED": "1", **env}
    for name in ("SWEEPD_DATABASE_URL", "SWEEPD_RAY_ADDRESS", "RAY_ADDRESS"):
        full.pop(name, None)
    return LiveServer(data_dir=data, env=full, port=free_port())


@pytest.fixture(scope="module")
def api_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One API-only service for the tests below (with a 1 s header deadline)."""
    server = _api_only(tmp_path_factory.mktemp("shutdown"),
                       SWEEPD_HTTP_HEADER_TIMEOUT_SECONDS="1").start()
    yield server
    server.stop()


def _sigterm(server: LiveServer) -> float:
    """SIGTERM the service process alone; how long it took to exit."""
    assert server.proc is not None
    start = time.monotonic()
    os.kill(server.proc.pid, signal.SIGTERM)
    server.proc.wait(timeout=SHUTDOWN_BOUND_S + 30)
    return time.monotonic() - start


# -- SIGTERM (item 7) ---------------------------------------------------------------------------


@pytest.mark.ray
def test_sigterm_exits_0_and_hands_leadership_and_trials_back(live_server_factory):
    # A lease a standby would otherwise wait out for a minute.
    server = live_server_factory(SWEEPD_LEASE_SECONDS="60").start()
    client = server.client()
    sweep = client.submit(service_spec(steps=200_000, seeds=2, name="sigterm"))
    wait_until(lambda: _rows(server, "SELECT count(*) FROM trials WHERE state = 'running'")
               [0][0] > 0, 120, "a running trial")
    stream_ended = threading.Event()

    def follow() -> None:
        with httpx.stream("GET", f"{server.url}/api/v1/sweeps/{sweep.id}/events",
                          headers={"Authorization": f"Bearer {server.token}"},
                          timeout=120) as response:
            for _ in response.iter_lines():
                pass
        stream_ended.set()

    threading.Thread(target=follow, daemon=True).start()
    time.sleep(1.0)  # the stream is open

    seconds = _sigterm(server)
    print(f"\nshutdown after SIGTERM: {seconds:.1f} s (exit {server.proc.returncode})")

    assert server.proc.returncode == 0
    assert seconds < SHUTDOWN_BOUND_S
    log = server.log_path.read_text()
    assert "SIGTERM received" not in log  # Ray's C++ handler did not take the signal
    assert stream_ended.wait(5)  # the open event stream was ended, not cut by the exit
    [(holder, expires)] = _rows(server, "SELECT holder, expires_at FROM dispatcher_leases")
    assert datetime.fromisoformat(str(expires)).replace(tzinfo=timezone.utc) <= \
        datetime.now(timezone.utc)  # released, not left to run out
    states = dict(_rows(server, "SELECT state, count(*) FROM trials GROUP BY state"))
    assert "running" not in states and states.get("pending") == 4
    errors = {e for (e,) in _rows(server, "SELECT error FROM trials")}
    assert errors == {"the dispatcher shut down before the batch finished"}
    wal = server.data_dir / "sweepd.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed
    standby = open_store(f"sqlite:///{server.data_dir / 'sweepd.db'}", auto_migrate=False)
    try:  # a standby leads at once instead of after the 60 s lease
        assert standby.acquire_leadership("standby", ttl_seconds=60)
    finally:
        standby.dispose()
    # The log (not a TTY) names the admin token by its prefix only.
    assert server.token not in log and server.token[:8] in log


# -- settings decide what the command line does not say (item 15) -------------------------------


def test_run_dispatcher_false_in_the_environment_is_obeyed_by_serve(api_only):
    server = api_only  # `sweepd serve` with SWEEPD_RUN_DISPATCHER=false and no --no-dispatcher
    checks = httpx.get(f"{server.url}/readyz", timeout=5).json()["checks"]
    sweep = server.client().submit(service_spec(steps=10, seeds=1, name="no-dispatcher"))
    time.sleep(2.0)  # a dispatcher would claim it within its first poll
    assert "dispatcher" not in checks
    assert _rows(server, "SELECT count(*) FROM dispatcher_leases") == [(0,)]
    assert server.client().get(sweep.id).state == "pending"


# -- slow-header connections (item 18) -----------------------------------------------------------


def _open(port: int, first: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if first:
        sock.sendall(first)
    return sock


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_slow_header_connections_are_closed_and_others_still_served(api_only):
    server = api_only
    slow: list[socket.socket] = []
    silent: list[socket.socket] = []
    trickle = None
    try:
        partial = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        slow = [_open(server.port, partial) for _ in range(100)]
        silent = [_open(server.port, b"") for _ in range(50)]
        trickle = _open(server.port, b"G")
        start = time.monotonic()
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        for byte in b"ET /healthz HTTP/1.1\r\n":  # one byte every 0.2 s: never a whole header
            if time.monotonic() - start > 4:
                break
            try:
                trickle.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)

        held = [s for s in [*slow, *silent, trickle] if not _closed_by_server(s, 10)]
        elapsed = time.monotonic() - start
        assert not held, f"{len(held)} connections still held"
        assert elapsed < 15  # 1 s deadline; generous for a loaded machine
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        # A keep-alive client that sends whole requests is not cut off by the deadline.
        with httpx.Client(base_url=server.url, timeout=5) as client:
            for _ in range(3):
                assert client.get("/healthz").status_code == 200
                time.sleep(0.6)
    finally:
        for sock in [*slow, *silent, *([trickle] if trickle else [])]:
            sock.close()


# -- the embedded local Ray (items 7 and 19): heavy, it starts a Ray of its own ------------------


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] not in "ZX"
    except (OSError, IndexError):
        return False


def _listening(pids: list[int]) -> list[str]:
    """The local addresses the processes listen on (TCP), from `ss`."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3] for line in out.splitlines()
            if any(f"pid={pid}," in line for pid in pids)]


def _loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "::1", "::ffff:127.0.0.1")


@pytest.mark.heavy
@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to list listeners")
def test_kill_9_leftovers_of_the_local_ray_are_reaped_at_the_next_start(tmp_path):
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    ray_token = home / ".ray" / "auth_token"  # as Ray writes it: open(), so 0644
    ray_token.write_text("x" * 64)
    ray_token.chmod(0o644)
    server = _api_only(tmp_path, SWEEPD_RUN_DISPATCHER="true", HOME=str(home))
    record = server.data_dir / "ray-processes.json"
    survivors: list[int] = []
    try:
        server.start(timeout=240)
        wait_until(lambda: ray_token.stat().st_mode & 0o777 == 0o600, 60,
                   "Ray's token file narrowed to 0600")
        wait_until(lambda: record.exists() and len(json.loads(record.read_text())) >= 4, 60,
                   "the local Ray's processes to be recorded")
        pids = [pid for pid, _ in json.loads(record.read_text())]
        raylet = next(p for p in pids if "raylet" in Path(f"/proc/{p}/cmdline").read_text())
        assert "--node_ip_address=127.0.0.1" in Path(f"/proc/{raylet}/cmdline").read_text()
        listening = _listening(pids)
        assert listening and all(_loopback(address) for address in listening), listening
        assert record.stat().st_mode & 0o777 == 0o600

        server.kill()  # no shutdown code runs
        time.sleep(5)
        survivors = [p for p in pids if _alive(p)]
        assert survivors, "the fault did not leave orphans: nothing to reap"

        server.start(timeout=240)
        wait_until(lambda: not any(_alive(p) for p in survivors), 30, "the orphans reaped")
        assert "killed" in server.log_path.read_text()

        seconds = _sigterm(server)
        print(f"\nembedded Ray: shutdown after SIGTERM {seconds:.1f} s")
        assert seconds < SHUTDOWN_BOUND_S and server.proc.returncode == 0
        again = [pid for pid, _ in json.loads(record.read_text())] if record.exists() else []
        time.sleep(2)
        assert not any(_alive(p) for p in again)  # a clean stop leaves no Ray process either
    finally:
        server.stop()
        for pid in survivors:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

