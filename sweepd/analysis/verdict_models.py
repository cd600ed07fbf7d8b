"""The verdict's types: the answer to "is it OK that the weights differ, and which initializer
should I use?", as short sentences with their evidence (issue 11).

Pydantic only, like `models`: a light client parses a verdict without NumPy or SciPy.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

SolutionKind = Literal["same_solution", "equally_good_solutions", "some_seeds_worse",
                       "cannot_tell_yet", "nothing_to_compare"]
Tier = Literal["best", "equivalent", "undecided", "worse", "failed"]
TIER_ORDER: tuple[str, ...] = ("best", "equivalent", "undecided", "worse", "failed")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Outlier(_Model):
    """A run far below its initializer's median (a black swan), or one that diverged."""

    trial_id: int
    """The trial."""
    seed: int
    """Its seed."""
    value: float | None
    """The ranked metric; null when the run diverged."""
    why: str
    """Why it counts as an outlier, in words."""


class WeightEvidence(_Model):
    """Why the weights of one initializer's runs differ (per initializer, over sampled pairs)."""

    initializer: str
    """The initializer."""
    n_runs: int
    """Its runs with a result."""
    n_converged: int
    """Runs whose cost has stopped moving (tail change below the threshold)."""
    median_tail_change: float | None
    """Median relative change of the training cost over the tail."""
    alignment_removes: float | None
    """Share of the raw distance between runs that aligning by symmetry removes."""
    mean_aligned_relative: float | None
    """Mean aligned relative distance between runs."""
    n_solutions: int | None
    """Distinct solutions among converged runs; null without clear groups."""
    clear_groups: bool
    """The converged runs split into groups with a clear gap."""
    largest_within: float | None
    """Largest aligned relative distance inside a group."""
    smallest_between: float | None
    """Smallest aligned relative distance between groups."""
    n_pairs: int
    """Pairs behind the functional evidence (all, or a stated random sample)."""
    disagreement: float | None
    """Mean share of evaluation points predicted differently."""
    mean_abs_dp: float | None
    """Mean |p_A(x) − p_B(x)| of the predicted probability."""
    noise_floor: float | None
    """Binomial standard error of this initializer's accuracy."""
    barrier_raw: float | None
    """Mean loss barrier on the straight line between runs, as trained."""
    barrier_aligned: float | None
    """The same after aligning the second run to the first."""
    cka: float | None
    """Mean linear CKA of the first hidden layer's activations."""
    same_function: bool
    """The runs' disagreement is below the noise floor: they compute the same function, as far as
    the data can tell."""
    outliers: list[Outlier]
    """Runs far below the initializer's median, or diverged."""


class SolutionsAnswer(_Model):
    """Part 1: is it OK that the weights differ?"""

    kind: SolutionKind
    """The answer's kind: symmetry, equally good solutions, distinct solutions, not converged, …"""
    sentence: str
    """The answer in words."""
    evidence: list[WeightEvidence]
    """Per initializer: the figures behind the answer."""


class Ranked(_Model):
    """One initializer's place, with the numbers that put it there."""

    initializer: str
    """The initializer."""
    tier: Tier
    """best, equivalent (to the best, within the ROPE), undecided, worse or failed."""
    reason: str
    """Why it is in this tier, in words."""
    n: int
    """Runs with a finite value of the ranked metric."""
    iqm: float | None
    """Interquartile mean of the ranked metric over seeds."""
    ci_low: float | None
    """Lower bound of the IQM's 95 % bootstrap interval."""
    ci_high: float | None
    """Upper bound of the IQM's 95 % bootstrap interval."""
    mean: float | None
    """Mean over seeds."""
    std: float | None
    """Standard deviation over seeds."""
    worst: float | None
    """The worst run's value."""
    n_runs: int
    """Its ended trials at this grid point: with a result or failed."""
    n_outliers: int
    """Runs flagged as outliers."""
    n_failed: int
    """Runs with any failure (no result, diverged, symmetry never broken, dead units, at chance)."""
    failed_ci_low: float
    """Lower bound of the Clopper–Pearson 95 % interval of the failed share."""
    failed_ci_high: float
    """Upper bound of that interval."""
    effective_units: str | None
    """The most common count of effective hidden units per layer, e.g. "4" or "1"."""
    still_moving: bool
    """Its runs' cost still changes: the value may improve with more steps."""
    p_best_beats: float | None
    """P(best > this) = U/(n·m) from the Mann–Whitney U statistic."""
    p_ci_low: float | None
    """Lower bound of its Newcombe score interval."""
    p_ci_high: float | None
    """Upper bound of its Newcombe score interval."""
    p_holm: float | None
    """Two-sided Mann–Whitney p-value against the best, Holm-adjusted over the comparisons."""
    difference: float | None
    """Hodges–Lehmann shift best − this: the median of the pairwise differences."""
    difference_low: float | None
    """Lower bound of its 90 % interval (the TOST against the ROPE)."""
    difference_high: float | None
    """Upper bound of its 90 % interval."""


