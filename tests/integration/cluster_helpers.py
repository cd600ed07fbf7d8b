"""A real multi-node Ray cluster on one machine, started with scripts/cluster.sh, for the tests.

Each node is a separate `ray start --block` process (the script execs it) in its own process
group, with its own temp dir, ports and resources, so the nodes are as separate as Ray nodes on
different machines except for the IP address. Ray's worker processes put themselves in process
groups of their own, so stopping a node also signals every descendant recorded beforehand (by
pid and start time, so that a reused pid is never hit). Nothing here touches a process it did
not start.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import psycopg
from sqlalchemy.engine import make_url

from tests.conftest import BIN, free_port, stop_group, wait_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cluster.sh"
CLUSTER_TOKEN = secrets.token_hex(32)  # Ray's own token format: 256 random bits in hex
OBJECT_STORE_BYTES = 100_000_000  # Ray's minimum is 75 MB; the tests move kilobytes
T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout: float, what: str, every: float = 0.5) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def tool_env(**extra: str) -> dict[str, str]:
    """The environment for the script, the nodes and the CLIs: this venv first, no inherited
    cluster, and Ray's token authentication on with this run's own token, as the deployment
    documents it. (Without RAY_AUTH_MODE, a head that finds a ~/.ray/auth_token left by any
    earlier local ray.init() turns authentication on, and workers without it cannot join.)
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SWEEPD_", "RAY_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", SWEEPD_VENV=str(BIN.parent),
               PYTHONUNBUFFERED="1", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=CLUSTER_TOKEN,
               **extra)
    return env


# -- processes -------------------------------------------------------------------------------


def _proc_table(*, zombies: bool = True) -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time in clock ticks) for every process we may read."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # the command name may contain spaces
        if zombies or fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), int(fields[19]))
    return table


def descendants(root: int) -> list[tuple[int, int]]:
    """(pid, start time) of every live descendant of `root`."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append((pid, table[pid][1]))
        todo.extend(children.get(pid, []))
    return found


def proctitle(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def still_running(processes: list[tuple[int, int]]) -> list[int]:
    """The recorded processes that are still alive (zombies awaiting their reaper excluded)."""
    table = _proc_table(zombies=False)
    return [pid for pid, started in processes if table.get(pid, (0, -1))[1] == started]


def kill_recorded(processes: list[tuple[int, int]]) -> None:
    """SIGKILL each recorded process that is still the same process (same start time)."""
    table = _proc_table()
    for pid, started in processes:
        if table.get(pid, (0, -1))[1] == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@dataclass
class Node:
    """One Ray node: the `ray start --block` process, its temp dir and its log."""

    name: str
    proc: subprocess.Popen
    temp_dir: Path
    log_path: Path
    killed: list[tuple[int, int]] = field(default_factory=list)

    def alive_tree(self) -> list[tuple[int, int]]:
        return descendants(self.proc.pid)

    def running_tasks(self, *markers: str) -> list[int]:
        """Pids of this node's Ray workers whose process title contains one of `markers`."""
        titles = {pid: proctitle(pid) for pid, _ in self.alive_tree()}
        return [pid for pid, title in titles.items()
                if title.startswith("ray::") and any(m in title for m in markers)]

    def kill(self) -> int:
        """Kill the whole node at once, as if its machine died; returns the exit status.

        `killed` keeps what was hit (the raylet, its agents, its Ray workers), so a test can
        check that the node is really gone.
        """
        self.killed = self.alive_tree()
        os.killpg(self.proc.pid, signal.SIGKILL)
        kill_recorded(self.killed)
        return self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the node and everything it started; safe to call twice or after kill()."""
        tree = self.alive_tree() if self.proc.poll() is None else []
        stop_group(self.proc)
        kill_recorded(tree)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


def _start_node(name: str, args: list[str], log_dir: Path,
                extra: Sequence[str] = ()) -> Node:
    temp = Path(tempfile.mkdtemp(prefix="swmn", dir="/tmp"))  # Ray's socket paths stay short
    log_path = log_dir / f"ray-{name}.log"
    ray_args = [f"--temp-dir={temp}", f"--object-store-memory={OBJECT_STORE_BYTES}",
                f"--dashboard-agent-listen-port={free_port()}",
                f"--dashboard-agent-grpc-port={free_port()}",
                f"--runtime-env-agent-port={free_port()}", f"--metrics-export-port={free_port()}",
                *extra]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(["bash", str(SCRIPT), *args, "--block", "--", *ray_args],
                                env=tool_env(), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    return Node(name=name, proc=proc, temp_dir=temp, log_path=log_path)


def start_head(log_dir: Path) -> tuple[Node, str]:
    """`cluster.sh head` with no CPUs of its own: trials can only run on the workers."""
    port = free_port()
    extra = [f"--dashboard-port={free_port()}", f"--ray-client-server-port={free_port()}",
             "--include-dashboard=false"]
    node = _start_node("head", ["head", "--port", str(port), "--num-cpus", "0"], log_dir, extra)
    try:
        wait_port(port, timeout=60)
    except TimeoutError:
        node.stop()
        raise TimeoutError(f"the Ray head did not start:\n{node.log_tail()}") from None
    return node, f"127.0.0.1:{port}"


def start_worker(address: str, name: str, log_dir: Path) -> Node:
    """`cluster.sh worker`: one CPU and a custom resource named after the node."""
    return _start_node(name, ["worker", "--address", address, "--num-cpus", "1",
                              "--resources", json.dumps({name: 1})], log_dir)


def cluster_resources(address: str) -> str:
    """`ray status` of the cluster (resource totals, custom resources included)."""
    result = subprocess.run([str(BIN / "ray"), "status", f"--address={address}"],
                            env=tool_env(), capture_output=True, text=True, timeout=60)
    return result.stdout


def wait_for_nodes(address: str, nodes: list[Node], timeout: float = 90.0) -> None:
    """Wait until every node has registered with the head under its own resource."""
    def registered() -> bool:
        for node in nodes:
            if node.proc.poll() is not None:
                raise RuntimeError(f"node {node.name} exited:\n{node.log_tail()}")
        status = cluster_resources(address)
        return all(f"/1.0 {node.name}" in status for node in nodes)

    wait_until(registered, timeout, f"nodes {[n.name for n in nodes]} to join", every=1.0)


# -- database and CLI ------------------------------------------------------------------------


def libpq_url(url: str, database: str | None = None) -> str:
    """A SQLAlchemy URL as plain libpq understands it (no `+psycopg`), optionally re-targeted."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """CREATE DATABASE sweepd_mn_<random>; yields its URL; dropped (forcibly) at the end."""
    name = f"sweepd_mn_{uuid.uuid4().hex[:12]}"
    admin = libpq_url(admin_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield libpq_url(admin_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_tool(args: list[str], env: dict[str, str], timeout: float = 120.0) -> str:
    """Run a CLI to completion and return its stdout; fail with its output otherwise."""
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{args} exited {result.returncode}:\n{result.stdout}\n"
                           f"{result.stderr}")
    return result.stdout
