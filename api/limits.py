"""Per-user quota on trials in flight (issue 6): a submission that would exceed it gets a 429.

The sweep-size limit is part of spec validation (`max_trials` context, a 422); this one depends
on what the user already has queued, so it is checked against the store before the write.

`count_in_flight` is written against the store's public contract (docs/architecture.md) by
paging through the user's sweeps and adding their pending and running counts. A dedicated
`Store.count_in_flight(owner_id)` (one aggregate query) would replace it one for one.
The check and the write are two transactions, so two submissions racing each other may both
pass: the quota bounds a user's queue, it is not an exact reservation.
"""

from __future__ import annotations

from sweepd.errors import LimitExceeded
from sweepd.settings import Settings
from sweepd.storage.store import Store

IN_FLIGHT_STATES = ("pending", "running")
_PAGE = 200


def count_in_flight(store: Store, owner_id: int, *,
                    idempotency_key: str | None = None) -> tuple[int, bool]:
    """How many of a user's trials are pending or running, over all their sweeps.

    Args:
        store: the store.
        owner_id: the user.
        idempotency_key: a key to look for while paging.

    Returns:
        The number of trials in flight, and whether a sweep with `idempotency_key` exists.
    """
    total, offset, seen_key = 0, 0, False
    while True:
        sweeps, n_sweeps = store.list_sweeps(owner_id, limit=_PAGE, offset=offset)
        total += sum(s.counts.get(state, 0) for s in sweeps for state in IN_FLIGHT_STATES)
        if idempotency_key is not None and not seen_key:
            seen_key = any(s.idempotency_key == idempotency_key for s in sweeps)
        offset += len(sweeps)
        if not sweeps or offset >= n_sweeps:
            return total, seen_key


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
    in_flight, repeated = count_in_flight(store, owner_id, idempotency_key=idempotency_key)
    if not repeated and in_flight + n_new > limit:
        raise LimitExceeded(f"you have {in_flight} trials pending or running; this sweep's "
                            f"{n_new} would exceed the limit of {limit} trials in flight. "
                            f"Wait for some to finish or cancel a sweep")
