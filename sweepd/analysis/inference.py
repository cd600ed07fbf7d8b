"""Tests and intervals the verdict rests on (issue 11), each named after what it is.

- Probability of improvement P(A > B) = U/(n·m), U the Mann–Whitney statistic with ties
  counted one half (`scipy.stats.mannwhitneyu`; Agarwal et al. 2021 use the same definition),
  with Newcombe's score interval (2006, "Confidence intervals for an effect size measure based
  on the Mann–Whitney statistic", method 5). It is never zero-width: where every A beats every
  B, P̂ = 1 and the interval still reaches below 1, as a proportion's should.
- The two-sided Mann–Whitney test, Holm's step-down adjustment over the comparisons against
  the best (Holm 1979).
- The shift between A and B: the Hodges–Lehmann estimate (the median of all differences
  a_i − b_j) with its distribution-free interval from the same Mann–Whitney distribution
  (Bauer 1972), robust to the rare bad seed as the test is.
- Equivalence: two one-sided tests (TOST) of that shift against a region of practical
  equivalence (ROPE): equivalent when its 90 % interval lies inside ±ROPE.
- Proportions (failures, outliers): Clopper–Pearson exact intervals.
- Seeds a decision needs: Noether's sample size for Mann–Whitney at the observed P(A > B); for
  equivalence, the seeds at which the Welch interval would fit inside the ROPE.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

ALPHA = 0.05
POWER = 0.95  # 1 − β for the seed counts, as in Noether's 29 at γ = 0.75
MAX_SEEDS = 100_000  # the most a sweep may hold: a larger need is reported as "more than"


def probability_of_improvement(a: Sequence[float], b: Sequence[float], *,
                               larger_is_better: bool = True) -> float:
    """P(A > B) = U/(n·m) over all pairs of an A run and a B run, ties counted one half."""
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not larger_is_better:
        xa, xb = -xa, -xb
    u = stats.mannwhitneyu(xa, xb, alternative="two-sided").statistic
    return float(u / (xa.size * xb.size))


def newcombe_interval(theta: float, n: int, m: int, level: float = 0.95) -> tuple[float, float]:
    """Score interval for P(A > B) from n A-runs and m B-runs (Newcombe 2006, method 5).

    Solves (θ̂ − θ)² = z² V(θ) for θ, with the Hanley–McNeil variance at n* = (n + m)/2:
    V(θ) = θ(1−θ)/(n m) · [1 + (n*−1)(1−θ)/(2−θ) + (n*−1)θ/(1+θ)].
    """
    z = stats.norm.ppf((1 + level) / 2)
    half = (n + m) / 2 - 1

    def gap(t: float) -> float:
        var = t * (1 - t) / (n * m) * (1 + half * (1 - t) / (2 - t) + half * t / (1 + t))
        return (theta - t) ** 2 - z * z * var

    # gap is positive at the far end and negative just inside θ̂ (V > 0 there), so each side
    # has one root; at θ̂ = 0 or 1 that side of the interval is the boundary itself.
    eps = 1e-12
    low = 0.0 if theta <= 0 else optimize.brentq(gap, 0.0, min(theta, 1 - eps))
    high = 1.0 if theta >= 1 else optimize.brentq(gap, max(theta, eps), 1.0)
    return float(low), float(high)


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the Mann–Whitney U test (exact for small samples without ties)."""
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if np.all(xa == xa[0]) and np.all(xb == xa[0]):
        return 1.0  # identical constants: no evidence of any difference
    return float(stats.mannwhitneyu(xa, xb, alternative="two-sided").pvalue)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    p = np.asarray(pvalues, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (p.size - rank) * p[index]))
        adjusted[index] = running
    return [float(v) for v in adjusted]


@dataclass(frozen=True)
class Difference:
    """Difference of means (A − B) with a Welch interval at `level`."""

    estimate: float
    low: float
    high: float
    level: float


