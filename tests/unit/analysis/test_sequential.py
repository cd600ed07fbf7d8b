"""Seeds until decided (issue 15): the anytime-valid rule on synthetic outcome streams with a
known truth — right winner fast, equivalence or the cap under no difference, a false-winner
rate within α over many runs, the cap never passed, a confidence sequence that covers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sweepd.analysis import sequential as sq

ALPHA = 0.05


def shift_for(p_a_beats_b: float) -> float:
    """Mean shift of two unit normals with P(A > B) = p (D = A − B ~ N(shift, 2))."""
    return math.sqrt(2) * float(stats.norm.ppf(p_a_beats_b))


def run_adaptive(means: dict[str, float], rng: np.random.Generator, *, rope: float,
                 max_seeds: int = 200, failed: tuple[str, ...] = (), **kwargs):
    """Drive plan_block to its stop, drawing unit-normal outcomes for the seeds it asks for."""
    values: dict[str, list[float]] = {name: [] for name in means}
    for _ in range(1000):
        plan = sq.plan_block(values, rope=rope, max_seeds=max_seeds, failed=failed, **kwargs)
        if plan.stop is not None:
            return plan, values
        for arm, more in plan.seeds.items():
            values[arm].extend(rng.normal(means[arm], 1.0, more))
    raise AssertionError("the plan never stopped")


def first_decisions(a: np.ndarray, b: np.ndarray, *, rope: float,
                    sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """State code at the first decided look (or the last look) and the seeds used, per run."""
    codes = sq.look_states(a, b, rope=rope, alpha=ALPHA, sizes=sizes)
    decided = codes != sq.UNDECIDED
    first = np.where(decided.any(1), decided.argmax(1), codes.shape[1] - 1)
    return codes[np.arange(codes.shape[0]), first], np.cumsum(sizes)[first]


def test_a_clear_winner_is_named_after_one_or_two_blocks():
    rng = np.random.default_rng(1)
    mu = shift_for(0.95)
    for _ in range(20):
        plan, values = run_adaptive({"glorot": mu, "he": 0.0}, rng, rope=0.1)
        decision = plan.decisions["he"]
        assert plan.stop == "decided" and plan.best == "glorot"
        assert decision.state == "winner" and decision.winner == "a"
        assert decision.low > 0.1  # the sequence lies beyond the ROPE
        assert len(values["glorot"]) <= 20


def test_the_worse_arm_as_a_is_named_b_and_smaller_is_better_flips_it():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 20), rng.normal(shift_for(0.95), 1, 20)
    assert sq.decide(a, b, rope=0.1).winner == "b"
    flipped = sq.decide(a, b, rope=0.1, larger_is_better=False)
    assert flipped.winner == "a" and flipped.p_a_beats_b > 0.8


def test_equal_arms_stop_as_equivalent_or_at_max():
    rng = np.random.default_rng(3)
    reasons = []
    for _ in range(10):
        plan, values = run_adaptive({"a": 0.0, "b": 0.0}, rng, rope=0.5)
        assert plan.stop in ("equivalent", "max_seeds")
        assert all(d.state != "winner" for d in plan.decisions.values())
        assert max(len(v) for v in values.values()) <= 200
        reasons.append(plan.stop)
    assert reasons.count("equivalent") >= 5  # the equivalence branch really decides


@pytest.mark.parametrize("outcomes", ["normal", "accuracy"])
def test_false_winner_rate_with_equal_arms_is_within_alpha_over_500_runs(outcomes):
    rng = np.random.default_rng(4)
    runs, seeds = 500, 200
    sizes = sq.block_sizes(seeds, initial=10, step=10, max_seeds=seeds)
    if outcomes == "normal":
        a, b, rope = rng.normal(0, 1, (runs, seeds)), rng.normal(0, 1, (runs, seeds)), 0.1
    else:  # accuracies on 1 000 test points: many ties, as on moons
        a, b = (rng.binomial(1000, 0.9, (runs, seeds)) / 1000 for _ in range(2))
        rope = 0.001
    state, _ = first_decisions(a, b, rope=rope, sizes=sizes)
    false_winners = np.isin(state, (sq.A_BETTER, sq.B_BETTER)).mean()
    assert false_winners <= ALPHA
    # ... while the same rule with the same looks does find a real difference in these data
    lifted, _ = first_decisions(a + 20 * rope, b, rope=rope, sizes=sizes)
    assert (lifted == sq.A_BETTER).mean() > 0.95


def test_peeking_every_block_is_what_is_controlled():
    """A naive rule — a fixed-sample Mann–Whitney test at every look — declares far more false
    winners than α on the same streams; the sequence stays within α."""
    rng = np.random.default_rng(5)
    runs, seeds = 500, 100
    a, b = rng.normal(0, 1, (runs, seeds)), rng.normal(0, 1, (runs, seeds))
    sizes = sq.block_sizes(seeds, initial=10, step=10)
    state, _ = first_decisions(a, b, rope=1e-9, sizes=sizes)
    naive = np.zeros(runs, dtype=bool)
    for n in np.cumsum(sizes):
        naive |= stats.mannwhitneyu(a[:, :n], b[:, :n], axis=1).pvalue < ALPHA
    assert naive.mean() > 1.5 * ALPHA
    assert np.isin(state, (sq.A_BETTER, sq.B_BETTER)).mean() <= ALPHA


def test_the_confidence_sequence_covers_the_true_shift_at_every_look():
    rng = np.random.default_rng(6)
    mu = shift_for(0.75)  # the median of A − B
    covered, widths = 0, []
    for _ in range(300):
        d = sq.decide(rng.normal(mu, 1, 60), rng.normal(0, 1, 60), rope=5.0, max_seeds=60)
        covered += d.low <= mu <= d.high  # the running intersection: every look at once
        widths.append(d.high - d.low)
    assert covered / 300 >= 1 - ALPHA
    assert np.isfinite(widths).all() and np.median(widths) < 2.0  # not vacuous


def test_the_state_agrees_with_the_bounds():
    rng = np.random.default_rng(13)
    seen = set()
    for _ in range(60):
        a, b = np.round(rng.normal(rng.normal(0, 0.7), 1, 30), 1), np.round(rng.normal(0, 1, 30), 1)
        d = sq.decide(a, b, rope=0.2)
        inside = -0.2 <= d.low and d.high <= 0.2
        beyond = d.low >= 0.2 or d.high <= -0.2
        assert d.low <= d.high
        assert (d.state == "winner") == beyond and (d.state == "equivalent") == (inside and not beyond)
        assert d.winner == ("a" if d.low >= 0.2 else "b" if d.high <= -0.2 else None)
        seen.add(d.state)
    assert {"winner", "undecided"} <= seen


def test_p_a_beats_b_estimates_the_probability_of_improvement():
    rng = np.random.default_rng(7)
    d = sq.decide(rng.normal(shift_for(0.7), 1, 200), rng.normal(0, 1, 200), rope=0.1)
    assert d.p_a_beats_b == pytest.approx(0.7, abs=0.04)
    assert d.n == 200 and len(d.history) == 20


def test_the_cap_is_never_passed_with_three_arms_and_a_short_last_block():
    rng = np.random.default_rng(8)
    plan, values = run_adaptive({"a": 0.0, "b": 0.05, "c": 0.1}, rng, rope=1e-3,
                                max_seeds=35)
    assert plan.stop == "max_seeds"
    assert max(len(v) for v in values.values()) == 35
    assert all(d.n == 35 and d.state == "max_seeds" for d in plan.decisions.values())
    assert sq.block_sizes(35, initial=10, step=10, max_seeds=35) == [10, 10, 10, 5]


def test_failed_arms_get_no_seeds_and_count_in_the_split():
    rng = np.random.default_rng(9)
    plan, values = run_adaptive({"zeros": 0.0, "glorot": 0.0, "he": 0.0}, rng, rope=0.5,
                                failed=("zeros",))
    assert values["zeros"] == []
    assert set(plan.decisions) == {"he"} or set(plan.decisions) == {"glorot"}
    assert plan.alpha == pytest.approx(ALPHA / 3)
    only = sq.plan_block({"zeros": [], "glorot": [0.9] * 10}, rope=0.01, failed=("zeros",))
    assert only.stop == "decided" and only.seeds == {}  # nothing left to compare


def test_the_first_plan_asks_for_the_initial_block_and_then_one_step():
    start = sq.plan_block({"a": [], "b": []}, rope=0.1, initial=8, step=4)
    assert start.stop is None and start.seeds == {"a": 8, "b": 8}
    rng = np.random.default_rng(10)
    close = {"a": list(rng.normal(0, 1, 8)), "b": list(rng.normal(0.1, 1, 8))}
    more = sq.plan_block(close, rope=0.01, initial=8, step=4)
    assert more.seeds == {"a": 4, "b": 4}
    assert more.best == max(close, key=lambda k: stats.trim_mean(close[k], 0.25))


def test_all_ties_are_equivalent_at_once_and_never_a_winner():
    d = sq.decide([0.97] * 10, [0.97] * 10, rope=0.005)
    assert d.state == "equivalent" and d.low == 0.0 and d.high == 0.0
    assert d.p_a_beats_b == 0.5


def test_diverged_runs_count_as_the_worst_value():
    rng = np.random.default_rng(11)
    good = rng.normal(0.9, 0.01, 10)
    diverged = np.full(10, np.nan)
    d = sq.decide(diverged, good, rope=0.005)
    assert d.state == "winner" and d.winner == "b" and d.high <= -0.005
    both = sq.decide(diverged, diverged, rope=0.005, max_seeds=10)
    assert both.state == "max_seeds" and both.p_a_beats_b == 0.5  # two diverged runs tie
    low_is_better = sq.decide(diverged, good, rope=0.005, larger_is_better=False)
    assert low_is_better.winner == "b"  # NaN is the worst either way


def test_too_few_seeds_and_incomplete_blocks_are_not_looked_at():
    rng = np.random.default_rng(12)
    a, b = rng.normal(3, 1, 15), rng.normal(0, 1, 9)
    short = sq.decide(a, b, rope=0.1)
    assert short.state == "undecided" and short.n == 0 and short.history == ()
    assert (short.low, short.high) == (-math.inf, math.inf)
    partial = sq.decide(a, rng.normal(0, 1, 15), rope=0.1)
    assert partial.n == 10 and len(partial.history) == 1


@pytest.mark.parametrize(("rope", "alpha", "initial"), [(0.0, 0.05, 10), (math.nan, 0.05, 10),
                                                        (0.1, 1.0, 10), (0.1, 0.05, 0)])
def test_bad_settings_are_refused(rope, alpha, initial):
    with pytest.raises(ValueError):
        sq.decide([1.0] * 10, [0.0] * 10, rope=rope, alpha=alpha, initial=initial)
