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
    model_config = ConfigDict(frozen=True, extra="forbid")


class Outlier(_Model):
    """A run far below its initializer's median (a black swan), or one that diverged."""

    trial_id: int
    seed: int
    value: float | None  # the ranked metric; None when the run diverged
    why: str


class WeightEvidence(_Model):
    """Why the weights of one initializer's runs differ (per initializer, over sampled pairs)."""

    initializer: str
    n_runs: int
    n_converged: int  # runs whose cost has stopped moving (tail change below the threshold)
    median_tail_change: float | None
    alignment_removes: float | None  # share of the raw distance that symmetry alignment removes
    mean_aligned_relative: float | None
    n_solutions: int | None  # distinct solutions among converged runs; None: no clear groups
    clear_groups: bool
    largest_within: float | None  # aligned relative distance inside a group
    smallest_between: float | None  # ... and between groups
    n_pairs: int  # pairs behind the functional evidence (all, or a stated random sample)
    disagreement: float | None  # mean share of evaluation points predicted differently
    mean_abs_dp: float | None  # mean |p_A(x) − p_B(x)| of the predicted probability
    noise_floor: float | None  # binomial SE of this initializer's accuracy
    barrier_raw: float | None  # mean loss barrier on the straight line, raw
    barrier_aligned: float | None  # ... after aligning the second net to the first
    cka: float | None  # mean linear CKA of the hidden activations (first hidden layer)
    same_function: bool  # disagreement below the noise floor
    outliers: list[Outlier]


class SolutionsAnswer(_Model):
    """Part 1: is it OK that the weights differ?"""

    kind: SolutionKind
    sentence: str
    evidence: list[WeightEvidence]


class Ranked(_Model):
    """One initializer's place, with the numbers that put it there."""

    initializer: str
    tier: Tier
    reason: str  # in words
    n: int
    iqm: float | None
    ci_low: float | None  # 95 % bootstrap interval of the IQM
    ci_high: float | None
    mean: float | None
    std: float | None
    worst: float | None
    n_runs: int  # the initializer's ended trials at this grid point: with a result or failed
    n_outliers: int
    n_failed: int  # runs with any failure (ended without result, diverged, symmetry, dead, chance)
    failed_ci_low: float  # Clopper–Pearson 95 % interval of the failed share n_failed / n_runs
    failed_ci_high: float
    effective_units: str | None  # the most common count per hidden layer, e.g. "4" or "1"
    still_moving: bool  # its runs' cost still changes: the number may improve with more steps
    p_best_beats: float | None  # P(best > this) = U/(n·m), Mann–Whitney
    p_ci_low: float | None  # Newcombe score interval
    p_ci_high: float | None
    p_holm: float | None  # two-sided Mann–Whitney p-value, Holm-adjusted over the comparisons
    difference: float | None  # Hodges–Lehmann shift best − this (median of the differences)
    difference_low: float | None  # its 90 % interval (TOST against the ROPE)
    difference_high: float | None


class SeedsNeeded(_Model):
    """How many seeds per initializer would decide one undecided comparison."""

    initializer_a: str
    initializer_b: str
    decision: Literal["difference", "equivalence"]
    test: str
    have: int
    needed: int  # per initializer; MAX_SEEDS + 1 means "more than a sweep may hold"
    command: str | None


class ChoiceAnswer(_Model):
    """Part 2: which initializer?"""

    metric: str  # what is ranked, e.g. "test_accuracy_tail"
    larger_is_better: bool
    rope: float  # region of practical equivalence, in the metric's units
    rope_reason: str
    method: str  # the tests, in words
    design: Literal["unpaired", "paired"]
    design_reason: str
    ranking: list[Ranked]  # tier order, best first
    recommendation: str | None
    recommended: list[str]
    sentence: str
    warnings: list[str]


class MoreSeedsAnswer(_Model):
    """Part 3: how many more seeds?"""

    sentence: str
    needed: list[SeedsNeeded]


class PointVerdict(_Model):
    """The verdict at one grid point (the whole sweep when there is no grid)."""

    params: dict[str, Any]
    is_it_ok: SolutionsAnswer
    which_initializer: ChoiceAnswer
    more_seeds: MoreSeedsAnswer
    text: str


class Verdict(_Model):
    """The answer, first: a few sentences, then per grid point the parts and their evidence."""

    text: str
    points: list[PointVerdict]
    partial: bool