def hodges_lehmann(a: Sequence[float], b: Sequence[float], level: float) -> Difference:
    """Median of all differences a_i − b_j, with the Mann–Whitney-based interval at `level`.

    The interval runs from the (C+1)-th to the (n·m − C)-th smallest difference, C the lower
    critical value of U (normal approximation with continuity correction; ties only make it
    conservative). Beyond `MAX_DIFFERENCES` pairs each side is thinned to an evenly spaced
    subsample of its sorted values (memory stays bounded; the interval only widens).
    """
    xa, xb = _thinned(a), _thinned(b)
    diffs = np.sort((xa[:, None] - xb[None, :]).ravel())
    n, m = xa.size, xb.size
    z = stats.norm.ppf((1 + level) / 2)
    c = math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12) - 0.5)
    c = min(max(c, 0), (diffs.size - 1) // 2)
    return Difference(float(np.median(diffs)), float(diffs[c]), float(diffs[diffs.size - 1 - c]),
                      level)


MAX_DIFFERENCES = 4_000_000  # a_i − b_j pairs held at once by `hodges_lehmann`


def _thinned(values: Sequence[float]) -> np.ndarray:
    x = np.sort(np.asarray(values, dtype=np.float64))
    limit = int(math.sqrt(MAX_DIFFERENCES))
    return x if x.size <= limit else x[np.linspace(0, x.size - 1, limit).astype(int)]


def welch_difference(a: Sequence[float], b: Sequence[float], level: float) -> Difference:
    """Mean(A) − mean(B) with the Welch–Satterthwaite t interval (needs two values each)."""
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    va, vb = xa.var(ddof=1) / xa.size, xb.var(ddof=1) / xb.size
    estimate = float(xa.mean() - xb.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return Difference(estimate, estimate, estimate, level)
    df = (va + vb) ** 2 / (va**2 / (xa.size - 1) + vb**2 / (xb.size - 1))
    half = float(stats.t.ppf((1 + level) / 2, df)) * se
    return Difference(estimate, estimate - half, estimate + half, level)


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float] | None:
    """Student t interval of the mean (None for fewer than two values)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return None
    half = float(stats.t.ppf((1 + level) / 2, x.size - 1)) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact interval of a proportion k/n; [0, 1] when n is 0."""
    if n == 0:
        return 0.0, 1.0
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def noether_seeds(gamma: float, *, alpha: float = ALPHA, power: float = POWER,
                  comparisons: int = 1) -> int:
    """Seeds per initializer for a two-sided Mann–Whitney test to detect P(A > B) = γ.

    Noether (1987): n = (z_{1−α'/2} + z_{power})² / (6 (γ − ½)²) per group with equal groups,
    α' = α / comparisons (the first step of Holm). 29 at γ = 0.75, one-sided α = 0.05.

    Returns:
        The seed count, capped at MAX_SEEDS + 1 (γ at ½ needs unboundedly many).
    """
    if abs(gamma - 0.5) < 1e-9:
        return MAX_SEEDS + 1
    z = stats.norm.ppf(1 - alpha / (2 * comparisons)) + stats.norm.ppf(power)
    return min(MAX_SEEDS + 1, math.ceil(z * z / (6 * (gamma - 0.5) ** 2)))


def equivalence_seeds(std_a: float, std_b: float, difference: float, rope: float, *,
                      alpha: float = ALPHA) -> int:
    """Seeds per initializer at which the 1 − 2α Welch interval fits inside ±rope (normal
    approximation at the observed spreads and difference); MAX_SEEDS + 1 when it never does."""
    room = rope - abs(difference)
    if room <= 0:
        return MAX_SEEDS + 1
    z = stats.norm.ppf(1 - alpha)
    return min(MAX_SEEDS + 1, max(2, math.ceil((z / room) ** 2 * (std_a**2 + std_b**2))))


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle half (`scipy.stats.trim_mean(x, 0.25)`)."""
    return float(stats.trim_mean(np.asarray(values, dtype=np.float64), 0.25))
