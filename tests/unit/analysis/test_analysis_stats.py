import math

import numpy as np
import pytest

from sweepd.analysis.stats import (
    binomial_se,
    bootstrap_means,
    describe,
    noether_min_pairs,
    paired,
)


def test_compute_noether_threshold_gives_44_for_the_sign_test():
    # The paired share-won statistic is a sign test: (z_.95 + z_.95)² / (4 (γ − ½)²) = 43.3.
    assert noether_min_pairs(0.75, 0.05, 0.05) == 44
    assert noether_min_pairs() == 44


def test_compute_noether_threshold_grows_for_smaller_effects():
    assert noether_min_pairs(0.6) > noether_min_pairs(0.75) > noether_min_pairs(0.9)


def test_describe_values_matches_numpy():
    values = np.array([0.9, 0.95, 0.97, 0.91, 0.99, 0.93])
    s = describe(values)
    assert s.n == 6
    assert s.mean == pytest.approx(values.mean())
    assert s.std == pytest.approx(values.std(ddof=1))
    assert s.median == pytest.approx(np.median(values))
    assert (s.min, s.max) == (0.9, 0.99)
    assert s.ci_low < s.mean < s.ci_high
    assert values.min() <= s.ci_low and s.ci_high <= values.max()


def test_describe_values_is_deterministic_for_a_seed():
    values = np.random.default_rng(3).normal(size=40)
    assert describe(values, seed=7) == describe(values, seed=7)
    assert describe(values, seed=7).iqm_ci_low != describe(values, seed=8).iqm_ci_low


def test_describe_ci_covers_a_known_mean_at_about_the_nominal_rate():
    rng = np.random.default_rng(0)
    covered = 0
    for rep in range(300):
        s = describe(rng.normal(1.0, 2.0, size=100), seed=rep, n_boot=1000)
        covered += s.ci_low <= 1.0 <= s.ci_high
    assert 0.90 <= covered / 300 <= 0.98


def test_describe_single_value_has_no_std_or_interval():
    s = describe([0.5])
    assert (s.n, s.mean, s.std, s.ci_low, s.ci_high) == (1, 0.5, None, None, None)
    assert describe([]).n == 0 and describe([]).mean is None


def test_describe_rejects_non_finite_values():
    with pytest.raises(ValueError, match="finite"):
        describe([0.1, float("nan")])


def test_bootstrap_means_chunks_give_the_requested_number_of_resamples():
    means = bootstrap_means(np.arange(10.0), 37, seed=1)
    assert means.shape == (37,) and np.all((0 <= means) & (means <= 9))


def test_paired_always_better_gives_p_one_with_a_wilson_interval_below_one():
    a = np.linspace(0.90, 0.99, 20)
    p = paired(a, a - 0.01)
    assert p.p_a_beats_b == 1.0
    # Not the bootstrap's zero-width [1, 1]: 20 of 20 pairs won is compatible with 0.84.
    assert p.p_ci_high == 1.0 and p.p_ci_low == pytest.approx(0.8389, abs=1e-3)
    assert p.difference == pytest.approx(0.01)
    assert (p.difference_ci_low, p.difference_ci_high) == (pytest.approx(0.01),
                                                           pytest.approx(0.01))


def test_paired_symmetric_noise_gives_p_near_one_half():
    rng = np.random.default_rng(1)
    p = paired(rng.normal(size=2000), rng.normal(size=2000))
    assert p.p_a_beats_b == pytest.approx(0.5, abs=0.04)
    assert p.p_ci_low < 0.5 < p.p_ci_high
    assert p.difference_ci_low < 0 < p.difference_ci_high


def test_paired_ties_count_one_half():
    p = paired([1.0, 1.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0])
    assert p.p_a_beats_b == pytest.approx((0.5 + 0.5 + 1 + 0) / 4)


def test_paired_costs_count_lower_as_better():
    p = paired([0.1, 0.2, 0.3], [0.2, 0.3, 0.4], larger_is_better=False)
    assert p.p_a_beats_b == 1.0 and p.difference == pytest.approx(-0.1)


def test_paired_difference_interval_contains_a_known_shift():
    rng = np.random.default_rng(2)
    b = rng.normal(size=500)
    p = paired(b + 0.3 + rng.normal(0, 0.5, 500), b)
    assert p.difference_ci_low < 0.3 < p.difference_ci_high
    assert p.difference_ci_low > 0


def test_paired_note_appears_below_the_noether_count_and_not_at_it():
    rng = np.random.default_rng(4)
    few = paired(rng.normal(size=43), rng.normal(size=43))
    enough = paired(rng.normal(size=44), rng.normal(size=44))
    assert few.note is not None and "43" in few.note and "44" in few.note
    assert "sign test" in few.note
    assert enough.note is None
    assert few.min_pairs == enough.min_pairs == 44


def test_paired_note_is_dropped_when_the_interval_already_decides():
    decided = paired([0.9] * 8, [0.5] * 8)  # A wins every pair: the interval excludes ½
    assert decided.n_pairs == 8 < decided.min_pairs and decided.note is None


def test_paired_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="same length"):
        paired([1.0, 2.0], [1.0])


def test_binomial_se_matches_the_formula():
    assert binomial_se(0.971, 1000) == pytest.approx(math.sqrt(0.971 * 0.029 / 1000))
    assert binomial_se(1.0, 10) == 0.0
    with pytest.raises(ValueError):
        binomial_se(1.2, 10)
