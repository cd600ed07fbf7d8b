"""Trials of a sweep: list (paged, filtered), get one, download its weights, replay it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from sweepd import comparisons
from sweepd.schemas import TrialPublic, TrialsPublic
from sweepd.settings import Settings
from sweepd.slots import Slots
from sweepd.spec import SEED_LIMIT
from sweepd.states import TrialState
from sweepd_api.convert import trial_public, trials_public, weights_json
from sweepd_api.deps import (
    DEFAULT_LIMIT,
    MAX_TRIAL_ID,
    CurrentUser,
    Limit,
    Offset,
    StoreDep,
    SweepId,
    TrialId,
)
from sweepd_api.openapi import problems

router = APIRouter(prefix="/sweeps/{sweep_id}/trials", tags=["trials"],
                   responses=problems(401, 404, 422))

# JSON weights are for small networks and notebooks; a large one is a safetensors download.
MAX_JSON_WEIGHTS = 1_000_000
SAFETENSORS = "application/octet-stream"

StateFilter = Annotated[TrialState | None, Query(description="Only trials in this state.")]
InitializerFilter = Annotated[str | None, Query(max_length=255, description="Only trials of "
                                                "this initializer label, e.g. `he_normal`.")]
After = Annotated[int | None, Query(ge=0, le=MAX_TRIAL_ID, description=(
    "Only trials after this id: the previous page's `next_after` (not with `offset`)."))]
SeedFilter = Annotated[int | None, Query(ge=0, lt=SEED_LIMIT, description="Only this seed.")]
Which = Annotated[Literal["final", "initial"], Query(description="The trained weights or "
                                                     "those it started from.")]
Canonical = Annotated[bool, Query(description="Hidden units in canonical form: sign-flipped "
                                 "and sorted, so that equivalent solutions look alike.")]
Format = Annotated[Literal["safetensors", "json"], Query(description="`json`: nested lists.")]

_WEIGHTS_200 = {
    "description": "The weights as a safetensors file, or as JSON with `format=json`.",
    "content": {SAFETENSORS: {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"$ref": "#/components/schemas/WeightsJson"}}},
    "headers": {"X-Content-SHA256": {"description": "sha256 of the safetensors file",
                                     "schema": {"type": "string"}}},
}


@router.get("")
def list_trials(sweep_id: SweepId, user: CurrentUser, store: StoreDep, state: StateFilter = None,
                initializer: InitializerFilter = None, seed: SeedFilter = None,
                limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
                after: After = None) -> TrialsPublic:
    """A page of a sweep's trials in id order, optionally filtered.

    Page with `after` (the previous page's `next_after`): each page is one index seek at any
    depth, and no trial is skipped or repeated while trials change state. `offset` still
    works, at a cost that grows with the offset.
    """
    records, total = store.list_trials(user.id, sweep_id, state=state, initializer=initializer,
                                       seed=seed, limit=limit, offset=offset, after=after)
    return trials_public(records, total, limit, offset)


@router.get("/{trial_id}")
def get_trial(sweep_id: SweepId, trial_id: TrialId, user: CurrentUser,
              store: StoreDep) -> TrialPublic:
    """One trial: seed, initializer, state, attempt, node and device, error, and its result
    (costs, accuracies, curve, environment)."""
    return trial_public(store.get_trial(user.id, sweep_id, trial_id))


@router.get("/{trial_id}/weights", response_class=Response,
            responses={200: _WEIGHTS_200, 304: {"description": "Not modified (ETag)"},
                       **problems(400)})
def download_weights(sweep_id: SweepId, trial_id: TrialId, user: CurrentUser, store: StoreDep,
                     which: Which = "final", format: Format = "safetensors",
                     canonical: Canonical = False,
                     if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
                     ) -> Response:
    """A trial's weights: a safetensors file whose sha256 is in `ETag` and `X-Content-SHA256`."""
    if canonical:
        data, sha256 = comparisons.canonical_weights(store, user.id, sweep_id, trial_id, which)
    else:
        data, sha256 = store.get_weights(user.id, sweep_id, trial_id, which)
    if format == "json":
        body = weights_json(data, sha256, max_values=MAX_JSON_WEIGHTS)
        return JSONResponse(body.model_dump(mode="json"), headers={"X-Content-SHA256": sha256})
    headers = {"ETag": f'"{sha256}"', "X-Content-SHA256": sha256}
    if if_none_match is not None and (f'"{sha256}"' in if_none_match
                                      or if_none_match.strip() == "*"):
        return Response(status_code=304, headers=headers)
    kind = f"{which}-canonical" if canonical else which
    filename = f"sweep-{sweep_id}-trial-{trial_id}-{kind}.safetensors"
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(data, media_type=SAFETENSORS, headers=headers)


replay_router = APIRouter(prefix="/sweeps/{sweep_id}/trials", tags=["trials"],
                          responses=problems(401, 404, 422))


@replay_router.post("/{trial_id}/replay", responses=problems(409, 429, 502, 503))
def replay_trial(sweep_id: SweepId, trial_id: TrialId, user: CurrentUser,
                 request: Request) -> dict[str, Any]:
    """Train the trial again through the same code path and say whether its weights match.

    Replays run a few at a time (`SWEEPD_REPLAY_MAX_CONCURRENT`, `SWEEPD_REPLAY_MAX_PER_USER`);
    one more is refused at once with 429 and `Retry-After`, so a flood holds no server threads.
    A worker that dies answers 502, a replay over its time budget 503. Only present when the
    service runs with an executor (`create_app(replay=...)`).
    """
    with request.app.state.replay_slots.hold(user.id):
        return request.app.state.replay(user.id, sweep_id, trial_id)


def replay_slots(settings: Settings) -> Slots:
    """The admission of replays (`app.state.replay_slots`)."""
    return Slots("replays", total=settings.replay_max_concurrent,
                 per_key=settings.replay_max_per_user, retry_after=settings.retry_after_seconds)
