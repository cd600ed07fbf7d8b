"""What the use cases and the workers need of the store, as typed contracts (ports).

`sweepd.storage.Store` implements all of them; a test double or another backend implements the
one it stands in for. Named after the consumer's need, as Optuna's `BaseStorage` names its
contract: `ResultReader` for the comparison and the replayer, `DispatchStore` for the one
active dispatcher. (`sweepd.submission.SubmissionStore` is the submission's own.)
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from sweepd.records import (
    ClaimedBatch,
    Fenced,
    ResultItem,
    SweepRecord,
    TrialRecord,
)


class ResultReader(Protocol):
    """Owner-scoped reads of a sweep, its trials, results and weights."""

    def get_sweep(self, owner_id: int, sweep_id: int) -> SweepRecord: ...

    def get_trial(self, owner_id: int, sweep_id: int, trial_id: int) -> TrialRecord: ...

    def list_trials(self, owner_id: int, sweep_id: int, *, state: str | None = None,
                    initializer: str | None = None, seed: int | None = None, limit: int,
                    offset: int) -> tuple[list[TrialRecord], int]: ...

    def get_weights(self, owner_id: int, sweep_id: int, trial_id: int,
                    which: Literal["final", "initial"] = "final") -> tuple[bytes, str]: ...

    def dataset_blob(self, sha256: str) -> bytes: ...  # an uploaded data set, for a replay

    def sweep_results(self, owner_id: int, sweep_id: int) -> list[tuple[TrialRecord, bytes]]: ...


class DispatchStore(Protocol):
    """Leadership, claims, leases, results and releases, for the one active dispatcher."""

    engine: Any  # the SQLAlchemy engine (the fault hooks attach to it in tests)

    def acquire_leadership(self, holder: str, ttl_seconds: float) -> bool: ...

    def release_leadership(self, holder: str) -> None: ...

    def release_orphans(self, holder: str) -> int: ...

    def count_pending(self) -> int: ...

    def cancelled_sweep_ids(self, sweep_ids: list[int] | set[int]) -> set[int]: ...

    def dataset_blob(self, sha256: str) -> bytes: ...  # an uploaded data set, for the workers

    def claim_trials(self, *, holder: str, max_trials: int, max_batch: int,
                     lease_seconds: float) -> list[ClaimedBatch]: ...

    def renew_leases(self, items: list[tuple[int, int]], lease_seconds: float,
                     progress: dict[int, float] | None = None) -> int: ...

    def record_results(self, items: list[ResultItem]) -> Fenced: ...

    def release_trials(self, items: list[tuple[int, int]], error: str, *,
                       isolate: bool) -> None: ...

    def reap_expired_leases(self) -> list[int]: ...

    # searches (sweepd.search_driver)
    def open_search_sweeps(self) -> list[Any]: ...

    def search_trials(self, sweep_id: int) -> list[dict[str, Any]]: ...

    def add_search_trials(self, sweep_id: int, rows: list[dict[str, Any]]) -> int: ...

    def end_search(self, sweep_id: int) -> None: ...
