"""`sweepd demo`: the seed study end to end on the embedded service, over REST.

It starts `sweepd serve` (SQLite + local Ray) as a child process unless a service already
answers on the port, submits the moons study through the SDK, follows it with a progress bar,
prints the verdict (is it OK that the weights differ, which initializer, how many seeds) and a
table per initializer, and leaves the service running for the web page. The service's output
goes to `demo-server.log` (0600), where it names the admin token by its prefix only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console

from sweepd import private, tokenfile
from sweepd.examples import seed_example


def run_demo(*, steps: int, seeds: int, port: int, keep_serving: bool, console: Console) -> int:
    """Run the demo; return the process exit code."""
    from sweepd.client import Client

    url = f"http://127.0.0.1:{port}"
    if _healthy(url):
        console.print(f"A sweepd service already answers on {url}: the demo uses it.")
        server = None
    elif _taken(port):
        console.print(f"[red]error:[/] port {port} is in use by something that is not sweepd; "
                      "pick another with --port or SWEEPD_PORT")
        return 2
    else:
        server = _start_server(port, console)
    try:
        token = _wait_for_token(url, server)
        client = Client(url=url, token=token)
        spec = seed_example(steps=steps, seeds=seeds)
        console.print(f"Submitting [bold]{spec.name}[/]: {spec.n_seeds} seeds × "
                      f"{len(spec.initializers)} initializers = {spec.n_trials} trials, "
                      f"{steps} GD steps each, moons n=5000 noise=0.2, 2-4-1 tanh/sigmoid")
        sweep = client.submit(spec).wait(progress=True)
        console.print(f"sweep {sweep.id} {sweep.state}: {sweep.counts}\n")
        sweep.compare().print(console)
        console.print(f"Details:  sweepd compare {sweep.id} --details      "
                      f"Web:  sweepd open {sweep.id}  ({url}/)")
        if server is not None and keep_serving:
            console.print(f"sweepd keeps serving on {url} — Ctrl-C to stop.")
            server.wait()
        return 0 if sweep.state == "completed" else 1
    except KeyboardInterrupt:
        return 130
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)  # uvicorn and Ray shut down quietly on SIGINT
            server.wait(timeout=60)


def _taken(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _start_server(port: int, console: Console) -> subprocess.Popen[bytes]:
    log_path = private.private_dir(Path(tokenfile.default_path()).parent) / "demo-server.log"
    private.create_private(log_path)  # the service's log: no secret, but nobody else's business
    console.print(f"Starting the embedded service (SQLite + local Ray) on port {port}; "
                  f"its log: {log_path}")
    env = {**os.environ, "SWEEPD_PORT": str(port)}
    with log_path.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "sweepd", "serve"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def _wait_for_token(url: str, server: subprocess.Popen[bytes] | None) -> str:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"the service exited with code {server.returncode}")
        saved = tokenfile.load()
        if saved and _ready(url):
            return saved[1]
        time.sleep(0.5)
    raise TimeoutError(f"the service at {url} did not become ready")


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False
