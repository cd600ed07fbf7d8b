"""Growing a sweep: add seeds (idempotent), and the history of its growths."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response
from fastapi.concurrency import run_in_threadpool

from sweepd import growth
from sweepd.records import GrowthRecord
from sweepd.schemas import GrowthPublic, GrowthsPublic, SeedsAdd, SeedsAdded
from sweepd_api.convert import sweep_public
from sweepd_api.deps import CurrentUser, IdempotencyKey, NewTrials, SettingsDep, StoreDep, SweepId
from sweepd_api.openapi import problems

SEEDS_EXAMPLES = {
    "count": {"summary": "The next 8 seeds, for every initializer", "value": {"count": 8}},
    "some": {"summary": "Seeds 100 and 101 for glorot_uniform only",
             "value": {"seeds": [100, 101], "initializers": ["glorot_uniform"]}},
}
SeedsBody = Annotated[SeedsAdd, Body(openapi_examples=SEEDS_EXAMPLES)]

router = APIRouter(prefix="/sweeps", tags=["sweeps"], responses=problems(401))


@router.post("/{sweep_id}/seeds", status_code=201,
             responses={200: {"model": SeedsAdded, "description": "Added before under this "
                              "Idempotency-Key with the same body: the stored growth"},
                        **problems(400, 404, 409, 413, 422, 429)})
async def add_seeds(sweep_id: SweepId, body: SeedsBody, user: CurrentUser, key: IdempotencyKey,
                    store: StoreDep, settings: SettingsDep, response: Response,
                    new_trials: NewTrials) -> SeedsAdded:
    """Add seeds to a sweep: `{"count": N}` (the next N unused seeds) or `{"seeds": [...]}`,
    optionally for some `initializers` only.

    The new trials are the same cells (the same `cell_key`s, so bitwise the same results) as
    if the sweep had asked for these seeds from the start; a finished sweep runs again. The
    trial limit, the resource budget and the quota on trials in flight apply to the grown
    sweep. With an `Idempotency-Key`, a repeated request adds nothing and returns the stored
    growth (200); the same key with another body is refused (409). Cancelled, search and
    adaptive sweeps cannot grow this way (409).
    """
    record, grown, created = await run_in_threadpool(
        growth.add_seeds, store, settings, user.id, sweep_id, body, idempotency_key=key)
    if created:
        new_trials()
    response.status_code = 201 if created else 200
    return SeedsAdded(sweep=sweep_public(record), growth=growth_public(grown))


@router.get("/{sweep_id}/growths", responses=problems(404, 422))
def list_growths(sweep_id: SweepId, user: CurrentUser, store: StoreDep) -> GrowthsPublic:
    """How the sweep grew, oldest first: seeds its owner added and the adaptive rule's blocks,
    each with the decision state that asked for it (the rule's last row says why it stopped)."""
    return GrowthsPublic(items=[growth_public(g) for g in store.list_growths(user.id, sweep_id)])


def growth_public(record: GrowthRecord) -> GrowthPublic:
    return GrowthPublic.model_validate(record.model_dump(include=set(GrowthPublic.model_fields)))
