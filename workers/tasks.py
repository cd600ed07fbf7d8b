"""The Ray side of a batch: a thin shell around `sweepd.engine.run_batch`.

`train_batch` receives the batch's `TrialSpec`s, trains them together on the task's device and
returns the results with the node and device that produced them. It reports liveness to the
`Tracker` actor about once a second; the dispatcher renews a batch's leases only while those
heartbeats arrive, so a frozen worker (SIGSTOP, a hung driver) loses its lease and its trials are
run again elsewhere. Workers never see database credentials.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

import ray

from sweepd.spec import TrialSpec
from sweepd_workers.shipping import Shipment, receive

_HEX = re.compile(r"^[0-9a-f]{8,64}$")
log = logging.getLogger("sweepd.worker")


@ray.remote(num_cpus=0, max_restarts=-1)
class Tracker:
    """Collects batch heartbeats; ages are computed on its own clock, so node clocks may differ."""

    def __init__(self) -> None:
        self._beats: dict[str, tuple[float, int, int, int]] = {}

    def beat(self, batch_id: str, step: int, total: int, pid: int) -> None:
        self._beats[batch_id] = (time.monotonic(), step, total, pid)

    def snapshot(self) -> dict[str, dict[str, float]]:
        now = time.monotonic()
        return {b: {"age": now - t, "step": s, "total": n, "pid": p}
                for b, (t, s, n, p) in self._beats.items()}

    def forget(self, batch_ids: list[str]) -> None:
        for batch_id in batch_ids:
            self._beats.pop(batch_id, None)


@ray.remote(max_retries=0)
def train_batch(batch_id: str, trials: list[TrialSpec], tracker: Any,
                fault_dir: str | None = None, data: Shipment | None = None,
                nice: int = 0) -> dict[str, Any]:
    """Train one batch and return `{"node", "device", "nice", "results": [TrialResult, ...]}`.

    Retries are the dispatcher's business (each claim is a counted attempt), so Ray's own task
    retries are off. `data` carries the object references of the uploaded data sets the batch
    trains on (`sweepd_workers.shipping`). `nice`: the CPU niceness the worker trains at
    (`lower_priority`).
    """
    from sweepd.engine import run_batch  # imported here: the driver never needs torch

    niceness = lower_priority(nice)
    pid = os.getpid()
    # The first heartbeat is synchronous: once the task runs, the dispatcher knows it beats,
    # so a worker frozen from here on loses its lease after one lease period.
    ray.get(tracker.beat.remote(batch_id, 0, 1, pid))
    if fault_dir:
        _announce_and_inject(Path(fault_dir), batch_id, trials, pid)
    receive(data)
    device = _device()
    last = [time.monotonic()]

    def progress(step: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or step >= total:
            last[0] = now
            tracker.beat.remote(batch_id, step, total, pid)

    results = run_batch(trials, device=device, progress=progress)
    return {"node": _node_name(), "device": str(device), "nice": niceness, "results": results}


def lower_priority(nice: int) -> int:
    """Raise this worker's niceness to at least `nice`; return the niceness it now has (0 where
    the platform or its sandbox does not let it change).

    Training is batch work. On a node it shares with the API (the embedded default, a small
    cluster's head) a runnable API thread should get a core before the trials do, and the
    trials still get every cycle the API leaves. Measured at 10⁵ one-step trials on two cores
    (bench/scale.py, two pairs, 2026-12-06): status p95 75 and 60 ms at niceness 10 against 84
    and 73 ms at 0, trials/s within the runs' noise (1 241 and 1 452 against 1 498 and 1 383).
    Niceness only ever goes up here: lowering it needs privileges, and a worker process keeps
    it for the batches it runs next.
    """
    try:
        current = os.nice(0)
        if nice > current:
            current = os.nice(nice - current)
    except (AttributeError, OSError) as exc:  # no os.nice (Windows), or setpriority refused
        log.warning("this worker trains at its own priority: %s", exc)
        return 0
    return current


def _device() -> str:
    if ray.get_gpu_ids():
        return "cuda"
    return "cpu"


def _node_name() -> str:
    node_id = ray.get_runtime_context().get_node_id()
    return f"{socket.gethostname()}/{node_id[:12]}"


def _announce_and_inject(fault_dir: Path, batch_id: str, trials: list[TrialSpec], pid: int) -> None:
    """Deterministic fault injection for the reliability tests (never enabled by default).

    The task writes `running-<batch_id>` (its pid and cell keys) so a test can signal exactly
    this process, and exits at once for any trial with a `crash-<cell_key>` marker (a poison
    trial dies on every attempt) or a `crash-once-<cell_key>` marker (removed as it fires).
    """
    keys = [t.cell_key for t in trials if _HEX.match(t.cell_key)]
    if not _HEX.match(batch_id):
        return
    (fault_dir / f"running-{batch_id}").write_text(f"{pid}\n" + "\n".join(keys))
    for key in keys:
        once = fault_dir / f"crash-once-{key}"
        if once.exists():
            once.rename(fault_dir / f"fired-{key}")
            os._exit(137)
        if (fault_dir / f"crash-{key}").exists():
            (fault_dir / f"fired-{key}-{time.time_ns()}").touch()
            os._exit(137)
