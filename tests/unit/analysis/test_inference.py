"""The verdict's statistics (issue 11): P(A > B) is rliable's U/(n·m), its interval covers at
the nominal rate and is never zero-width, seed counts follow Noether, Holm is Holm."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sweepd.analysis import inference as inf


def test_probability_of_improvement_equals_mann_whitney_u_over_nm():
    rng = np.random.default_rng(0)
    for n, m in [(5, 7), (30, 30), (12, 4)]:
        a, b = rng.normal(0.3, 1, n), rng.normal(0, 1, m)
        expected = stats.mannwhitneyu(a, b).statistic / (n * m)
        assert inf.probability_of_improvement(a, b) == pytest.approx(expected, abs=1e-12)
    ties = [1.0, 1.0, 2.0]
    assert inf.probability_of_improvement(ties, [1.0, 1.0, 1.0]) == pytest.approx(
        (3 * 0.5 + 3 * 0.5 + 3 * 1.0) / 9)
    assert inf.probability_of_improvement([1, 2], [3, 4], larger_is_better=False) == 1.0


@pytest.mark.parametrize(("n", "shift"), [(8, 0.0), (10, 1.0), (20, 0.5), (8, 3.5)])
def test_newcombe_interval_covers_at_about_the_nominal_rate(n, shift):
    # shift 3.5 is the all-agree case: most samples give P̂ = 1 (every A above every B).
    rng = np.random.default_rng(int(shift * 10) + n)
    truth = stats.norm.cdf(shift / np.sqrt(2))
    covered, zero_width, all_agree = 0, 0, 0
    for _ in range(500):
        a, b = rng.normal(shift, 1, n), rng.normal(0, 1, n)
        p = inf.probability_of_improvement(a, b)
        low, high = inf.newcombe_interval(p, n, n)
        covered += low <= truth <= high
        zero_width += high - low <= 0
        all_agree += p == 1.0
    assert 0.92 <= covered / 500 <= 0.98
    assert zero_width == 0
    if shift > 3:
        assert all_agree > 250  # the case really was exercised


def test_newcombe_interval_at_the_boundaries_is_not_degenerate():
    low, high = inf.newcombe_interval(1.0, 8, 8)
    assert high == 1.0 and 0.6 < low < 0.9
    low, high = inf.newcombe_interval(0.0, 8, 8)
    assert low == 0.0 and 0.1 < high < 0.4


def test_noether_seeds_give_29_one_sided_and_more_when_corrected():
    # One-sided α = 0.05 (two-sided 0.10), power 0.95, γ = 0.75: Noether's 29 per group.
    assert inf.noether_seeds(0.75, alpha=0.10) == 29
    assert inf.noether_seeds(0.75) == 35  # two-sided 0.05
    assert inf.noether_seeds(0.75, comparisons=11) > inf.noether_seeds(0.75)
    assert inf.noether_seeds(0.5) == inf.MAX_SEEDS + 1


def test_holm_matches_the_step_down_definition():
    assert inf.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert inf.holm([0.5]) == [0.5]
    assert inf.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 2 × 0.8 capped at 1
    assert inf.holm([0.2, 0.01, 0.3]) == pytest.approx([0.4, 0.03, 0.4])


def test_hodges_lehmann_is_the_median_difference_with_a_covering_interval():
    rng = np.random.default_rng(4)
    a, b = rng.normal(1.0, 1, 15), rng.normal(0.0, 1, 15)
    hl = inf.hodges_lehmann(a, b, 0.9)
    assert hl.estimate == pytest.approx(np.median(np.subtract.outer(a, b)))
    assert hl.low < hl.estimate < hl.high
    covered = sum(
        (d := inf.hodges_lehmann(rng.normal(0.5, 1, 12), rng.normal(0, 1, 12), 0.9)).low
        <= 0.5 <= d.high for _ in range(400))
    assert 0.86 <= covered / 400 <= 0.95


def test_hodges_lehmann_resists_a_black_swan():
    clean = [0.95, 0.951, 0.949, 0.95, 0.952, 0.95]
    swan = clean[:-1] + [0.3]
    shift = inf.hodges_lehmann(swan, clean, 0.9)
    assert abs(shift.estimate) < 0.002  # the mean difference would be −0.11


def test_clopper_pearson_is_never_zero_width():
    low, high = inf.clopper_pearson(0, 30)
    assert low == 0.0 and high == pytest.approx(0.1157, abs=1e-3)
    assert inf.clopper_pearson(30, 30)[0] == pytest.approx(1 - 0.1157, abs=1e-3)
    assert inf.clopper_pearson(0, 0) == (0.0, 1.0)


def test_equivalence_seeds_shrink_with_room_inside_the_rope():
    assert inf.equivalence_seeds(0.01, 0.01, 0.0, 0.005) > inf.equivalence_seeds(
        0.01, 0.01, 0.0, 0.01)
    assert inf.equivalence_seeds(0.01, 0.01, 0.02, 0.01) == inf.MAX_SEEDS + 1


def test_iqm_is_the_25_percent_trimmed_mean():
    values = [0.1, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 2.0]
    assert inf.iqm(values) == pytest.approx(np.mean(sorted(values)[2:6]))


def test_hodges_lehmann_stays_bounded_for_very_many_seeds():
    rng = np.random.default_rng(9)
    a, b = rng.normal(0.2, 1, 50_000), rng.normal(0.0, 1, 50_000)  # 2.5e9 pairs if held whole
    hl = inf.hodges_lehmann(a, b, 0.9)
    assert hl.low < 0.2 < hl.high and abs(hl.estimate - 0.2) < 0.05
