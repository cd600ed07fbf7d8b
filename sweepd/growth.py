"""Growing a sweep: the use case behind `POST /api/v1/sweeps/{id}/seeds`.

The new seeds make the same cells a sweep that asked for them at once has: the same
`cell_key`s, batch keys and everything they train (`SweepSpec.cells`), so their results are
bitwise those of that sweep. The order of checks is that of a submission: the request itself,
the sweep's kind and state, the grown size under the trial limit, the resource budget, the
owner's quota on trials in flight, then one write bound to the Idempotency-Key.
"""

from __future__ import annotations

from typing import Any, Protocol

from sweepd.budget import check_budget
from sweepd.errors import Conflict, InvalidSpec
from sweepd.records import GrowthRecord, SweepRecord
from sweepd.schemas import SeedsAdd
from sweepd.settings import Settings
from sweepd.spec import SEED_LIMIT, SweepSpec, _digest_hex, initializer_label
from sweepd.spec_seeds import seeds_after
from sweepd.storage.store_sweeps import cell_rows
from sweepd.submission import check_in_flight


class GrowthPort(Protocol):
    """What growing needs of the store."""

    def get_sweep(self, owner_id: int, sweep_id: int) -> SweepRecord: ...

    def find_sweep_by_key(self, owner_id: int, key: str) -> int | None: ...

    def count_in_flight(self, owner_id: int) -> int: ...

    def find_growth(self, owner_id: int, sweep_id: int, key: str,
                    body_hash: str) -> GrowthRecord | None: ...

    def grow_sweep(self, owner_id: int, sweep_id: int, *, base_spec: dict[str, Any],
                   spec: dict[str, Any], rows: list[dict[str, Any]], added: dict[str, Any],
                   key: str | None = None, body_hash: str | None = None
                   ) -> tuple[SweepRecord, GrowthRecord, bool]: ...


def add_seeds(store: GrowthPort, settings: Settings, owner_id: int, sweep_id: int,
              request: SeedsAdd, *, idempotency_key: str | None = None
              ) -> tuple[SweepRecord, GrowthRecord, bool]:
    """Add seeds to one of the owner's sweeps; a finished sweep runs again.

    Returns:
        The grown sweep, the growth, and False when the Idempotency-Key had added it before.

    Raises:
        NotFound: no such sweep, or not the owner's.
        Conflict: a cancelled, search or adaptive sweep; the key used with another body.
        InvalidSpec: a seed already in the sweep, an unknown initializer, the grown sweep over
            the trial limit.
        OverBudget: the grown sweep's estimated cost over a cap.
        LimitExceeded: the owner's trials in flight would exceed the quota.
    """
    body_hash = _digest_hex({"sweep": sweep_id, **request.model_dump(mode="json")})
    if idempotency_key is not None:
        stored = store.find_growth(owner_id, sweep_id, idempotency_key, body_hash)
        if stored is not None:
            return store.get_sweep(owner_id, sweep_id), stored, False
    sweep = store.get_sweep(owner_id, sweep_id)
    spec = SweepSpec.stored(sweep.spec)
    _check_growable(sweep, spec)
    new = _new_seeds(spec, request)
    chosen = _initializers(spec, request.initializers)
    n_new = len(new) * len(chosen) * spec.n_grid_points
    limit = settings.max_trials_per_sweep
    if sweep.n_trials + n_new > limit:
        raise InvalidSpec(f"adding {len(new)} seeds × {len(chosen)} initializers × "
                          f"{spec.n_grid_points} grid points = {n_new} trials would take sweep "
                          f"{sweep_id} to {sweep.n_trials + n_new} trials, over the limit of "
                          f"{limit} trials per sweep")
    try:
        grown = SweepSpec.stored({**sweep.spec, "seeds": _dump(seeds_after(spec.seeds, new))})
    except ValueError as exc:  # pydantic's ValidationError: e.g. over 100 000 seeds
        raise InvalidSpec(f"the grown sweep is not a valid spec: {_first_error(exc)}") from None
    check_budget(grown, settings)  # every initializer at every seed: an upper bound
    check_in_flight(store, settings, owner_id, n_new)
    rows = cell_rows(grown.keyed_cells(new, chosen, grown.grid_points()))
    labels = None if request.initializers is None else [initializer_label(i) for i in chosen]
    return store.grow_sweep(owner_id, sweep_id, base_spec=sweep.spec,
                            spec=grown.model_dump(mode="json"), rows=rows,
                            added={"seeds": new, "initializers": labels},
                            key=idempotency_key, body_hash=body_hash)


def _check_growable(sweep: SweepRecord, spec: SweepSpec) -> None:
    if sweep.state == "cancelled":
        raise Conflict(f"sweep {sweep.id} was cancelled and cannot grow; submit a new sweep")
    if spec.search is not None:
        raise Conflict(f"sweep {sweep.id} is a search: it grows by its points "
                       "(search.points), not by seeds")
    if spec.adaptive is not None:
        raise Conflict(f"sweep {sweep.id} has adaptive seeds: it adds its own blocks until "
                       "decided; submit a sweep with more `max` seeds instead")


def _new_seeds(spec: SweepSpec, request: SeedsAdd) -> list[int]:
    have = spec.seed_values
    if request.count is not None:
        first = max(have) + 1
        if first + request.count > SEED_LIMIT:
            raise InvalidSpec(f"the next {request.count} seeds after {first - 1} pass 2**63")
        return list(range(first, first + request.count))
    assert request.seeds is not None
    taken = set(have)
    repeated = [s for s in request.seeds if s in taken]
    if repeated:
        raise InvalidSpec(f"seed {repeated[0]} is in the sweep already"
                          + (f" (and {len(repeated) - 1} more)" if len(repeated) > 1 else ""))
    return list(request.seeds)


def _initializers(spec: SweepSpec, labels: list[str] | None) -> list[Any]:
    if labels is None:
        return list(spec.initializers)
    known = {initializer_label(i): i for i in spec.initializers}
    unknown = [label for label in labels if label not in known]
    if unknown:
        raise InvalidSpec(f"initializer {unknown[0]!r} is not in this sweep; it has: "
                          + ", ".join(known))
    wanted = set(labels)
    return [i for label, i in known.items() if label in wanted]


def _dump(seeds: Any) -> Any:
    return seeds if isinstance(seeds, list) else seeds.model_dump(mode="json")


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)

