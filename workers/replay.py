"""Replay: train one stored trial again through the same code path and compare its weights."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import ray

from sweepd import weights
from sweepd.errors import Conflict
from sweepd.ports import ResultReader
from sweepd.settings import Settings
from sweepd.spec import SweepSpec
from sweepd_workers import cluster
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
        """
        sweep = self.store.get_sweep(owner_id, sweep_id)
        trial = self.store.get_trial(owner_id, sweep_id, trial_id)
        if trial.result is None:
            raise Conflict(f"trial {trial_id} has no result to replay yet (state {trial.state})")
        stored, stored_sha = self.store.get_weights(owner_id, sweep_id, trial_id, "final")
        spec = SweepSpec.model_validate(sweep.spec).trial_for(
            trial.seed, trial.initializer, trial.params)
        cluster.connect(self.settings)  # an API replica without a dispatcher joins Ray here
        # A replay is interactive: it asks for no CPU slot, so it runs at once instead of
        # queueing behind the sweeps that fill the cluster (one trial oversubscribes briefly).
        outcome = ray.get(train_batch.options(num_cpus=0).remote(
            uuid.uuid4().hex, [spec], self._get_tracker(), None))
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

    def _get_tracker(self) -> Any:
        if self._tracker is None:
            self._tracker = Tracker.options(num_cpus=0).remote()
        return self._tracker


def _max_abs_diff(a: bytes, b: bytes) -> float:
    left, right = weights.unpack(a), weights.unpack(b)
    diffs = [float(np.max(np.abs(left[k].astype(np.float64) - right[k].astype(np.float64))))
             for k in left if k in right and left[k].size]
    return max(diffs, default=0.0)
