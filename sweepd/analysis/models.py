"""The comparison's result types: strict, frozen pydantic models that serialise to JSON.

This module imports only pydantic (and pandas lazily, in `to_pandas`), so a light client can
parse a comparison without NumPy or SciPy: `sweepd.analysis` loads its maths lazily.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from sweepd.analysis.verdict_models import Verdict
from sweepd.compare_sample import CompareSample

Metric = Literal["test_accuracy", "train_accuracy", "train_cost_tail", "train_cost", "test_cost",
                 "test_accuracy_tail", "train_accuracy_tail", "test_cost_tail",
                 "test_r2", "train_r2", "test_r2_tail", "train_r2_tail"]
METRICS: tuple[str, ...] = Metric.__args__  # type: ignore[attr-defined]
SUMMARY_METRICS = METRICS
# Means over the last steps (TrialResult.tail): the verdict ranks on these (issue 11).
TAIL_METRICS = {"test_accuracy_tail": "test_accuracy", "train_accuracy_tail": "train_accuracy",
                "test_cost_tail": "test_cost", "test_r2_tail": "test_r2",
                "train_r2_tail": "train_r2"}
# A regression target (issue 17) has R² where classes have an accuracy: each task summarises
# its own metrics.
REGRESSION_ONLY = ("test_r2", "train_r2", "test_r2_tail", "train_r2_tail")
CLASSIFICATION_METRICS = tuple(m for m in METRICS if m not in REGRESSION_ONLY)
REGRESSION_METRICS = tuple(m for m in METRICS if "accuracy" not in m)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Summary(_Model):
    """One metric over seeds; fields are None where undefined (std and CIs need two values).

    `ci_low`/`ci_high` bound the mean (Student t); `iqm_ci_low`/`iqm_ci_high` bound the
    interquartile mean (percentile bootstrap over seeds, as rliable does).
    """

    n: int
    """Values summarised (one per seed with a finite value)."""
    mean: float | None = None
    """Mean over seeds."""
    std: float | None = None
    """Sample standard deviation over seeds (n − 1)."""
    median: float | None = None
    """Median over seeds."""
    iqm: float | None = None
    """Interquartile mean: the mean of the middle 50 % of values."""
    min: float | None = None
    """Smallest value."""
    max: float | None = None
    """Largest value."""
    ci_low: float | None = None
    """Lower bound of the mean's confidence interval (Student t)."""
    ci_high: float | None = None
    """Upper bound of the mean's confidence interval (Student t)."""
    iqm_ci_low: float | None = None
    """Lower bound of the IQM's percentile-bootstrap interval over seeds."""
    iqm_ci_high: float | None = None
    """Upper bound of the IQM's percentile-bootstrap interval over seeds."""
    level: float = 0.95
    """Confidence level of both intervals."""


class PairedStats(_Model):
    """A vs B over shared seeds: difference of means (A − B) and P(A beats B), ties ½."""

    n_pairs: int
    """Seeds that both initializers finished."""
    mean_a: float | None = None
    """Mean of A over the shared seeds."""
    mean_b: float | None = None
    """Mean of B over the shared seeds."""
    difference: float | None = None
    """Mean of the paired differences A − B."""
    difference_ci_low: float | None = None
    """Lower bound of the difference's interval (Student t on the paired differences)."""
    difference_ci_high: float | None = None
    """Upper bound of the difference's interval."""
    p_a_beats_b: float | None = None
    """Share of seeds where A is better than B, ties counted ½."""
    p_ci_low: float | None = None
    """Lower bound of that share's Wilson interval."""
    p_ci_high: float | None = None
    """Upper bound of that share's Wilson interval."""
    larger_is_better: bool = True
    """Whether a larger value of the metric is better (accuracies) or worse (costs)."""
    correlation: float | None = None
    """Pearson correlation of A and B across the pairs: what pairing on shared seeds (init,
    data order and data draw) exploits, since Var(A − B) = Var A + Var B − 2r·σ_A·σ_B; null
    under three pairs or when either side is constant."""
    level: float = 0.95
    """Confidence level of the intervals."""
    min_pairs: int
    """Paired seeds a sign test needs to detect the observed P(A beats B) (Noether's formula)."""
    note: str | None = None
    """Why a figure is missing, when one is."""


