"""Per-user quota on trials in flight (issue 6): a submission that would exceed it gets a 429.

The sweep-size limit is part of spec validation (`max_trials` context, a 422); this one depends
on what the user already has queued, so it is checked against the store before the write.

The check and the write are two transactions, so two submissions racing each other may both
pass: the quota bounds a user's queue, it is not an exact reservation.
"""

from __future__ import annotations

from sweepd.errors import LimitExceeded
from sweepd.settings import Settings
from sweepd.storage.store import Store

def check_in_flight(store: Store, settings: Settings, owner_id: int, n_new: int,
                    idempotency_key: str | None = None) -> None:
    """Refuse a submission that would take a user over `settings.max_trials_in_flight_per_user`.

    A repeated submission (its Idempotency-Key names a stored sweep) adds nothing and passes:
    the store answers it with the stored sweep, or a 409 if the body differs.

    Args:
        store: the store.
        settings: the service settings.
        owner_id: the submitting user.
        n_new: the trials the new sweep would add.
        idempotency_key: the submission's key, if any.

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
