"""Bounded admission: at most N jobs of a kind at once, and at most M of them per user.

A job past either cap is refused at once with `Busy` (429 + Retry-After), never queued: a
queue would hold a server thread or a connection per waiting request, which is exactly what a
flood exhausts. Replays, comparisons and event streams each have their own `Slots`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Hashable, Iterator
from contextlib import contextmanager

from sweepd.errors import Busy


class Slots:
    """Counts of jobs in progress, per key (the user) and in all.

    Args:
        kind: what the jobs are, for the refusal's message ("replays").
        total: jobs at once, all keys together.
        per_key: jobs at once for one key.
        retry_after: the seconds a refused client is told to wait.
    """

    def __init__(self, kind: str, *, total: int, per_key: int, retry_after: float) -> None:
        self.kind, self.total, self.per_key, self.retry_after = kind, total, per_key, retry_after
        self._held: Counter[Hashable] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        """Hold one slot for `key` while the block runs.

        Raises:
            Busy: `key` already holds `per_key` slots, or all `total` are held.
        """
        self.acquire(key)
        try:
            yield
        finally:
            self.release(key)

    def acquire(self, key: Hashable) -> None:
        """Take a slot (pair with `release`), or raise `Busy`."""
        with self._lock:
            if self._held[key] >= self.per_key:
                raise Busy(f"you already have {self._held[key]} {self.kind} in progress (at "
                           f"most {self.per_key}); retry when one has finished",
                           retry_after=self.retry_after)
            if sum(self._held.values()) >= self.total:
                raise Busy(f"the service is running its maximum of {self.total} {self.kind}; "
                           "retry shortly", retry_after=self.retry_after)
            self._held[key] += 1

    def release(self, key: Hashable) -> None:
        with self._lock:
            self._held[key] -= 1
            if self._held[key] <= 0:
                del self._held[key]

    def in_use(self, key: Hashable | None = None) -> int:
        """Slots held by `key`, or by everyone."""
        with self._lock:
            return self._held[key] if key is not None else sum(self._held.values())