class TrialDiagnostics(_Model):
    """What went wrong (or right) in one finished trial. See `sweepd.analysis.diagnostics`."""

    trial_id: int
    """The trial."""
    seed: int
    """Its seed."""
    diverged: bool
    """The cost became infinite or NaN."""
    symmetry_never_broken: bool
    """Hidden units of a layer stayed identical (e.g. a constant initializer): the net has fewer
    effective units."""
    dead_units: int
    """Hidden units whose activation is constant on the training set."""
    stuck_at_chance: bool
    """Accuracy no better than predicting the majority class."""
    effective_units: list[int] | None
    """Distinct, live hidden units per hidden layer; null when the weights are not finite."""
    tail_change: float | None
    """Relative change of the training cost over the curve's tail (small: converged)."""
    value: float | None = None
    """The ranked metric (the tail-averaged accuracy)."""
    oscillating: bool | None = None
    """A period-2 cycle at the end; null when not recorded."""
    accuracy_gap: float | None = None
    """Accuracy difference between the cycle's two phases."""


class Failures(_Model):
    """Counts of trials per failure kind (one trial may count in several; `any` counts each
    trial once, so it never exceeds the group's trials)."""

    any: int = 0
    """Trials with at least one of the kinds below, each counted once."""
    failed: int = 0
    """Trials that ended without a result (state failed)."""
    diverged: int = 0
    """Trials whose cost became infinite or NaN."""
    symmetry_never_broken: int = 0
    """Trials whose hidden units stayed identical."""
    dead_units: int = 0
    """Trials with at least one dead hidden unit."""
    stuck_at_chance: int = 0
    """Trials no better than the majority class."""


class SolutionCluster(_Model):
    size: int
    """Trials in the cluster."""
    trial_ids: list[int]
    """The trials in it."""
    representative_trial_id: int
    """The medoid: the trial closest to all others in the cluster."""
    mean_accuracy: float | None
    """Mean accuracy of its trials."""
    data_seed: int | None = None
    """The data draw its trials trained on, when the sweep has several (a cluster never spans
    two draws); null with one draw or for the spec's dataset.seed."""


class DrawSolutions(_Model):
    """Distinct solutions among one data draw's runs: runs trained on different training sets
    are not comparable modulo symmetry, so a sweep with data_seeds counts them per draw."""

    data_seed: int | None
    """The draw; null: the spec's dataset.seed."""
    n_trials: int
    """Runs of this draw clustered."""
    n_solutions: int
    """Clusters at the tolerance (complete linkage)."""
    cluster_sizes: list[int]
    """Runs per cluster, largest first."""
    mean_aligned_relative: float | None
    """Mean aligned relative distance between the draw's runs."""
    n_converged: int
    """Runs of this draw whose cost stopped moving."""
    distinct: int | None
    """Distinct solutions from a clear gap among the converged runs; null without one."""
    clear_groups: bool
    """The converged runs split with a clear gap."""


class Solutions(_Model):
    """Distinct solutions modulo symmetry among a group's finite-weight trials."""

    n_trials: int
    """Trials clustered."""
    n_left_out: int
    """Finite trials beyond the pair budget, not clustered."""
    tolerance: float
    """Aligned relative distance below which two runs join a cluster (complete linkage)."""
    n_solutions: int
    """Clusters at that tolerance (a display grouping; see `distinct`)."""
    clusters: list[SolutionCluster]
    """The clusters, largest first."""
    mean_raw_distance: float | None
    """Mean L2 distance between the runs' weights, as trained."""
    mean_aligned_distance: float | None
    """The same after aligning hidden units by permutation and sign."""
    mean_raw_relative: float | None
    """Mean raw distance relative to the weights' norm."""
    mean_aligned_relative: float | None
    """Mean aligned distance relative to the weights' norm."""
    exact: bool
    """Alignment is exact (one hidden layer) rather than weight matching layer by layer (deeper
    nets)."""
    median_tail_change: float | None
    """Median relative change of the training cost over the tail: how much the runs still move."""
    effective_units: dict[str, int]
    """Units per hidden layer (as text) → number of trials with that count."""
    # Distinct solutions told from a clear gap in the aligned distances, among converged runs
    # only (the clusters above are a display grouping at `tolerance`).
    n_converged: int = 0
    """Runs whose cost stopped moving: only these count distinct solutions."""
    distinct: int | None = None
    """Distinct solutions told from a clear gap in the aligned distances; null when not converged
    or without a clear gap."""
    clear_groups: bool = False
    """The converged runs split into groups with a clear gap between them."""
    largest_within: float | None = None
    """Largest aligned relative distance inside a group."""
    smallest_between: float | None = None
    """Smallest aligned relative distance between groups."""
    function: FunctionEvidence | None = None
    """Whether the runs compute the same function (disagreement, barriers, CKA)."""
    by_data_draw: list[DrawSolutions] | None = None
    """Per data draw, when the runs trained on several (issue 16); then the clusters and the
    distances above are within draws only, `n_solutions` and `distinct` the largest count of a
    draw. Null with one draw."""


