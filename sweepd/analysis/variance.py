"""Where the spread of a metric comes from: crossed random-effects variance components (issue 16).

A sweep that crosses init seeds with data-order seeds and data draws gives, for each initializer
(and grid point), a complete array y[i, o, d]: one trial per combination of levels. Each factor
is a random effect, and so is each interaction:

    y = μ + a_i + b_o + c_d + (ab)_io + (ac)_id + (bc)_od + e_iod,   every term ~ N(0, σ²_term)

with the highest interaction confounded with the trial's own noise (one trial per cell): it is
reported as `residual`.

Estimator: the method of moments of the balanced crossed ANOVA (the "ANOVA estimator";
Searle, Casella & McCulloch 1992, ch. 4). Each term T has a mean square MS_T with expected value
Σ_{U ⊇ T} (∏_{f ∉ U} n_f) σ²_U, which inverts to

    σ̂²_T = Σ_{U ⊇ T} (−1)^{|U \\ T|} MS_U / ∏_{f ∉ T} n_f

(for two factors: σ̂²_init = (MS_init − MS_residual) / n_data). Initializers and grid points are
fixed effects: the sums of squares are taken within each arm and pooled, so the components are
those shared by the arms. A negative estimate is reported as 0.

Confidence intervals: the residual's is exact (χ²); every other component is a difference of
mean squares, bounded by the modified large-sample (MLS) method of Ting, Burdick, Graybill,
Jeyaratnam & Lu (1990) (Burdick & Graybill 1992, §3.3), which keeps close to its nominal level
for a handful of levels per factor where the Satterthwaite interval does not (the coverage
measured in tests/unit/analysis/test_variance.py). Bounds are clipped at 0.

No torch, no pandas: NumPy and SciPy only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from sweepd.analysis.models import VarianceComponent, VarianceDecomposition

__all__ = ["balanced_array", "decompose", "binomial_noise"]

ESTIMATOR = ("method of moments (balanced crossed random-effects ANOVA, pooled within "
             "initializers and grid points); CIs: modified large-sample (Ting et al. 1990)")


def decompose(arms: Sequence[np.ndarray], factors: Sequence[str], *, metric: str = "",
              level: float = 0.95, test_noise: float | None = None) -> VarianceDecomposition:
    """Variance components of a crossed design, pooled over arms of the same shape.

    Args:
        arms: one array per arm (initializer × grid point), axis j holding factor j's levels;
            every cell finite (one trial per combination). All arms share a shape.
        factors: the name of each axis ("init", "order", "data"), at least two, each with at
            least two levels.
        metric: the metric the values are of (reported back).
        level: confidence level of the intervals.
        test_noise: the binomial variance of an accuracy measured on the test set
            (`binomial_noise`), reported beside the components, or None.

    Returns:
        Every main effect and interaction, the highest one named `residual`.

    Raises:
        ValueError: fewer than two factors or levels, arms of different shapes, missing cells.
    """
    shape = _checked(arms, factors)
    terms = _terms(len(factors))
    ss, df = _pooled_squares(arms, terms)
    ms = {t: ss[t] / df[t] for t in terms}
    components = []
    for term in terms:
        coefs = _coefficients(term, terms, shape)
        estimate = sum(c * ms[u] for u, c in coefs.items())
        low, high = _interval(coefs, ms, df, level)
        components.append((term, max(0.0, estimate), low, high))
    total = sum(c[1] for c in components)
    out = [VarianceComponent(
        name=_name(term, factors), factors=[factors[j] for j in term], variance=var,
        ci_low=low, ci_high=high, sd=math.sqrt(var), sd_ci_low=math.sqrt(low),
        sd_ci_high=math.sqrt(high), share=var / total if total > 0 else None,
        df=int(df[term])) for term, var, low, high in components]
    return VarianceDecomposition(
        metric=metric, factors=list(factors), levels=dict(zip(factors, shape)),
        n_arms=len(arms), n_trials=len(arms) * math.prod(shape), components=out,
        largest=max(out, key=lambda c: c.variance).name if total > 0 else None,
        total=total, test_noise=test_noise, level=level, estimator=ESTIMATOR)


def balanced_array(cells: Mapping[tuple, float]) -> tuple[np.ndarray, list[list]]:
    """The largest complete array of a crossed design with some cells missing.

    Levels are dropped one at a time, the one with the most missing cells first, until every
    remaining combination has a finite value (a diverged trial or an unfinished one costs its
    levels, not the whole decomposition).

    Args:
        cells: (level of factor 0, level of factor 1, ...) → value; NaN counts as missing.

    Returns:
        The array and the levels kept along each axis (sorted).
    """
    n = len(next(iter(cells))) if cells else 0
    kept = [sorted({key[j] for key in cells}) for j in range(n)]
    while True:
        array = np.array([cells.get(combo, math.nan)
                          for combo in itertools.product(*kept)], dtype=float)
        array = array.reshape([len(k) for k in kept]) if n else array
        missing = ~np.isfinite(array)
        if not missing.any() or array.size == 0:
            return array, kept
        worst = max(((j, i, missing.take(i, axis=j).sum() / missing.take(i, axis=j).size)
                     for j in range(n) for i in range(len(kept[j]))), key=lambda t: t[2])
        j, i, _ = worst
        kept[j] = kept[j][:i] + kept[j][i + 1:]


def binomial_noise(accuracy: float, n_test: int) -> float | None:
    """p(1 − p) / n: the variance of an accuracy measured on `n_test` independent points
    (what a fresh test set of the same size alone would add to the data component)."""
    if n_test <= 0 or not math.isfinite(accuracy):
        return None
    return accuracy * (1.0 - accuracy) / n_test


# ---------------------------------------------------------------------------------------------
# The ANOVA.
# ---------------------------------------------------------------------------------------------


def _checked(arms: Sequence[np.ndarray], factors: Sequence[str]) -> tuple[int, ...]:
    if len(factors) < 2:
        raise ValueError("a decomposition needs at least two crossed factors")
    if not arms:
        raise ValueError("no arm to decompose")
    shape = tuple(np.shape(arms[0]))
    if len(shape) != len(factors):
        raise ValueError(f"{len(factors)} factors but arrays of {len(shape)} axes")
    if any(tuple(np.shape(a)) != shape for a in arms):
        raise ValueError("every arm must have the same levels")
    if min(shape) < 2:
        raise ValueError("every factor needs at least two levels")
    if not all(np.isfinite(a).all() for a in arms):
        raise ValueError("every cell needs a finite value (see balanced_array)")
    return shape


def _terms(k: int) -> list[tuple[int, ...]]:
    """Every non-empty subset of the axes, main effects first, the residual last."""
    return [c for r in range(1, k + 1) for c in itertools.combinations(range(k), r)]


def _effect(y: np.ndarray, term: tuple[int, ...]) -> np.ndarray:
    """The term's effect, broadcast to y's shape: inclusion–exclusion of marginal means."""
    out = np.zeros_like(y, dtype=float)
    for r in range(len(term) + 1):
        for kept in itertools.combinations(term, r):
            others = tuple(j for j in range(y.ndim) if j not in kept)
            sign = (-1) ** (len(term) - r)
            out = out + sign * y.mean(axis=others, keepdims=True)
    return out


def _pooled_squares(arms: Sequence[np.ndarray], terms: list[tuple[int, ...]]
                    ) -> tuple[dict, dict]:
    shape = np.shape(arms[0])
    ss = {t: sum(float((_effect(np.asarray(a, float), t) ** 2).sum()) for a in arms)
          for t in terms}
    df = {t: len(arms) * math.prod(shape[j] - 1 for j in t) for t in terms}
    return ss, df


def _coefficients(term: tuple[int, ...], terms: list[tuple[int, ...]],
                  shape: tuple[int, ...]) -> dict[tuple[int, ...], float]:
    """σ̂²_T as Σ c_U MS_U (the inverse of the expected mean squares)."""
    scale = math.prod(n for j, n in enumerate(shape) if j not in term)
    return {u: (-1) ** (len(u) - len(term)) / scale for u in terms if set(term) <= set(u)}


def _interval(coefs: dict, ms: dict, df: dict, level: float) -> tuple[float, float]:
    """The MLS interval of Σ c_q MS_q − Σ d_r MS_r; exact χ² for a single mean square."""
    a = (1 - level) / 2
    pos = [(c, ms[u], df[u]) for u, c in coefs.items() if c > 0]
    neg = [(-c, ms[u], df[u]) for u, c in coefs.items() if c < 0]
    estimate = sum(c * s for c, s, _ in pos) - sum(d * s for d, s, _ in neg)
    if not neg and len(pos) == 1:
        c, s, n = pos[0]
        return (c * s * n / stats.chi2.ppf(1 - a, n), c * s * n / stats.chi2.ppf(a, n))
    var_low = sum(_g(n, a) ** 2 * (c * s) ** 2 for c, s, n in pos)
    var_low += sum(_h(n, a) ** 2 * (d * s) ** 2 for d, s, n in neg)
    var_high = sum(_h(n, a) ** 2 * (c * s) ** 2 for c, s, n in pos)
    var_high += sum(_g(n, a) ** 2 * (d * s) ** 2 for d, s, n in neg)
    for c, s, n in pos:
        for d, t, m in neg:
            var_low += _g_cross(n, m, a) * c * s * d * t
            var_high += _h_cross(n, m, a) * c * s * d * t
    low = estimate - math.sqrt(max(var_low, 0.0))
    high = estimate + math.sqrt(max(var_high, 0.0))
    return max(0.0, low), max(0.0, high)


def _g(n: float, a: float) -> float:
    return 1 - n / stats.chi2.ppf(1 - a, n)  # 1 − 1 / F_{a: n, ∞}


def _h(n: float, a: float) -> float:
    return n / stats.chi2.ppf(a, n) - 1  # 1 / F_{1−a: n, ∞} − 1


def _g_cross(n: float, m: float, a: float) -> float:
    f = stats.f.ppf(1 - a, n, m)
    return ((f - 1) ** 2 - _g(n, a) ** 2 * f ** 2 - _h(m, a) ** 2) / f


def _h_cross(n: float, m: float, a: float) -> float:
    f = stats.f.ppf(a, n, m)
    return ((1 - f) ** 2 - _h(n, a) ** 2 * f ** 2 - _g(m, a) ** 2) / f


def _name(term: tuple[int, ...], factors: Sequence[str]) -> str:
    if len(term) == len(factors):
        return "residual"
    return " × ".join(factors[j] for j in term)
