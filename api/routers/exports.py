"""A whole sweep in one download: its trials as a table, or its weights stacked (issue 20).

    GET /api/v1/sweeps/{id}/export?format=parquet|csv          every trial, flat, with its curve
    GET /api/v1/sweeps/{id}/weights.safetensors?which=final    every finished trial's tensors

Both are estimated against `max_export_bytes` before anything is read, answer 422 above it, and
are built in the threadpool (these handlers are plain functions), off the event loop.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from sweepd import exports
from sweepd.errors import NotFound
from sweepd.records import TrialRecord
from sweepd.spec import SweepSpec
from sweepd.storage.store import Store
from sweepd_api.deps import CurrentUser, StoreDep, SweepId
from sweepd_api.openapi import problems

router = APIRouter(prefix="/sweeps", tags=["exports"], responses=problems(401, 404, 409, 422))

PAGE = 1_000
MEDIA = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv; charset=utf-8"}
Format = Annotated[Literal["parquet", "csv"], Query(
    description="parquet: typed columns, the curve as a list column; csv: lists as JSON text.")]
Which = Annotated[Literal["final", "initial"], Query(
    description="The trained weights or those the trials started from.")]


@router.get("/{sweep_id}/export", responses={200: {
    "description": "One row per trial: identity, state, the cell's spec fields, metrics, tail "
                   "metrics and the cost curve.",
    "content": {MEDIA["parquet"]: {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}}}}})
def export_sweep(sweep_id: SweepId, user: CurrentUser, store: StoreDep, request: Request,
                 format: Format = "parquet") -> Response:
    """Every trial of a sweep as one table, for pandas, DuckDB or a spreadsheet."""
    sweep = store.get_sweep(user.id, sweep_id)
    spec = SweepSpec.stored(sweep.spec)
    exports.check_budget(exports.estimate_bytes(spec, sweep.n_trials),
                         request.app.state.settings.max_export_bytes)
    rows = exports.trial_rows(spec, _all_trials(store, user.id, sweep_id, sweep.n_trials))
    body = exports.to_parquet(rows) if format == "parquet" else exports.to_csv(rows).encode()
    name = f"sweep-{sweep_id}.{format}"
    return Response(body, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/{sweep_id}/weights.safetensors", responses={200: {
    "description": "safetensors: each tensor stacked over trials (first axis), `trials` the "
                   "trial ids; metadata `which` and `sha256` (each trial's file digest).",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
def export_weights(sweep_id: SweepId, user: CurrentUser, store: StoreDep, request: Request,
                   which: Which = "final") -> Response:
    """The weights of every completed trial as one file, for analysis in NumPy or PyTorch."""
    sweep = store.get_sweep(user.id, sweep_id)
    first = store.weights_page(user.id, sweep_id, which, limit=1)
    if not first:
        raise NotFound(f"sweep {sweep_id} has no completed trial with {which} weights yet")
    done = sweep.counts.get("completed", 0)
    exports.check_budget(len(first[0][1]) * done, request.app.state.settings.max_export_bytes)
    blobs: list[tuple[int, bytes]] = []
    while page := store.weights_page(user.id, sweep_id, which,
                                     after_id=blobs[-1][0] if blobs else 0, limit=PAGE):
        blobs.extend(page)
    return Response(exports.stack_weights(blobs, which), media_type="application/octet-stream",
                    headers={"Content-Disposition":
                             f'attachment; filename="sweep-{sweep_id}-{which}.safetensors"'})


def _all_trials(store: Store, owner_id: int, sweep_id: int, n: int) -> list[TrialRecord]:
    out: list[TrialRecord] = []
    while len(out) < n:
        after = out[-1].id if out else None
        page, _ = store.list_trials(owner_id, sweep_id, limit=PAGE, after=after)
        if not page:
            break
        out.extend(page)
    return out
