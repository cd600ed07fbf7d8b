"""Submitting a sweep: the one use case behind `POST /sweeps` and `Store`-level submissions.

Order matters and lives here once: the checks from the data's shape (every grid point can be
trained), then the resource budget (estimated compute, memory and storage under the caps of the
settings), then the per-user quota on trials in flight, then the write with the spec's hash
bound to the Idempotency-Key. The spec itself is already validated completely (`SweepSpec`).
Every path that stores a sweep for a user (REST, so the SDK and the CLI) comes through here.
"""

from __future__ import annotations

from typing import Any, Protocol

from sweepd.budget import check_budget
from sweepd.dataset_refs import resolve_uploaded
from sweepd.errors import LimitExceeded
from sweepd.records import DatasetRecord, SweepRecord
from sweepd.search import initial_points
from sweepd.settings import Settings
from sweepd.spec import SweepSpec, spec_hash
from sweepd.trainability import check_trainable


class SubmissionStore(Protocol):
    """What submitting needs of the store."""

    def find_sweep_by_key(self, owner_id: int, key: str) -> int | None: ...

    def count_in_flight(self, owner_id: int) -> int: ...

    def get_dataset(self, owner_id: int, ref: int | str) -> DatasetRecord: ...

    def submit_sweep(self, owner_id: int, spec: SweepSpec, *, idempotency_key: str | None = None,
                     body_hash: str | None = None,
                     search_points: list[dict[str, Any]] | None = None
                     ) -> tuple[SweepRecord, bool]: ...


def submit_sweep(store: SubmissionStore, settings: Settings, owner_id: int, spec: SweepSpec, *,
                 idempotency_key: str | None = None) -> tuple[SweepRecord, bool]:
    """Check and store a sweep, or return the one stored before under the same key.

    Args:
        store: where sweeps live.
        settings: the resource caps and the quota on trials in flight.
        owner_id: the submitting user.
        spec: the validated spec.
        idempotency_key: the client's key; a retry with the same spec returns the stored sweep.

    Returns:
        The sweep and True if it was created now, False if the key had stored it before.

    Raises:
        InvalidSpec: some grid point cannot be trained on its dataset.
        NotFound: an uploaded data set the spec names is not the user's.
        OverBudget: the estimated compute, memory or storage is over a cap of the settings.
        LimitExceeded: the user's trials in flight would exceed the quota.
        Conflict: the key was used before with another spec.
    """
    spec, uploaded = resolve_uploaded(store, owner_id, spec)
    check_trainable(spec, uploaded)
    check_budget(spec, settings, uploaded)
    check_in_flight(store, settings, owner_id, spec.n_trials, idempotency_key)
    points = initial_points(spec.search) if spec.search is not None else None
    return store.submit_sweep(owner_id, spec, idempotency_key=idempotency_key,
                              body_hash=spec_hash(spec), search_points=points)


def check_in_flight(store: SubmissionStore, settings: Settings, owner_id: int, n_new: int,
                    idempotency_key: str | None = None) -> None:
    """Refuse a submission that would take a user over `settings.max_trials_in_flight_per_user`.

    A repeated submission (its Idempotency-Key names a stored sweep) adds nothing and passes:
    the store answers it with the stored sweep, or a Conflict if the body differs. The check
    and the write are two transactions, so two submissions racing each other may both pass:
    the quota bounds a user's queue, it is not an exact reservation.

    Raises:
        LimitExceeded: the user's trials in flight plus `n_new` exceed the quota.
    """
    limit = settings.max_trials_in_flight_per_user
    repeated = (idempotency_key is not None
                and store.find_sweep_by_key(owner_id, idempotency_key) is not None)
    in_flight = store.count_in_flight(owner_id)
    if not repeated and in_flight + n_new > limit:
        raise LimitExceeded(f"you have {in_flight} trials pending or running; this sweep's "
                            f"{n_new} would exceed the limit of {limit} trials in flight. "
                            f"Wait for some to finish or cancel a sweep")
