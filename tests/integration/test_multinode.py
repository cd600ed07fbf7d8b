"""The distributed deployment for real: a Ray head and two worker nodes, PostgreSQL, the API.

The topology of docker-compose.yml, without Docker: `scripts/cluster.sh head` and two
`scripts/cluster.sh worker` processes (separate `ray start --block` nodes, one CPU and a custom
resource each), a fresh PostgreSQL database migrated with `scripts/cluster.sh migrate`, a token
made with `sweepd token create`, and `sweepd serve` joined to the cluster through
SWEEPD_RAY_ADDRESS. Sweeps go in over REST; what they stored is read back from PostgreSQL
directly. Every process is stopped by pid / process group in the fixtures' teardown, also when
a test fails.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import LiveServer, free_port
from tests.integration.cluster_helpers import (
    SCRIPT,
    Node,
    fresh_database,
    libpq_url,
    run_tool,
    start_head,
    start_worker,
    still_running,
    tool_env,
    wait_for_nodes,
    wait_until,
)

pytestmark = [pytest.mark.ray, pytest.mark.postgres]


def moons_spec(name: str, steps: int, seeds: int) -> dict[str, Any]:
    return {
        "name": name,
        "dataset": {"name": "moons", "n_samples": 400, "noise": 0.2, "seed": 0},
        "model": {"hidden": [4], "activation": "tanh"},
        "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": steps},
        "seeds": {"start": 0, "count": seeds},
        "initializers": ["glorot_uniform", {"name": "random_normal", "stddev": 0.01}],
        "store": {"curve_every": 100},
    }


@dataclass
class Service:
    """The API process of the cluster, its token and its database."""

    server: LiveServer
    token: str
    database_url: str

    def _http(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=30,
                            headers={"Authorization": f"Bearer {self.token}"})

    def submit(self, spec: dict[str, Any]) -> dict[str, Any]:
        with self._http() as http:
            reply = http.post("/api/v1/sweeps", json=spec)
        assert reply.status_code == 201, reply.text
        return reply.json()

    def sweep(self, sweep_id: int) -> dict[str, Any]:
        with self._http() as http:
            reply = http.get(f"/api/v1/sweeps/{sweep_id}")
        reply.raise_for_status()
        return reply.json()

    def trials(self, sweep_id: int) -> list[dict[str, Any]]:
        with self._http() as http:
            reply = http.get(f"/api/v1/sweeps/{sweep_id}/trials", params={"limit": 200})
        reply.raise_for_status()
        return reply.json()["items"]

    def wait_finished(self, sweep_id: int, timeout: float) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            self._check_alive()
            sweep = self.sweep(sweep_id)
            return sweep if sweep["state"] not in ("pending", "running") else None

        return wait_until(finished, timeout, f"sweep {sweep_id} to finish", every=1.0)

    def wait_slots(self, slots: int, timeout: float = 60.0) -> None:
        """Wait until the dispatcher counts `slots` batch slots in the cluster (/readyz)."""
        def counted() -> bool:
            self._check_alive()
            checks = httpx.get(f"{self.server.url}/readyz", timeout=10).json()["checks"]
            return checks.get("slots") == slots

        wait_until(counted, timeout, f"the dispatcher to see {slots} batch slots")

    def _check_alive(self) -> None:
        assert self.server.proc is not None
        if self.server.proc.poll() is not None:
            raise RuntimeError(f"the API exited:\n{self.server.log_path.read_text()[-3000:]}")


def stored_trials(database_url: str, sweep_id: int) -> list[dict[str, Any]]:
    """The sweep's trials as PostgreSQL holds them, with how many result rows each has."""
    query = """
        SELECT t.id, t.state, t.node, t.attempt, count(r.trial_id) AS results
          FROM trials t LEFT JOIN results r ON r.trial_id = t.id
         WHERE t.sweep_id = %s
         GROUP BY t.id ORDER BY t.id"""
    with psycopg.connect(database_url) as conn:
        cursor = conn.execute(query, (sweep_id,))
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# -- the cluster -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("multinode")


@pytest.fixture(scope="module")
def head(logs: Path) -> Iterator[str]:
    node, address = start_head(logs)
    try:
        yield address
    finally:
        node.stop()


@pytest.fixture(scope="module")
def database(pg_admin_url: str) -> Iterator[str]:
    with fresh_database(pg_admin_url) as url:
        yield url


@pytest.fixture(scope="module")
def service(head: str, database: str, logs: Path) -> Iterator[Service]:
    data_dir = logs / "api"
    data_dir.mkdir()
    env = tool_env(SWEEPD_DATABASE_URL=database, SWEEPD_RAY_ADDRESS=head,
                   SWEEPD_DATA_DIR=str(data_dir), SWEEPD_LEASE_SECONDS="6",
                   SWEEPD_REAP_INTERVAL_SECONDS="1")
    run_tool(["bash", str(SCRIPT), "migrate"], env)
    token = run_tool(["sweepd", "token", "create", "t", "--user", "u", "--admin"],
                     env).strip().splitlines()[-1]
    server = LiveServer(data_dir=data_dir, env=env, port=free_port())
    try:
        server.start()
        yield Service(server=server, token=token, database_url=database)
    finally:
        server.stop()


@pytest.fixture
def workers(head: str, logs: Path) -> Iterator[list[Node]]:
    """Two fresh worker nodes for one test (a test may kill one of them)."""
    nodes: list[Node] = []
    tag = uuid.uuid4().hex[:6]
    try:
        for label in ("a", "b"):
            nodes.append(start_worker(head, f"mn_{tag}_{label}", logs))
        wait_for_nodes(head, nodes)
        yield nodes
    finally:
        for node in nodes:
            node.stop()


