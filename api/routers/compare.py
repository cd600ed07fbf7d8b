"""Comparison of a sweep's trials: statistics over seeds, paired tests, solutions modulo symmetry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from sweepd import comparisons
from sweepd.analysis.models import Comparison, Metric, PairComparison
from sweepd_api.deps import CurrentUser, StoreDep, SweepId
from sweepd_api.openapi import problems

router = APIRouter(prefix="/sweeps/{sweep_id}/compare", tags=["compare"],
                   responses=problems(401, 404, 422))

MetricQuery = Annotated[Metric, Query(description="The value paired comparisons use.")]
Tolerance = Annotated[float, Query(gt=0, le=10, description="Largest aligned relative "
                                   "distance within one solution (complete linkage).")]
TrialRef = Annotated[int, Query(ge=1, le=2**63 - 1, description="A trial id of this sweep.")]


@router.get("", response_model=Comparison)
def compare_sweep(sweep_id: SweepId, user: CurrentUser, store: StoreDep, request: Request,
                  metric: MetricQuery = "test_accuracy", tolerance: Tolerance = 0.05,
                  ) -> Comparison:
    """The verdict first — is it OK that the weights differ, which initializer to use, how
    many more seeds — as a short `text` and structured parts per grid point; then per
    initializer (and grid point) outcome statistics, failures, distinct solutions modulo
    symmetry and whether the runs compute the same function; between initializers, paired
    tests over seeds. A sweep still running is compared on its finished trials
    (`partial: true`)."""
    return comparisons.compare_sweep(store, user.id, sweep_id, metric=metric,
                                     tolerance=tolerance, cache=request.app.state.comparisons)


@router.get("/pair", response_model=PairComparison, responses=problems(409))
def compare_pair(sweep_id: SweepId, a: TrialRef, b: TrialRef, user: CurrentUser,
                 store: StoreDep) -> PairComparison:
    """Two trials: raw and aligned distance, prediction disagreement, loss barrier along the
    straight line raw and after alignment, and linear CKA of hidden activations."""
    return comparisons.compare_pair(store, user.id, sweep_id, a, b)
