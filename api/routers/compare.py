"""Comparison of a sweep's trials: statistics over seeds, paired tests, solutions modulo symmetry.

A comparison can be long work (alignments of every pair of runs), so it never runs on the event
loop or in the request threadpool: `ComparisonRunner` computes at most
`compare_max_concurrent` of them at once in threads of its own, one computation per distinct
question (a second request for the same comparison waits for the first), and answers 503 with
`Retry-After` after `compare_timeout_seconds`: the computation goes on and its result lands in
the cache, where the retry finds it. Past the concurrency cap a new question is refused at
once (429 + `Retry-After`). The work itself is bounded too (`sweepd.comparisons.CompareLimits`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from sweepd import compare_json, comparisons
from sweepd.analysis.models import Comparison, Metric, PairComparison
from sweepd.errors import Busy, TimedOut
from sweepd.settings import Settings
from sweepd_api.deps import CurrentUser, StoreDep, SweepId
from sweepd_api.openapi import problems

router = APIRouter(prefix="/sweeps/{sweep_id}/compare", tags=["compare"],
                   responses=problems(401, 404, 422, 429, 503))

MetricQuery = Annotated[Metric, Query(description="The value paired comparisons use.")]
Tolerance = Annotated[float, Query(gt=0, le=10, description="Largest aligned relative "
                                   "distance within one solution (complete linkage).")]
TrialRef = Annotated[int, Query(ge=1, le=2**63 - 1, description="A trial id of this sweep.")]
T = TypeVar("T")


class ComparisonRunner:
    """Comparisons computed off the event loop, a few at a time, each with a time budget.

    Args:
        settings: `compare_max_concurrent`, `compare_timeout_seconds`, `retry_after_seconds`
            and the work limits (those of `compare/pair`; a sweep's are its cache's).
    """

    def __init__(self, settings: Settings) -> None:
        self.limits = comparisons.CompareLimits.from_settings(settings)
        self.timeout = settings.compare_timeout_seconds
        self.capacity = settings.compare_max_concurrent
        self.retry_after = settings.retry_after_seconds
        self._pool = ThreadPoolExecutor(self.capacity, thread_name_prefix="sweepd-compare")
        self._running: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()

    async def run(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The result of `compute()`, shared with a running computation of the same `key`.

        Raises:
            Busy: `compare_max_concurrent` other comparisons are being computed.
            TimedOut: no result within `compare_timeout_seconds` (the computation goes on).
        """
        future = self._start(key, compute)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)),
                                          self.timeout)
        except TimeoutError:
            raise TimedOut(f"the comparison is still being computed after {self.timeout:g} s; "
                           "it goes on, and a retry returns it once it is done",
                           retry_after=self.retry_after) from None

    def _start(self, key: Hashable, compute: Callable[[], Any]) -> Future[Any]:
        with self._lock:
            if key in self._running:
                return self._running[key]
            if len(self._running) >= self.capacity:
                raise Busy(f"the service is computing its maximum of {self.capacity} "
                           "comparisons; retry shortly", retry_after=self.retry_after)
            future = self._pool.submit(compute)
            self._running[key] = future
        future.add_done_callback(lambda _: self._done(key))
        return future

    def _done(self, key: Hashable) -> None:
        with self._lock:
            self._running.pop(key, None)

    def start(self) -> None:
        """Take comparisons again after a `shutdown` (an app started anew in one process)."""
        with self._lock:
            if self._pool._shutdown:  # noqa: SLF001  (no public flag; set by shutdown())
                self._pool = ThreadPoolExecutor(self.capacity, thread_name_prefix="sweepd-compare")
                self._running.clear()

    def shutdown(self) -> None:
        """Drop the comparisons not yet started; those running finish on their own."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def runner(request: Request) -> ComparisonRunner:
    return request.app.state.compare_runner


@router.get("", response_model=Comparison)
async def compare_sweep(sweep_id: SweepId, user: CurrentUser, store: StoreDep, request: Request,
                        metric: MetricQuery = "test_accuracy", tolerance: Tolerance = 0.05,
                        ) -> Response:
    """The verdict first — is it OK that the weights differ, which initializer to use, how
    many more seeds — as a short `text` and structured parts per grid point; then per
    initializer (and grid point) outcome statistics, failures, distinct solutions modulo
    symmetry and whether the runs compute the same function; between initializers, paired
    tests over seeds. A sweep still running is compared on its finished trials
    (`partial: true`). Work is bounded: a large group's solutions are clustered over a
    sample of its runs, stated in `notes`; a sweep of more than 4 000 trials (not adaptive) is
    compared on a seeded random sample of about 4 000 (whole seeds), stated in `sample` and
    `notes`; a comparison not done within the time budget answers 503 with `Retry-After`
    (it goes on, and the retry finds it cached)."""
    # Served as the cached JSON bytes (issue 19): a cached read does not re-validate the model.
    caches = {"cache": request.app.state.comparisons,
              "json_cache": request.app.state.comparison_json}
    found = await run_in_threadpool(partial(compare_json.cached_json, store, user.id,
                                            sweep_id, metric=metric, tolerance=tolerance,
                                            **caches))
    if found is None:
        work = runner(request)
        found = await work.run(("sweep", user.id, sweep_id, metric, float(tolerance)), partial(
            compare_json.compare_json, store, user.id, sweep_id, metric=metric,
            tolerance=tolerance, **caches))
    return Response(found, media_type="application/json")


@router.get("/pair", response_model=PairComparison, responses=problems(409))
async def compare_pair(sweep_id: SweepId, a: TrialRef, b: TrialRef, user: CurrentUser,
                       store: StoreDep, request: Request) -> PairComparison:
    """Two trials: raw and aligned distance, prediction disagreement, loss barrier along the
    straight line raw and after alignment, and linear CKA of hidden activations (refused
    for hidden layers wider than the alignment cap)."""
    work = runner(request)
    return await work.run(("pair", user.id, sweep_id, a, b), partial(
        comparisons.compare_pair, store, user.id, sweep_id, a, b, limits=work.limits))