# -- the tests -------------------------------------------------------------------------------


def test_run_sweep_on_two_worker_nodes_with_results_in_postgres(service, workers):
    service.wait_slots(2)
    sweep = service.submit(moons_spec("multinode", steps=300, seeds=8))
    assert sweep["n_trials"] == 16

    done = service.wait_finished(sweep["id"], timeout=180)

    assert done["state"] == "completed", done
    rows = stored_trials(service.database_url, sweep["id"])
    assert len(rows) == 16
    assert {r["state"] for r in rows} == {"completed"}
    assert all(r["results"] == 1 for r in rows)
    nodes = {r["node"] for r in rows}
    assert len(nodes) >= 2, nodes  # 2 batches of 8, one per worker node (1 CPU each)
    assert all(node and "/" in node for node in nodes)
    assert {t["node"] for t in service.trials(sweep["id"])} == nodes


def _victim(service: Service, workers: list[Node], sweep_id: int) -> Node | None:
    """A worker node running a batch of this sweep once every running trial has reported."""
    trials = service.trials(sweep_id)
    running = [t for t in trials if t["state"] == "running"]
    if not running or any(t["progress"] <= 0 for t in running):
        return None
    busy = [n for n in workers if n.running_tasks(f"sweep{sweep_id}-", "train_batch")]
    return busy[0] if busy else None


def test_complete_sweep_after_worker_node_killed_mid_sweep(service, workers):
    service.wait_slots(2)
    sweep = service.submit(moons_spec("multinode-kill", steps=150_000, seeds=2))
    # long enough to be caught running on a quiet machine (40 000 steps could end between polls)
    assert sweep["n_trials"] == 4  # two batches of two, one on each worker node

    victim = wait_until(lambda: _victim(service, workers, sweep["id"]), 120,
                        "a batch running on a worker node")
    assert victim.kill() == -9
    assert victim.running_tasks(f"sweep{sweep['id']}-", "train_batch") == []
    assert len(victim.killed) >= 2  # the raylet and at least the batch's worker process
    wait_until(lambda: not still_running(victim.killed), 10, "the killed node's processes to die")

    done = service.wait_finished(sweep["id"], timeout=300)

    assert done["state"] == "completed", done
    rows = stored_trials(service.database_url, sweep["id"])
    assert len(rows) == 4
    assert {r["state"] for r in rows} == {"completed"}
    assert sum(r["results"] for r in rows) == len(rows)  # every trial stored exactly once
    # the fault fired: the killed batch's trials were claimed again, and every result came
    # from the surviving node
    assert max(r["attempt"] for r in rows) >= 2
    assert len({r["node"] for r in rows}) == 1


# -- the bare-metal script itself ------------------------------------------------------------


def test_print_launch_commands_for_every_machine():
    out = run_tool(["bash", str(SCRIPT), "launch", "--head", "h0", "--workers", "h1 h2",
                    "--api", "a1", "--dir", "/srv/sweepd", "--dry-run"], tool_env())
    env = "SWEEPD_ENV_FILE=/etc/sweepd/sweepd.env"
    assert out.splitlines() == [
        "ssh h0 cd /srv/sweepd && scripts/cluster.sh head --port 6379",
        "ssh h1 cd /srv/sweepd && scripts/cluster.sh worker --address h0:6379",
        "ssh h2 cd /srv/sweepd && scripts/cluster.sh worker --address h0:6379",
        f"ssh a1 cd /srv/sweepd && {env} scripts/cluster.sh migrate",
        f"ssh a1 cd /srv/sweepd && {env} nohup scripts/cluster.sh api --address h0:6379 --join"
        " < /dev/null >> sweepd-api.log 2>&1 &",
    ]


def test_refuse_worker_without_head_address():
    result = subprocess.run(["bash", str(SCRIPT), "worker", "--num-cpus", "1"], env=tool_env(),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "needs --address" in result.stderr


def _db_env(pg_admin_url: str, name: str, **extra: str) -> dict[str, str]:
    admin = make_url(pg_admin_url)
    return tool_env(PGHOST=admin.host or "127.0.0.1", PGPORT=str(admin.port or 5432),
                    PGUSER=admin.username or "postgres", PGPASSWORD=admin.password or "",
                    SWEEPD_DB_NAME=name, SWEEPD_DB_USER=name, **extra)


def _owner_of(pg_admin_url: str, name: str) -> tuple[str, bool] | None:
    query = """SELECT r.rolname, r.rolcanlogin FROM pg_database d
                 JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = %s"""
    with psycopg.connect(libpq_url(pg_admin_url)) as conn:
        return conn.execute(query, (name,)).fetchone()


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_create_database_and_role_with_cluster_script_idempotently(pg_admin_url):
    name = f"sweepd_mn_{uuid.uuid4().hex[:12]}"
    password = secrets.token_hex(12)
    env = _db_env(pg_admin_url, name, SWEEPD_DB_PASSWORD=password)
    try:
        first = run_tool(["bash", str(SCRIPT), "db"], env)
        again = run_tool(["bash", str(SCRIPT), "db"], env)  # existing role and database: no-op
        assert _owner_of(pg_admin_url, name) == (name, True)
        assert f"postgresql://{name}:<password>@" in first and password not in first + again
    finally:
        with psycopg.connect(libpq_url(pg_admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_refuse_database_creation_without_password(pg_admin_url):
    name = f"sweepd_mn_{uuid.uuid4().hex[:12]}"
    result = subprocess.run(["bash", str(SCRIPT), "db"], env=_db_env(pg_admin_url, name),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "SWEEPD_DB_PASSWORD" in result.stderr
    assert _owner_of(pg_admin_url, name) is None