class FunctionEvidence(_Model):
    """Do the runs compute the same function? Over all pairs, or `n_pairs` sampled ones."""

    n_pairs: int
    """Pairs of runs compared."""
    sampled: bool
    """The pairs are a random sample of all pairs (the budget caps the work)."""
    disagreement: float | None
    """Mean share of evaluation points that two runs predict differently."""
    max_disagreement: float | None
    """Largest disagreement over the pairs."""
    mean_abs_dp: float | None
    """Mean |p_A(x) − p_B(x)| of the predicted probability; for a regression target (no
    disagreement), the mean |ŷ_A(x) − ŷ_B(x)| in units of the target's standard deviation."""
    n_barrier_pairs: int
    """Pairs whose loss barrier was computed."""
    barrier_raw: float | None
    """Mean loss barrier on the straight line between two runs, as trained."""
    barrier_aligned: float | None
    """The same after aligning the second run to the first."""
    cka: float | None
    """Mean linear CKA of the first hidden layer's activations (1: same representation)."""
    cka_layers: list[float | None] | None = None
    """Mean linear CKA of each layer's activations, input side first (plugin models; null for
    the built-in MLP, whose first layer is `cka`)."""


class Group(_Model):
    """One initializer at one grid point."""

    initializer: str
    """The initializer, in words."""
    params: dict[str, Any]
    """The grid point, by dotted spec path; empty without a grid."""
    n_trials: int
    """The group's trials, finished or not."""
    n_finished: int
    """Trials with a result."""
    steps: int | None = None
    """Training steps of its runs (the longest)."""
    hidden: list[int] = []
    """Hidden widths of the architecture."""
    stats: dict[str, Summary]
    """Summary over seeds, per metric."""
    accuracy_noise_floor: float | None
    """Binomial standard error √(p(1−p)/n) at the mean accuracy: differences below it are noise of
    the evaluation set."""
    failures: Failures
    """Trials per failure kind."""
    solutions: Solutions | None
    """Distinct solutions modulo symmetry; null with fewer than two finite runs."""
    trials: list[TrialDiagnostics]
    """Diagnostics of each finished trial."""


class PairwiseComparison(_Model):
    params: dict[str, Any]
    """The grid point."""
    initializer_a: str
    """The first initializer."""
    initializer_b: str
    """The second initializer."""
    metric: Metric
    """The metric compared."""
    stats: PairedStats
    """Paired statistics over shared seeds."""


