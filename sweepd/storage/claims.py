"""Turning claimed trial rows into batches for the workers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sweepd.batching import group_batches
from sweepd.records import ClaimedBatch, ClaimedTrial
from sweepd.spec import SweepSpec


class SpecCache:
    """Parsed sweep specs, so that a claim validates each sweep's spec once, not per trial."""

    def __init__(self, specs: dict[int, tuple[dict[str, Any], int]]) -> None:
        self._raw = specs
        self._parsed: dict[int, SweepSpec] = {}

    def get(self, sweep_id: int) -> SweepSpec:
        if sweep_id not in self._parsed:
            raw, _ = self._raw[sweep_id]
            self._parsed[sweep_id] = SweepSpec.stored(raw)
        return self._parsed[sweep_id]


def build_batches(rows: Sequence[Any], specs: SpecCache, max_batch: int) -> list[ClaimedBatch]:
    """Group claimed rows into batches by the rule of `sweepd.batching`, in FIFO order.

    Args:
        rows: claimed trials (id, sweep_id, cell_key, batch_key, seed, initializer, params,
            attempt, isolate), with the attempt of the new claim.
        specs: the specs of their sweeps.
        max_batch: the largest batch to make (at least 1).
    """
    def claimed(row: Any) -> ClaimedTrial:
        spec = specs.get(row.sweep_id).trial_for(row.seed, row.initializer, row.params,
                                                   order_seed=row.order_seed,
                                                   data_seed=row.data_seed,
                                                   keys=(row.cell_key, row.batch_key))
        return ClaimedTrial(trial_id=row.id, attempt=row.attempt, spec=spec)

    return [ClaimedBatch(sweep_id=sweep_id, batch_key=key, trials=trials)
            for sweep_id, key, trials in group_batches(rows, claimed, max_batch)]
