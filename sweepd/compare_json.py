"""Comparisons as the JSON the API answers, cached as bytes (issue 19).

A comparison of a large sweep is a large document; re-validating and re-serialising the
pydantic model on every cached read cost more than the read itself. The API therefore keeps
the serialised bytes beside the model (`JsonCache`, same keys as
`sweepd.comparisons.ComparisonCache`: the sweep's `updated_at` is in the key, so bytes are
never stale) and a cached read is a sweep lookup and a dictionary hit.
"""

from __future__ import annotations

from sweepd import comparisons
from sweepd.analysis.models import Comparison
from sweepd.lru import SweepCache
from sweepd.ports import ResultReader


class JsonCache(SweepCache[bytes]):
    """Serialised comparisons, keyed like the `ComparisonCache`."""


def to_json(comparison: Comparison) -> bytes:
    return comparison.model_dump_json().encode()


def cached_json(store: ResultReader, owner_id: int, sweep_id: int, *, metric: str,
                tolerance: float, cache: comparisons.ComparisonCache,
                json_cache: JsonCache) -> bytes | None:
    """The comparison of the sweep as it is now, serialised, if computed before; else None.

    Raises:
        NotFound: no such sweep for this owner.
    """
    key = comparisons._key(store.get_sweep(owner_id, sweep_id), metric, tolerance)  # noqa: SLF001
    found = json_cache.get(key)
    if found is None and (model := cache.get(key)) is not None:  # computed by the web page
        found = to_json(model)
        json_cache.put(key, found)
    return found


def compare_json(store: ResultReader, owner_id: int, sweep_id: int, *, metric: str,
                 tolerance: float, cache: comparisons.ComparisonCache,
                 json_cache: JsonCache) -> bytes:
    """The comparison, computed (or from the model cache) and kept serialised.

    The key is read before the comparison: if a result lands meanwhile, the bytes are filed
    under the older key, which no later read asks for (never newer keys over older data).

    Raises:
        NotFound: no such sweep for this owner.
        InvalidSpec: a bad metric or tolerance.
    """
    key = comparisons._key(store.get_sweep(owner_id, sweep_id), metric, tolerance)  # noqa: SLF001
    body = to_json(comparisons.compare_sweep(store, owner_id, sweep_id, metric=metric,
                                             tolerance=tolerance, cache=cache))
    json_cache.put(key, body)
    return body
