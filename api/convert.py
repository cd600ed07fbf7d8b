"""Store records → public schemas, field by field (schemas are not tables).

Each public model names the fields it shows; a record field not listed there (the owner id, a
future internal column) stays out of responses without anyone having to remember it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sweepd import weights
from sweepd.errors import BadRequest
from sweepd.records import SweepRecord, TrialRecord
from sweepd.schemas import (
    SweepProgress,
    SweepPublic,
    SweepsPublic,
    TrialPublic,
    TrialsPublic,
    WeightsJson,
)


def sweep_public(record: SweepRecord) -> SweepPublic:
    return SweepPublic.model_validate(record.model_dump(include=set(SweepPublic.model_fields)))


def sweeps_public(records: list[SweepRecord], total: int, limit: int, offset: int) -> SweepsPublic:
    return SweepsPublic(items=[sweep_public(r) for r in records], total=total, limit=limit,
                        offset=offset)


def trial_public(record: TrialRecord) -> TrialPublic:
    """The public trial, read from the record's attributes in one validation (result included).

    Dumping the record and its result to dicts and validating those took 15–18 µs a trial,
    this 10 µs (1 000 completed trials, issue 19): the event stream converts every trial a
    sweep finishes. Fields the public model does not name are not read, as before.
    """
    return TrialPublic.model_validate(record, from_attributes=True)


def trials_public(records: list[TrialRecord], total: int, limit: int, offset: int) -> TrialsPublic:
    # A full page may have more after it; a short one is the last (one query, no look-ahead).
    after = records[-1].id if records and len(records) == limit else None
    return TrialsPublic(items=[trial_public(r) for r in records], total=total, limit=limit,
                        offset=offset, next_after=after)


def sweep_progress(record: SweepRecord) -> SweepProgress:
    return SweepProgress(sweep_id=record.id, state=record.state, n_trials=record.n_trials,
                         counts=record.counts, progress=record.progress)


def weights_json(data: bytes, sha256: str, *, max_values: int) -> WeightsJson:
    """Safetensors bytes as nested lists; NaN and ±inf (a diverged trial) become null.

    Raises:
        BadRequest: the weights hold more than `max_values` numbers, too many to send as JSON.
    """
    arrays = weights.unpack(data)
    size = sum(int(a.size) for a in arrays.values())
    if size > max_values:
        raise BadRequest(f"these weights hold {size} numbers, too many for JSON (limit "
                         f"{max_values}): download the safetensors file instead")
    tensors = {name: _nested(array) for name, array in arrays.items()}
    return WeightsJson.model_validate({**tensors, "sha256": sha256})


def _nested(array: np.ndarray) -> list[Any]:
    values = array.astype(object)
    values[~np.isfinite(array)] = None
    return values.tolist()
