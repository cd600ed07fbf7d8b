"""Turning claimed trial rows into batches for the workers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sweepd.spec import SweepSpec
from sweepd.records import ClaimedBatch, ClaimedTrial


class SpecCache:
    """Parsed sweep specs, so that a claim validates each sweep's spec once, not per trial."""

    def __init__(self, specs: dict[int, tuple[dict[str, Any], int]]) -> None:
        self._raw = specs
        self._parsed: dict[int, SweepSpec] = {}

    def get(self, sweep_id: int) -> SweepSpec:
        if sweep_id not in self._parsed:
            raw, n_trials = self._raw[sweep_id]
            # The trial limit may have been raised for this sweep when it was submitted.
            self._parsed[sweep_id] = SweepSpec.model_validate(
                raw, context={"max_trials": n_trials})
        return self._parsed[sweep_id]


def build_batches(rows: Sequence[Any], specs: SpecCache, max_batch: int) -> list[ClaimedBatch]:
    """Group claimed rows into batches: same sweep and batch key, at most `max_batch` each.

    Rows flagged `isolate` (released after their batch failed) go in a batch of their own, so
    that a poison trial cannot take its batch-mates down with it again. Batches come out in
    the rows' (FIFO) order.

    Args:
        rows: claimed trials (id, sweep_id, batch_key, seed, initializer, params, attempt,
            isolate), with the attempt of the new claim.
        specs: the specs of their sweeps.
        max_batch: the largest batch to make (at least 1).
    """
    groups: dict[tuple[int, str, int], list[ClaimedTrial]] = {}
    for row in rows:
        spec = specs.get(row.sweep_id).trial_for(row.seed, row.initializer, row.params)
        trial = ClaimedTrial(trial_id=row.id, attempt=row.attempt, spec=spec)
        # Each isolated trial gets a group key of its own (its id); the others share 0.
        key = (row.sweep_id, row.batch_key, row.id if row.isolate else 0)
        groups.setdefault(key, []).append(trial)
    size = max(1, max_batch)
    return [ClaimedBatch(sweep_id=sweep_id, batch_key=batch_key, trials=trials[i:i + size])
            for (sweep_id, batch_key, _), trials in groups.items()
            for i in range(0, len(trials), size)]
