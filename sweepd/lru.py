"""A small thread-safe LRU cache of finished sweeps' derived values (comparisons, figures).

Keys include the sweep's `updated_at`, which moves with every write, so an entry never goes
stale; only values of sweeps in a final state are kept (a running sweep's would be replaced at
once).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sweepd.records import SweepRecord
from sweepd.states import FINAL_SWEEP_STATES

V = TypeVar("V")


class SweepCache(Generic[V]):
    """At most `size` values, least recently used evicted first."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def fetch(self, sweep: SweepRecord, kind: Hashable, compute: Callable[[], V]) -> V:
        """The value of `kind` for `sweep`: cached, or computed (and kept if the sweep is final)."""
        key = (kind, sweep.id, sweep.updated_at)
        found = self.get(key)
        if found is not None:
            return found
        value = compute()
        if sweep.state in FINAL_SWEEP_STATES:
            self.put(key, value)
        return value
