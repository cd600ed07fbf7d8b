"""Seeds until decided (issue 15, item 3): an anytime-valid rule for one comparison of two
initializers, looked at after every block of seeds, and the plan of the next block.

**What is estimated.** Runs of two initializers are unpaired (docs/verdict.md: a seed draws
different initial weights under each initializer and there is no data order to share), so
the effect is a two-sample one: Δ, the median of D = a − b for an A run a and an independent
B run b — the population value of the verdict's Hodges–Lehmann shift, in the metric's own
units, so the verdict's ROPE applies to it unchanged. Its slice at zero is the verdict's
P(A > B): h(δ) = P(D > δ) + ½ P(D = δ) is non-increasing in δ, Δ is where h crosses ½, and
h(0) = P(A > B) + ½ P(A = B). When A and B have the same distribution, D is symmetric and
h(0) = ½ exactly, ties and atoms included — the null hypothesis the false-winner rate is
about. Only the order of a − b against δ is used (a sign test), so the sequence needs no
bound on the metric: a bounded difference of clipped metrics would need the metric's range,
and a range as wide as accuracy's [0, 1] against a ROPE of 0.5 pp would take thousands of
seeds.

**Independent observations.** Seeds arrive in blocks (`initial`, then `step` at a time, the
last cut at `max`); a look happens only at the end of a block. Within a block of k seeds, the
i-th A run is compared with the (i + s) mod k-th B run, for each cyclic shift s = 1 … k − 1
(s = 0 only when k = 1): every pair is two runs with *different* seeds of different
initializers — two independent draws from F_A × F_B, whatever the runs that share a seed
have in common — so X_i(δ) = 1{d_i > δ} + ½ 1{d_i = δ} is a [0, 1]-valued draw with mean
h(δ), and under the unpaired model the k pairs of one shift are independent of each other
and of every other block. The shifts together use each of the block's k(k − 1) cross pairs
once. A run that diverged or produced no value (NaN) counts as the worst value; two such runs
tie.

**The confidence sequence** (Waudby-Smith & Ramdas 2024, "Estimating means of bounded random
variables by betting", JRSS-B 86(1): capital processes of a bettor against the hypothesis
"the mean is m", their hedged two-sided construction and mixtures of bets; time-uniform
validity by Ville's inequality, as in Howard et al. 2021, "Time-uniform, nonparametric,
nonasymptotic confidence sequences", Ann. Statist. 49(2)). For each δ and a fixed bet
λ ∈ (0, 2), a bettor wagering that h(δ) > ½ multiplies their capital by 1 + λ (X_i(δ) − ½)
per pair — over a shift's pairs, (1 + λ/2)^wins (1 − λ/2)^losses, ties leaving it — and

    K⁺_b(δ) = 1/G Σ_λ  Π_{c ≤ b}  1/S Σ_s  (1 + λ/2)^{w_{c,s}(δ)} (1 − λ/2)^{l_{c,s}(δ)},

a uniform mixture over G bets λ of products over blocks of the average over the S shifts.
When h(δ) = ½ each shift's product has conditional mean 1 given the earlier blocks (its
pairs are independent, λ is fixed), an average of such products too, so K⁺(δ) is a
non-negative martingale over looks and, by Ville, P(∃ b: K⁺_b(δ) ≥ 2/α) ≤ α/2; K⁻ bets the
other way. (For a discrete metric no δ may have h(δ) = ½ exactly; the false-winner guarantee
needs only h(0) = ½, which no difference always gives.) With λ ≥ 0 every factor is
non-increasing in δ, so each rejection region is a half-line and the confidence sequence

    C_b = {δ : K⁺_c(δ) < 2/α and K⁻_c(δ) < 2/α for every look c ≤ b}

is an interval [low, high] covering Δ at every look at once with probability ≥ 1 − α (the
running intersection keeps that guarantee and makes a decision final). The mixture adapts
to the effect size: against P(A > B) = 0.95 the capital grows by about KL(0.95 ‖ ½) ≈ 0.5
nats per pair, so ten all-winning pairs already pass 2/α = 40.

**Decision** (at level α per pair): *winner* when C lies outside [−ROPE, ROPE] — it excludes
no difference and the ROPE, on one side (A better or B better); *equivalent* when C lies
inside (−ROPE, ROPE); *max_seeds* when neither holds at the `max` cap; else *undecided*. A
winner is then one the verdict ranks worse beyond the ROPE, an equivalent one it ranks
equivalent, given enough seeds; a true shift exactly at ±ROPE is the only case never decided.

**Several pairs.** The pairs that matter are the best arm (highest IQM, read from the data)
against each other working arm. Which arm is best can change from look to look, so α is
split (Bonferroni) over every unordered pair of the N arms, failed ones included —
α/(N(N − 1)/2), fixed by the spec — so that all pairs' sequences hold at once and neither the
choice of the best nor the failed tier can inflate the error. Failed arms get no seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sweepd.analysis import inference as inf

BETS = np.linspace(0.1, 1.9, 19)  # λ of the mixture; 1 + λ(X − ½) > 0 for X ∈ [0, 1] needs λ < 2
_LOG_WIN, _LOG_LOSS = np.log1p(BETS / 2), np.log1p(-BETS / 2)
UNDECIDED, A_BETTER, B_BETTER, EQUIVALENT = 0, 1, 2, 3  # look_states' codes
STOP_REASONS = ("decided", "equivalent", "max_seeds")


@dataclass(frozen=True)
class PairDecision:
    """The rule's answer for A against B after the last complete block.

    `low`/`high` bound Δ, the median of a − b (oriented: larger is better), with the
    confidence sequence at level 1 − `alpha`; `history` holds the state after each look.
    """

    state: str  # "winner", "equivalent", "undecided" or "max_seeds"
    winner: str | None  # "a" or "b" when state is "winner"
    low: float
    high: float
    n: int  # seeds per arm in the complete blocks used
    p_a_beats_b: float | None  # P̂(A > B), ties one half, over the pairs used
    alpha: float
    history: tuple[str, ...]


@dataclass(frozen=True)
class BlockPlan:
    """What to run next: `seeds` more per arm (absent: none), or why to stop."""

    stop: str | None  # one of STOP_REASONS, or None while seeds are still needed
    best: str | None
    seeds: dict[str, int]
    decisions: dict[str, PairDecision]  # the best against each other working arm
    alpha: float  # the level of each pair's confidence sequence


def block_sizes(n: int, *, initial: int, step: int, max_seeds: int | None = None) -> list[int]:
    """The complete blocks among the first n seeds: `initial`, then `step` at a time, the
    last cut so that the total never passes `max_seeds`."""
    sizes: list[int] = []
    total = 0
    while True:
        size = initial if not sizes else step
        if max_seeds is not None:
            size = min(size, max_seeds - total)
        if size <= 0 or total + size > n:
            return sizes
        sizes.append(size)
        total += size


def decide(a_values: Sequence[float], b_values: Sequence[float], *, rope: float,
           alpha: float = inf.ALPHA, larger_is_better: bool = True, initial: int = 10,
           step: int = 10, max_seeds: int | None = None) -> PairDecision:
    """Decide A against B from their values in seed order (NaN: diverged, the worst value).

    Only blocks complete in both arms count (the block schedule is `block_sizes`).

    Raises:
        ValueError: rope ≤ 0, alpha outside (0, 1), or a block size below 1.
    """
    _check(rope, alpha, initial, step)
    a, b = _oriented(a_values, larger_is_better), _oriented(b_values, larger_is_better)
    sizes = block_sizes(min(a.size, b.size), initial=initial, step=step, max_seeds=max_seeds)
    n = sum(sizes)
    if not sizes:
        return PairDecision("undecided", None, -math.inf, math.inf, 0, None, alpha, ())
    diffs = _differences(a[None, :n], b[None, :n], sizes)
    codes = _codes(diffs, rope, alpha)[0]
    history = [_name(int(c)) for c in codes]
    if max_seeds is not None and n >= max_seeds and history[-1] == "undecided":
        history[-1] = "max_seeds"
    low, high = _bounds([d[0] for d in diffs], alpha)
    flat = np.concatenate([d.ravel() for d in diffs])
    p = float(np.mean((flat > 0) + 0.5 * ((flat == 0) | np.isnan(flat))))
    last = int(codes[-1])
    winner = {A_BETTER: "a", B_BETTER: "b"}.get(last)
    return PairDecision(history[-1], winner, low, high, n, p, alpha, tuple(history))


def look_states(a: np.ndarray, b: np.ndarray, *, rope: float, alpha: float,
                sizes: Sequence[int]) -> np.ndarray:
    """The decision code after each block for many streams at once (vectorised simulation).

    Args:
        a, b: (runs, seeds) oriented values (larger is better; −inf the worst).
        sizes: the block lengths (`block_sizes`), summing to at most `seeds`.

    Returns:
        (runs, looks) int codes: UNDECIDED, A_BETTER, B_BETTER or EQUIVALENT; a decision, once
        reached, stays (running intersection of the confidence sequence).
    """
    return _codes(_differences(a, b, sizes), rope, alpha)


def _codes(diffs: list[np.ndarray], rope: float, alpha: float) -> np.ndarray:
    up, down = _log_capital(diffs, np.array([-rope, rope]))
    reject = math.log(2 / alpha)
    up_hit = np.maximum.accumulate(up >= reject, axis=-1)  # (runs, 2, looks)
    down_hit = np.maximum.accumulate(down >= reject, axis=-1)
    codes = np.where(up_hit[:, 0] & down_hit[:, 1], EQUIVALENT, UNDECIDED)
    codes = np.where(down_hit[:, 0], B_BETTER, codes)
    return np.where(up_hit[:, 1], A_BETTER, codes)


def plan_block(arms: Mapping[str, Sequence[float]], *, rope: float, alpha: float = inf.ALPHA,
               larger_is_better: bool = True, initial: int = 10, step: int = 10,
               max_seeds: int = 200, failed: Collection[str] = ()) -> BlockPlan:
    """Given every arm's values so far (seed order, NaN for a run that diverged), the seeds
    each arm needs next, or why the sweep stops.

    The best working arm (highest IQM) is compared with each other working arm at level
    α/(N(N − 1)/2); the arms of an undecided pair get seeds up to the end of the next block,
    never past `max_seeds`; failed arms get none.
    """
    _check(rope, alpha, initial, step)
    names = list(arms)
    working = [k for k in names if k not in failed]
    level = alpha / max(1, len(names) * (len(names) - 1) // 2)
    values = {k: _oriented(arms[k], larger_is_better) for k in working}
    if any(values[k].size < initial for k in working) or len(working) < 2:
        seeds = {k: _to_next_look(values[k].size, initial, step, max_seeds) for k in working
                 if values[k].size < initial}
        return BlockPlan(None if seeds else "decided", None, seeds, {}, level)
    best = max(working, key=lambda k: inf.iqm(values[k]))
    decisions = {k: decide(values[best], values[k], rope=rope, alpha=level, initial=initial,
                           step=step, max_seeds=max_seeds) for k in working if k != best}
    seeds: dict[str, int] = {}
    for other, decision in decisions.items():
        if decision.state == "undecided":
            for arm in (best, other):
                more = _to_next_look(values[arm].size, initial, step, max_seeds)
                if more > 0:
                    seeds[arm] = more
    return BlockPlan(None if seeds else _stop_reason(decisions), best, seeds, decisions, level)


def _stop_reason(decisions: Mapping[str, PairDecision]) -> str:
    states = {d.state for d in decisions.values()}
    if states == {"equivalent"}:
        return "equivalent"
    return "max_seeds" if states & {"max_seeds", "undecided"} else "decided"


def _to_next_look(n: int, initial: int, step: int, max_seeds: int) -> int:
    """Seeds from n to the end of the next block (0 at the cap)."""
    if n < initial:
        return min(initial, max_seeds) - n
    end = initial + step * ((n - initial) // step + 1)
    return max(0, min(end, max_seeds) - n)


def _check(rope: float, alpha: float, initial: int, step: int) -> None:
    if not (math.isfinite(rope) and rope > 0):
        raise ValueError("rope must be a positive number")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    if initial < 1 or step < 1:
        raise ValueError("initial and step must be at least 1")


def _oriented(values: Sequence[float], larger_is_better: bool) -> np.ndarray:
    """Larger is better; NaN (a run that diverged) becomes −inf, the worst value."""
    x = np.asarray(values, dtype=np.float64)
    x = x if larger_is_better else -x
    return np.where(np.isnan(x), -np.inf, x)


def _differences(a: np.ndarray, b: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """Per block, (runs, shifts, k) differences a_i − b_{(i+s) mod k}, s = 1 … k − 1 (s = 0
    for k = 1); NaN where both runs are −inf (a tie)."""
    out, start = [], 0
    for k in sizes:
        xa, xb = a[:, start:start + k], b[:, start:start + k]
        shifts = range(1, k) if k > 1 else range(1)
        rolled = np.stack([np.roll(xb, -s, axis=1) for s in shifts], axis=1)
        with np.errstate(invalid="ignore"):
            out.append(xa[:, None, :] - rolled)
        start += k
    return out


def _log_capital(diffs: list[np.ndarray], deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log K⁺ and log K⁻ after each block at each δ: arrays (..., deltas, looks)."""
    up, down = [], []
    total_up = total_down = 0.0
    for d in diffs:  # (..., S, k)
        above = (d[..., None, :, :] > deltas[:, None, None]).sum(-1)  # (..., Δ, S)
        below = (d[..., None, :, :] < deltas[:, None, None]).sum(-1)
        total_up = total_up + _block_growth(above, below)
        total_down = total_down + _block_growth(below, above)
        up.append(_log_mean_exp(total_up))
        down.append(_log_mean_exp(total_down))
    return np.stack(up, axis=-1), np.stack(down, axis=-1)