class SeedsNeeded(_Model):
    """How many seeds per initializer would decide one undecided comparison."""

    initializer_a: str
    """The first initializer of the undecided comparison."""
    initializer_b: str
    """The second."""
    decision: Literal["difference", "equivalence"]
    """What more seeds would show: a difference, or equivalence within the ROPE."""
    test: str
    """The test and the formula behind the number."""
    have: int
    """Seeds per initializer now (in the comparison's sample, when it used one)."""
    in_sweep: int | None = None
    """Seeds per initializer in the whole sweep, about, when the comparison used a random
    sample of them; null otherwise."""
    needed: int
    """Seeds per initializer that would decide it; more than a sweep may hold when it is the cap +
    1."""
    command: str | None
    """The CLI command that adds them, when the sweep can grow."""


class ChoiceAnswer(_Model):
    """Part 2: which initializer?"""

    metric: str
    """What is ranked, e.g. `test_accuracy_tail`."""
    larger_is_better: bool
    """Whether a larger value is better."""
    rope: float
    """Region of practical equivalence, in the metric's units: differences inside it do not matter."""
    rope_reason: str
    """Where the ROPE comes from (the test set's noise, or the 0.1 pp floor)."""
    method: str
    """The tests used, in words."""
    design: Literal["unpaired", "paired"]
    """unpaired (initializers compared across seeds) or paired (on shared seeds)."""
    design_reason: str
    """Why that design."""
    ranking: list[Ranked]
    """Every initializer in tier order, best first."""
    recommendation: str | None
    """The initializer to use, with why; null when none works."""
    recommended: list[str]
    """The initializers the recommendation chooses from."""
    sentence: str
    """The answer in words."""
    warnings: list[str]
    """Caveats, e.g. runs still moving."""


class MoreSeedsAnswer(_Model):
    """Part 3: how many more seeds?"""

    sentence: str
    """The answer in words."""
    needed: list[SeedsNeeded]
    """For each undecided comparison: the seeds that would decide it."""


class PointVerdict(_Model):
    """The verdict at one grid point (the whole sweep when there is no grid)."""

    params: dict[str, Any]
    """The grid point; empty without a grid."""
    is_it_ok: SolutionsAnswer
    """Part 1: is it OK that the weights differ?"""
    which_initializer: ChoiceAnswer
    """Part 2: which initializer?"""
    more_seeds: MoreSeedsAnswer
    """Part 3: how many more seeds?"""
    text: str
    """This grid point's verdict in words."""


class PointAnswer(_Model):
    """Which grid or search point is best (sweeps with several points)."""

    best: dict[str, Any]
    """The best point's values, by spec path."""
    best_value: float
    """Its IQM of the ranked metric over the runs of its working initializers."""
    runner_up: dict[str, Any]
    """The second-best point."""
    runner_up_value: float
    """Its IQM."""
    n_points: int
    """Points compared (those with at least three runs)."""
    p_value: float
    """Two-sided Mann–Whitney p-value, best against the runner-up."""
    rope: float
    """The region of practical equivalence the difference must clear."""
    decided: bool
    """The best point is better than the runner-up: p below 0.05 and beyond the ROPE."""
    sentence: str
    """The answer in words."""


class Verdict(_Model):
    """The answer, first: a few sentences, then per grid point the parts and their evidence."""

    text: str
    """The whole answer in a few sentences: read this first."""
    best_point: PointAnswer | None = None
    """Which grid or search point is best; null with a single point."""
    points: list[PointVerdict]
    """Per grid point: the three parts and their evidence."""
    partial: bool
    """Some trials have not finished: the verdict may change."""
