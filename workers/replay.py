"""Replay: train one stored trial again through the same code path and compare its weights."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import ray

from sweepd import weights
from sweepd.errors import Conflict, TimedOut, Unavailable, WorkerFailed
from sweepd.ports import ResultReader
from sweepd.settings import Settings
from sweepd.spec import SweepSpec
from sweepd_workers import cluster
from sweepd_workers.shipping import DatasetShipper
from sweepd_workers.tasks import Tracker, train_batch


class Replayer:
    """Re-trains a trial on the cluster, alone in its batch (results do not depend on K)."""

    def __init__(self, store: ResultReader, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._tracker: Any = None

    def replay(self, owner_id: int, sweep_id: int, trial_id: int) -> dict[str, Any]:
        """Return whether the re-trained final weights match the stored ones bit for bit.

        Raises:
            NotFound: no such trial for this owner.
            Conflict: the trial has no stored result yet.
            Unavailable, TimedOut, WorkerFailed: see `_run`.
        """
        sweep = self.store.get_sweep(owner_id, sweep_id)
        trial = self.store.get_trial(owner_id, sweep_id, trial_id)
        if trial.result is None:
            raise Conflict(f"trial {trial_id} has no result to replay yet (state {trial.state})")
        stored, stored_sha = self.store.get_weights(owner_id, sweep_id, trial_id, "final")
        spec = SweepSpec.stored(sweep.spec).trial_for(
            trial.seed, trial.initializer, trial.params, order_seed=trial.order_seed,
            data_seed=trial.data_seed)
        outcome = self._run(trial_id, spec)
        fresh = outcome["results"][0]
        return {
            "trial_id": trial_id,
            "matches": fresh.final_sha256 == stored_sha,
            "stored_sha256": stored_sha,
            "replayed_sha256": fresh.final_sha256,
            "max_abs_diff": _max_abs_diff(stored, fresh.final_weights),
            "environment": fresh.environment,
            "stored_environment": trial.result.environment,
            "node": outcome["node"],
            "device": outcome["device"],
        }

    def _run(self, trial_id: int, spec: Any) -> dict[str, Any]:
        """Train the trial as a Ray task that asks for CPUs like a batch does (so replays
        queue behind sweeps instead of oversubscribing the nodes), within the time budget.

        Raises:
            Unavailable: Ray cannot be reached.
            TimedOut: no result within `replay_timeout_seconds` (the task is cancelled).
            WorkerFailed: the worker died (crash, out of memory) or the task raised.
        """
        settings = self.settings
        try:
            cluster.connect(settings)  # an API replica without a dispatcher joins Ray here
        except Exception as exc:
            raise Unavailable(f"the executor (Ray) cannot be reached: {_cause(exc)}") from exc
        fault_dir = str(settings.fault_dir) if settings.fault_dir else None
        data = DatasetShipper(self.store.dataset_blob).shipment([spec])
        # No retries: a replay that kills its worker would only kill the next one too.
        ref = train_batch.options(num_cpus=settings.replay_cpus, max_retries=0).remote(
            uuid.uuid4().hex, [spec], self._get_tracker(), fault_dir, data, settings.worker_nice)
        try:
            return ray.get(ref, timeout=settings.replay_timeout_seconds)
        except ray.exceptions.GetTimeoutError:
            ray.cancel(ref, force=True)
            raise TimedOut(f"the replay of trial {trial_id} did not finish within "
                           f"{settings.replay_timeout_seconds:g} s (the cluster may be busy "
                           "with sweeps); it was cancelled",
                           retry_after=settings.retry_after_seconds) from None
        except ray.exceptions.RayError as exc:
            self._tracker = None  # it may have died with the worker's node
            raise WorkerFailed(f"the worker replaying trial {trial_id} failed: "
                               f"{_cause(exc)}") from exc

    def _get_tracker(self) -> Any:
        if self._tracker is None:
            self._tracker = Tracker.options(num_cpus=0).remote()
        return self._tracker


def _max_abs_diff(a: bytes, b: bytes) -> float:
    left, right = weights.unpack(a), weights.unpack(b)
    diffs = [float(np.max(np.abs(left[k].astype(np.float64) - right[k].astype(np.float64))))
             for k in left if k in right and left[k].size]
    return max(diffs, default=0.0)


def _cause(exc: BaseException) -> str:
    """The kind of failure and the first line of its message, short enough for a problem."""
    lines = str(exc).strip().splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__