def _block_growth(wins: np.ndarray, losses: np.ndarray) -> np.ndarray:
    """log of the block's factor, averaged over shifts, per bet: (..., S) → (..., G)."""
    log_f = wins[..., None] * _LOG_WIN + losses[..., None] * _LOG_LOSS
    return _log_mean_exp(log_f, axis=-2)


def _log_mean_exp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log of the mean of exp(x) along `axis`, without overflow."""
    top = x.max(axis=axis, keepdims=True)
    return np.log(np.exp(x - top).mean(axis=axis)) + np.squeeze(top, axis=axis)


def _bounds(diffs: list[np.ndarray], alpha: float) -> tuple[float, float]:
    """[low, high] of the running intersection: the closure of the exact set.

    The capitals change only at observed differences, so each rejection region's edge is an
    observed difference; the gaps between them are searched by bisection (the regions are
    half-lines), one point of a gap standing for all of it.
    """
    u = np.unique(np.concatenate([d.ravel() for d in diffs]))
    u = u[~np.isnan(u)]
    lo_ends, hi_ends = np.concatenate([[-np.inf], u]), np.concatenate([u, [np.inf]])
    with np.errstate(invalid="ignore"):
        inside = np.where(np.isfinite(lo_ends) & np.isfinite(hi_ends), (lo_ends + hi_ends) / 2,
                          np.where(np.isfinite(lo_ends), lo_ends + 1, hi_ends - 1))
    gap = lo_ends < hi_ends  # (−inf, −inf) when some difference is −inf: no gap
    lo_ends, hi_ends = lo_ends[gap], hi_ends[gap]
    inside = np.where(np.isnan(inside[gap]), 0.0, inside[gap])  # the gap (−inf, inf)
    reject = math.log(2 / alpha)

    def rejected(side: int) -> Callable[[np.ndarray], np.ndarray]:
        return lambda i: _log_capital(diffs, inside[i])[side].max(-1) >= reject

    below = _first_false(inside.size, rejected(0))
    above = _first_false(inside.size, lambda i: ~rejected(1)(i))
    low = float(hi_ends[below - 1]) if below > 0 else -math.inf
    high = float(lo_ends[above]) if above < inside.size else math.inf
    return low, high


def _first_false(n: int, holds: Callable[[np.ndarray], np.ndarray], probes: int = 64) -> int:
    """The first index in [0, n) where a predicate that holds on a prefix fails (n: never),
    probing up to `probes` indices at once (two rounds for four thousand gaps)."""
    lo, hi = 0, n
    while lo < hi:
        idx = np.unique(np.linspace(lo, hi - 1, min(probes, hi - lo)).astype(int))
        fails = np.flatnonzero(~holds(idx))
        if fails.size == 0:
            lo = int(idx[-1]) + 1
        else:
            hi = int(idx[fails[0]])
            lo = int(idx[fails[0] - 1]) + 1 if fails[0] > 0 else lo
    return lo


def _name(code: int) -> str:
    return "undecided" if code == UNDECIDED else "equivalent" if code == EQUIVALENT else "winner"
