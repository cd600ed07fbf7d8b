"""The comparison's result types: strict, frozen pydantic models that serialise to JSON.

This module imports only pydantic (and pandas lazily, in `to_pandas`), so a light client can
parse a comparison without NumPy or SciPy: `sweepd.analysis` loads its maths lazily.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from sweepd.analysis.verdict_models import Verdict

Metric = Literal["test_accuracy", "train_accuracy", "train_cost_tail", "train_cost", "test_cost",
                 "test_accuracy_tail", "train_accuracy_tail", "test_cost_tail"]
METRICS: tuple[str, ...] = Metric.__args__  # type: ignore[attr-defined]
SUMMARY_METRICS = METRICS
# Means over the last steps (TrialResult.tail): the verdict ranks on these (issue 11).
TAIL_METRICS = {"test_accuracy_tail": "test_accuracy", "train_accuracy_tail": "train_accuracy",
                "test_cost_tail": "test_cost"}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Summary(_Model):
    """One metric over seeds; fields are None where undefined (std and CIs need two values).

    `ci_low`/`ci_high` bound the mean (Student t); `iqm_ci_low`/`iqm_ci_high` bound the
    interquartile mean (percentile bootstrap over seeds, as rliable does).
    """

    n: int
    mean: float | None = None
    std: float | None = None
    median: float | None = None
    iqm: float | None = None
    min: float | None = None
    max: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    iqm_ci_low: float | None = None
    iqm_ci_high: float | None = None
    level: float = 0.95


class PairedStats(_Model):
    """A vs B over shared seeds: difference of means (A − B) and P(A beats B), ties ½."""

    n_pairs: int
    mean_a: float | None = None
    mean_b: float | None = None
    difference: float | None = None
    difference_ci_low: float | None = None
    difference_ci_high: float | None = None
    p_a_beats_b: float | None = None
    p_ci_low: float | None = None
    p_ci_high: float | None = None
    larger_is_better: bool = True
    level: float = 0.95
    min_pairs: int
    note: str | None = None


class TrialDiagnostics(_Model):
    """What went wrong (or right) in one finished trial. See `sweepd.analysis.diagnostics`."""

    trial_id: int
    seed: int
    diverged: bool
    symmetry_never_broken: bool
    dead_units: int
    stuck_at_chance: bool
    effective_units: list[int] | None  # per hidden layer; None when the weights are not finite
    tail_change: float | None  # relative change of the training cost over the curve's tail
    value: float | None = None  # the ranked metric (tail-averaged accuracy)
    oscillating: bool | None = None  # a period-2 cycle at the end (None: not recorded)
    accuracy_gap: float | None = None  # accuracy difference between the cycle's two phases


class Failures(_Model):
    """Counts of trials per failure kind (one trial may count in several; `any` counts each
    trial once, so it never exceeds the group's trials)."""

    any: int = 0  # trials with at least one of the kinds below
    failed: int = 0  # ended without a result (state "failed")
    diverged: int = 0
    symmetry_never_broken: int = 0
    dead_units: int = 0  # trials with at least one dead hidden unit
    stuck_at_chance: int = 0


class SolutionCluster(_Model):
    size: int
    trial_ids: list[int]
    representative_trial_id: int  # the medoid
    mean_accuracy: float | None


class Solutions(_Model):
    """Distinct solutions modulo symmetry among a group's finite-weight trials."""

    n_trials: int  # trials clustered
    n_left_out: int  # finite trials beyond the pair budget (max_pairs)
    tolerance: float  # on the aligned relative distance, complete linkage
    n_solutions: int
    clusters: list[SolutionCluster]
    mean_raw_distance: float | None
    mean_aligned_distance: float | None
    mean_raw_relative: float | None
    mean_aligned_relative: float | None
    exact: bool  # aligned distances exact (one hidden layer) or weight matching (deeper)
    median_tail_change: float | None
    effective_units: dict[str, int]  # "units per hidden layer" → number of trials
    # Distinct solutions told from a clear gap in the aligned distances, among converged runs
    # only (the clusters above are a display grouping at `tolerance`).
    n_converged: int = 0
    distinct: int | None = None  # None: not converged, or no clear groups
    clear_groups: bool = False
    largest_within: float | None = None
    smallest_between: float | None = None
    function: FunctionEvidence | None = None


class FunctionEvidence(_Model):
    """Do the runs compute the same function? Over all pairs, or `n_pairs` sampled ones."""

    n_pairs: int
    sampled: bool
    disagreement: float | None  # mean share of evaluation points predicted differently
    max_disagreement: float | None
    mean_abs_dp: float | None  # mean |p_A(x) − p_B(x)| of the predicted probability
    n_barrier_pairs: int
    barrier_raw: float | None  # mean loss barrier on the training set, raw
    barrier_aligned: float | None  # ... after aligning
    cka: float | None  # mean linear CKA, first hidden layer


class Group(_Model):
    """One initializer at one grid point."""

    initializer: str
    params: dict[str, Any]
    n_trials: int  # all the group's trials given, finished or not
    n_finished: int  # trials with a result
    steps: int | None = None  # training steps of its runs (the longest)
    hidden: list[int] = []  # hidden widths of the architecture
    stats: dict[str, Summary]  # per metric; costs compared on train_cost_tail
    accuracy_noise_floor: float | None  # binomial SE at the mean accuracy
    failures: Failures
    solutions: Solutions | None
    trials: list[TrialDiagnostics]


class PairwiseComparison(_Model):
    params: dict[str, Any]
    initializer_a: str
    initializer_b: str
    metric: Metric
    stats: PairedStats


class Comparison(_Model):
    """A sweep's comparison: the verdict first, then per-group statistics, failures,
    solutions, and paired tests."""

    verdict: Verdict | None = None
    metric: Metric
    tolerance: float
    activation: str
    n_total: int
    n_finished: int  # trials in a final state
    n_with_result: int
    partial: bool  # True while some trials have not finished: figures cover those that have
    accuracy_on: Literal["test", "train"]
    n_eval: int  # points behind the accuracy (noise floor √(p(1−p)/n_eval))
    min_pairs: int  # paired seeds the sign test needs (Noether), for the paired details
    ranked_metric: str = "test_accuracy_tail"  # what the verdict ranks on
    groups: list[Group]
    pairs: list[PairwiseComparison]
    notes: list[str]

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Flat rows ("groups", "failures", "solutions", "clusters", "pairs", "trials")."""
        from sweepd.analysis._tables import tables

        return tables(self)

    def to_pandas(self) -> dict[str, Any]:
        """The tables as pandas DataFrames (needs pandas)."""
        import pandas as pd

        return {name: pd.DataFrame(rows) for name, rows in self.tables().items()}


class Curve(_Model):
    """Loss and error along θ(α) = α·θ_a + (1−α)·θ_b on the training set."""

    alphas: list[float]
    loss: list[float]
    error: list[float]
    barrier: float
    error_barrier: float


class PairComparison(_Model):
    """Two trials compared by weights and by function."""

    trial_a: int
    trial_b: int
    activation: str
    raw_distance: float
    raw_relative_distance: float
    aligned_distance: float
    aligned_relative_distance: float
    exact: bool
    permutations: list[list[int]]  # per hidden layer: b's unit placed at each position
    signs: list[list[int]]
    disagreement: float
    disagreement_on: Literal["test", "train"]
    n_points: int
    barrier_raw: Curve
    barrier_aligned: Curve
    cka: list[float | None]  # per hidden layer; None when an activation is constant
