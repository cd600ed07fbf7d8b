"""Which trials train together, and how many: the batching rule's one home.

Trials share a batch when they share everything but their seed, order seed and initializer:
the grid point's dataset, model and training, the data draw, the store options and the bias
initializer (their `batch_key`). A batch holds trials of one sweep only; a trial released after its batch
failed (`isolate`) trains alone, so a poison trial cannot take its batch-mates down twice.
The dispatcher sizes batches so that every free slot gets work, up to a cap per device kind.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def batch_key(sections: Mapping[str, Any], store: Any, bias: Any, *,
              data_seed: int | None = None) -> str:
    """The key trials of one batch share: a digest of the grid point's resolved sections
    (dataset, model, training, as JSON), the store options and the bias initializer, and of
    the data draw when it is not the default (trials of one batch share their data)."""
    payload = {**sections, "store": store, "bias": bias}
    if data_seed is not None:
        payload["data_seed"] = data_seed
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def group_batches(rows: Iterable[Any], make: Callable[[Any], T],
                  max_batch: int) -> list[tuple[int, str, list[T]]]:
    """Group claimed rows into (sweep_id, batch_key, items) batches, in the rows' order.

    Args:
        rows: claimed trials with `id`, `sweep_id`, `batch_key` and `isolate`.
        make: turns a row into the batch's item.
        max_batch: the largest batch (at least 1).
    """
    groups: dict[tuple[int, str, int], list[T]] = {}
    for row in rows:
        # Each isolated trial gets a group key of its own (its id); the others share 0.
        key = (row.sweep_id, row.batch_key, row.id if row.isolate else 0)
        groups.setdefault(key, []).append(make(row))
    size = max(1, max_batch)
    return [(sweep_id, key, items[i:i + size])
            for (sweep_id, key, _), items in groups.items()
            for i in range(0, len(items), size)]


def batch_size(pending: int, slots: int, cap: int) -> int:
    """Trials per batch: the pending trials spread over the slots, at most `cap`."""
    return max(1, min(cap, math.ceil(pending / max(1, slots))))