class Comparison(_Model):
    """A sweep's comparison: the verdict first, then per-group statistics, failures,
    solutions, and paired tests."""

    verdict: Verdict | None = None
    """The answer in words: is it OK, which initializer, how many more seeds."""
    metric: Metric
    """The metric the paired details compare."""
    tolerance: float
    """Clustering tolerance on the aligned relative distance."""
    activation: str
    """The hidden activation of the sweep's model."""
    n_total: int
    """Trials in the sweep."""
    n_finished: int
    """Trials in a final state."""
    n_with_result: int
    """Trials with a result."""
    partial: bool
    """Some trials have not finished: the figures cover those that have."""
    accuracy_on: Literal["test", "train"]
    """The set accuracies are measured on: test when the data set has one, else train."""
    n_eval: int
    """Points behind the accuracy (the noise floor is √(p(1−p)/n_eval))."""
    min_pairs: int
    """Paired seeds the sign test needs (Noether), for the paired details."""
    ranked_metric: str = "test_accuracy_tail"
    """What the verdict ranks on."""
    groups: list[Group]
    """Per initializer and grid point: statistics, failures and solutions."""
    pairs: list[PairwiseComparison]
    """Paired comparisons of initializers at each grid point."""
    notes: list[str]
    """Caveats about the figures, in words."""
    variance: VarianceDecomposition | None = None
    """Where the spread of the ranked metric comes from (init, data order, data draw and
    their interactions, with CIs), when the sweep crosses at least two of them; else None."""
    sample: CompareSample | None = None
    """The random sample of trials the groups, failures, solutions and paired tests cover, for
    a sweep over the sampling threshold (`sweepd.compare_sample`); None: every trial."""

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Flat rows ("groups", "failures", "solutions", "clusters", "solutions_by_draw",
        "pairs", "trials")."""
        from sweepd.analysis._tables import tables

        return tables(self)

    def to_pandas(self) -> dict[str, Any]:
        """The tables as pandas DataFrames (needs pandas)."""
        import pandas as pd

        return {name: pd.DataFrame(rows) for name, rows in self.tables().items()}


class Curve(_Model):
    """Loss and error along θ(α) = α·θ_a + (1−α)·θ_b on the training set."""

    alphas: list[float]
    """Points along the line θ(α) = α·θ_a + (1−α)·θ_b."""
    loss: list[float]
    """Training loss at each α."""
    error: list[float]
    """Training error rate at each α."""
    barrier: float
    """Largest loss along the line above the straight interpolation of its ends."""
    error_barrier: float
    """The same for the error rate."""


class PairComparison(_Model):
    """Two trials compared by weights and by function."""

    trial_a: int
    """The first trial."""
    trial_b: int
    """The second trial."""
    activation: str
    """The hidden activation (it decides which symmetries apply)."""
    raw_distance: float
    """L2 distance between the weights as trained."""
    raw_relative_distance: float
    """Raw distance relative to the weights' norm."""
    aligned_distance: float
    """L2 distance after aligning b's hidden units to a's by permutation and sign."""
    aligned_relative_distance: float
    """Aligned distance relative to the weights' norm."""
    exact: bool
    """The alignment is exact (one hidden layer) rather than weight matching (deeper nets)."""
    permutations: list[list[int]]
    """Per hidden layer: b's unit placed at each position of a."""
    signs: list[list[int]]
    """Per hidden layer: the sign applied to each of b's units (odd activations only; else all 1)."""
    disagreement: float | None
    """Share of evaluation points the two nets predict differently; null for a regression
    target (no classes)."""
    disagreement_on: Literal["test", "train"]
    """The set the disagreement is measured on."""
    n_points: int
    """Points behind the disagreement."""
    barrier_raw: Curve
    """Loss and error along the straight line between the nets, as trained."""
    barrier_aligned: Curve
    """The same after alignment."""
    cka: list[float | None]
    """Linear CKA per hidden layer; null when an activation is constant."""


class VarianceComponent(_Model):
    """One random term of the decomposition: a factor, an interaction, or the residual."""

    name: str
    """The term: a factor ("init", "order", "data"), an interaction ("init × data") or
    "residual" (the highest interaction, confounded with each trial's own noise)."""
    factors: list[str]
    """The factors of the term."""
    variance: float
    """Estimated variance of the metric due to the term (method of moments; negative
    estimates reported as 0)."""
    ci_low: float
    """Lower bound of the variance's confidence interval (MLS; exact χ² for the residual)."""
    ci_high: float
    """Upper bound of the variance's confidence interval."""
    sd: float
    """The standard deviation the term adds: √variance, in the metric's units."""
    sd_ci_low: float
    """√ci_low."""
    sd_ci_high: float
    """√ci_high."""
    share: float | None
    """The term's share of the summed components, in [0, 1]; None when all are 0."""
    df: int
    """Degrees of freedom of the term's mean square, pooled over the arms."""


class VarianceDecomposition(_Model):
    """Where the spread of a metric comes from, when the sweep crosses random factors (init
    seeds × data-order seeds × data draws): crossed random-effects variance components."""

    metric: str
    """The metric decomposed."""
    factors: list[str]
    """The crossed factors, each varied over at least two levels."""
    levels: dict[str, int]
    """Levels of each factor used (a complete crossed array per arm)."""
    n_arms: int
    """Initializers × grid points pooled (fixed effects, removed before pooling)."""
    n_trials: int
    """Trials behind the decomposition."""
    components: list[VarianceComponent]
    """Every main effect and interaction, the residual last."""
    largest: str | None
    """The component with the largest variance; None when every component is 0."""
    total: float
    """The summed components: the spread of one trial about its arm's mean."""
    test_noise: float | None = None
    """p(1 − p)/n_test: the variance of an accuracy measured on a test set of this size, part
    of the data component when the draws change the test set; None for other metrics."""
    level: float = 0.95
    """Confidence level of the intervals."""
    estimator: str
    """How the components and intervals are estimated, in words."""

    def to_pandas(self) -> Any:
        """The components as a pandas DataFrame, one row per term (needs pandas)."""
        import pandas as pd

        return pd.DataFrame([c.model_dump() for c in self.components])
