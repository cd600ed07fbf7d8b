"""Statistics across seeds: per-configuration summaries (mean with a t interval, IQM with a
percentile-bootstrap interval), paired comparisons of two initializers over shared seeds, the seed
count a decision needs (Noether 1987), and the test-set binomial noise floor.

Bootstraps are vectorised (one (n_boot, n) index draw) and deterministic: they draw from
`numpy.random.default_rng(seed)`, so the same values give the same intervals.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm, trim_mean

from sweepd.analysis.inference import t_interval
from sweepd.analysis.models import PairedStats, Summary

NOETHER_GAMMA = 0.75  # P(A > B) worth detecting (Bouthillier et al. 2021)
NOETHER_ALPHA = 0.05
NOETHER_BETA = 0.05
_CHUNK = 4_000_000  # bootstrap entries drawn at once, to bound memory for very many seeds

Seed = int | np.random.Generator


def noether_min_pairs(gamma: float = NOETHER_GAMMA, alpha: float = NOETHER_ALPHA,
                      beta: float = NOETHER_BETA) -> int:
    """Paired seeds the sign test needs to detect a share of pairs won γ (Noether 1987).

    n ≥ (z_{1−α} + z_{1−β})² / (4 (γ − ½)²); 44 for γ = 0.75, α = β = 0.05 (one-sided). The
    two-sample Mann–Whitney test needs fewer per group, (…)² / (6 (γ − ½)²) = 29: see
    `sweepd.analysis.inference.noether_seeds`.

    Raises:
        ValueError: γ not in (½, 1], or α, β not in (0, ½).
    """
    if not 0.5 < gamma <= 1 or not 0 < alpha < 0.5 or not 0 < beta < 0.5:
        raise ValueError("need 0.5 < gamma <= 1 and 0 < alpha, beta < 0.5")
    z = norm.ppf(1 - alpha) + norm.ppf(1 - beta)
    return math.ceil(z**2 / (4 * (gamma - 0.5) ** 2))


def binomial_se(p: float, n_test: int) -> float:
    """Standard error √(p(1−p)/n) of an accuracy p measured on n test points.

    Raises:
        ValueError: p outside [0, 1] or n_test < 1.
    """
    if not 0 <= p <= 1 or n_test < 1:
        raise ValueError("need 0 <= p <= 1 and n_test >= 1")
    return math.sqrt(p * (1 - p) / n_test)


def bootstrap_means(values: np.ndarray, n_boot: int, seed: Seed = 0) -> np.ndarray:
    """Means of `n_boot` resamples (with replacement) of the rows of `values`.

    Args:
        values: shape (n,) or (n, k); columns are resampled together (paired statistics).
        n_boot: number of resamples.
        seed: an int or a Generator.

    Returns:
        Shape (n_boot,) or (n_boot, k).
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    if isinstance(seed, np.random.Generator) or n_boot * n > _CHUNK:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        rows = max(1, _CHUNK // max(1, n))
        return np.concatenate([_counts(rng, min(rows, n_boot - start), n) @ values / n
                               for start in range(0, n_boot, rows)])
    return _cached_counts(seed, n_boot, n) @ values / n


def _counts(rng: np.random.Generator, n_boot: int, n: int) -> np.ndarray:
    """How often each of n rows is drawn in each of n_boot resamples, shape (n_boot, n).

    A resample's mean is then one row of a matrix product, which is much faster than
    gathering and averaging the drawn values.
    """
    drawn = rng.integers(0, n, size=(n_boot, n))
    flat = (drawn + n * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)


@functools.lru_cache(maxsize=16)
def _cached_counts(seed: int, n_boot: int, n: int) -> np.ndarray:
    # A sweep's groups mostly share their seed count: their resamples are drawn once.
    counts = _counts(np.random.default_rng(seed), n_boot, n)
    counts.flags.writeable = False
    return counts


def _interval(means: np.ndarray, level: float) -> tuple[float, float]:
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def wilson_interval(p: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a share p over n pairs: never zero-width, even at 0 or 1."""
    z = float(norm.ppf((1 + level) / 2))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _checked(values: Sequence[float] | np.ndarray, n_boot: int, level: float) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(array)):
        raise ValueError("values must be finite (leave out diverged trials and count them)")
    if n_boot < 1 or not 0 < level < 1:
        raise ValueError("need n_boot >= 1 and 0 < level < 1")
    return array


def bootstrap_iqms(values: np.ndarray, n_boot: int, seed: Seed = 0) -> np.ndarray:
    """Interquartile means of `n_boot` resamples of `values`, drawn in bounded chunks."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = values.size
    rows = max(1, _CHUNK // max(1, n))
    return np.concatenate([
        trim_mean(values[rng.integers(0, n, size=(min(rows, n_boot - start), n))], 0.25, axis=1)
        for start in range(0, n_boot, rows)])


def describe(values: Sequence[float] | np.ndarray, *, seed: Seed = 0, n_boot: int = 2000,
             level: float = 0.95, iqm_interval: bool = True) -> Summary:
    """n, mean, std (ddof 1), median, IQM, min, max, a t interval of the mean and a
    percentile-bootstrap interval of the IQM.

    Args:
        values: finite values, one per seed.
        seed: bootstrap seed (int or Generator).
        n_boot: bootstrap resamples.
        level: confidence level of the interval.

    Returns:
        A Summary; fields are None where undefined (no values; std and CI need two).

    Raises:
        ValueError: non-finite values, n_boot < 1 or level outside (0, 1).
    """
    array = _checked(values, n_boot, level)
    n = array.size
    if n == 0:
        return Summary(n=0, level=level)
    mean_ci = t_interval(array, level) or (None, None)
    iqm_ci = (_interval(bootstrap_iqms(array, n_boot, seed), level) if n > 1 and iqm_interval
              else (None, None))
    return Summary(
        n=n, mean=float(array.mean()), std=float(array.std(ddof=1)) if n > 1 else None,
        median=float(np.median(array)), iqm=float(trim_mean(array, 0.25)),
        min=float(array.min()), max=float(array.max()), ci_low=mean_ci[0], ci_high=mean_ci[1],
        iqm_ci_low=iqm_ci[0], iqm_ci_high=iqm_ci[1], level=level,
    )


def paired(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *,
           larger_is_better: bool = True, seed: Seed = 0, n_boot: int = 2000,
           level: float = 0.95) -> PairedStats:
    """Compare A and B over shared seeds: a[i] and b[i] come from the same seed.

    P(A beats B) is the share of seeds where A's value is better than B's (larger, or smaller
    when `larger_is_better` is False); ties count one half: a sign-test statistic, with a
    Wilson interval. The difference of means (A − B) gets a percentile-bootstrap CI. Below the
    sign test's Noether seed count, and while the interval holds ½, a note says that the
    sweep cannot decide. The correlation of A and B across the pairs is what the pairing
    exploits: shared seeds (init, data order, data draw) move both sides together.

    Args:
        a, b: finite values, paired by position.
        larger_is_better: True for accuracies, False for costs.
        seed: bootstrap seed (int or Generator).
        n_boot: bootstrap resamples.
        level: confidence level.

    Returns:
        PairedStats; statistics are None when there is no pair.

    Raises:
        ValueError: lengths differ, non-finite values, bad n_boot or level.
    """
    xa, xb = _checked(a, n_boot, level), _checked(b, n_boot, level)
    if xa.size != xb.size:
        raise ValueError("paired values need the same length")
    n, needed = xa.size, noether_min_pairs()
    note = None if n >= needed else (
        f"{n} paired seeds: the sign test needs about {needed} to detect a share won of "
        f"{NOETHER_GAMMA} (Noether, α = β = {NOETHER_ALPHA})")
    if n == 0:
        return PairedStats(n_pairs=0, larger_is_better=larger_is_better, level=level,
                           min_pairs=needed, note=note)
    sign = 1.0 if larger_is_better else -1.0
    wins = np.where(sign * (xa - xb) > 0, 1.0, np.where(xa == xb, 0.5, 0.0))
    diff_ci = p_ci = (None, None)
    if n > 1:
        diff_ci = _interval(bootstrap_means(xa - xb, n_boot, seed), level)
        p_ci = wilson_interval(float(wins.mean()), n, level)
        if not p_ci[0] <= 0.5 <= p_ci[1]:
            note = None  # the interval already decides: no seed count to ask for
    return PairedStats(
        n_pairs=n, mean_a=float(xa.mean()), mean_b=float(xb.mean()),
        difference=float(np.mean(xa - xb)), difference_ci_low=diff_ci[0],
        difference_ci_high=diff_ci[1], p_a_beats_b=float(wins.mean()), p_ci_low=p_ci[0],
        p_ci_high=p_ci[1], larger_is_better=larger_is_better,
        correlation=_correlation(xa, xb), level=level, min_pairs=needed, note=note,
    )


def _correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's r of paired values; None under three pairs or with a constant side."""
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])
