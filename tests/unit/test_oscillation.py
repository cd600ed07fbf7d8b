"""The edge of stability (issue 11): a period-2 cycle is told from consecutive steps, and the
reported final metrics average both phases."""

from __future__ import annotations

import numpy as np
import pytest

from sweepd import oscillation
from sweepd.engine.batch import run_batch
from sweepd.examples import seed_example


def test_detect_period_two_on_a_synthetic_cycle():
    cycle = [0.0810, 0.0812] * 4
    assert oscillation.is_period_two(cycle)
    assert oscillation.phase_gap(cycle) == pytest.approx(0.0002)
    mean = sum(cycle) / len(cycle)
    assert 0.0810 < mean < 0.0812  # the tail average lies between the phases


def test_detect_period_two_rejects_trends_flat_and_short_runs():
    assert not oscillation.is_period_two(list(np.linspace(0.09, 0.08, 8)))
    assert not oscillation.is_period_two([0.08] * 8)
    assert not oscillation.is_period_two([0.08, 0.09, 0.08])
    # A descent with a wobble smaller than the trend is no cycle either.
    assert not oscillation.is_period_two([0.09 - 0.001 * i + 0.0001 * (-1) ** i
                                          for i in range(8)])


def test_seed_example_at_lr_1_2_ends_oscillating_with_the_tail_between_phases():
    spec = seed_example(steps=10_000, seeds=8, all_initializers=False)
    trials = [t for t in spec.trials() if t.initializer_label == "glorot_uniform"]
    results = run_batch(trials)
    cycling = [r for r in results if r.tail is not None and r.tail.oscillating]
    assert len(cycling) >= 2, [r.tail for r in results]
    for r in cycling:
        assert r.tail.steps == 8 and r.tail.cost_gap > 0
    phased = [r for r in cycling if r.tail.accuracy_gap > 0]
    assert phased, "no oscillating run whose phases differ in accuracy"
    for r in phased:
        # The last step is one phase; the mean over 8 consecutive steps sits half the phase
        # gap away from it: between the two phases (the accuracies alternate exactly).
        assert abs(r.tail.test_accuracy - r.test_accuracy) == pytest.approx(
            r.tail.accuracy_gap / 2, abs=1e-9)
