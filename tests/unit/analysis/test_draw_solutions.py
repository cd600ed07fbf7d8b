"""Distinct solutions counted within each data draw, and the correlation the pairing exploits
(issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

from sweepd.analysis.draw_solutions import split_by_draw
from sweepd.analysis.stats import paired

TOL = 0.05


def _distances(points: list[float]) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    return np.abs(p[:, None] - p[None, :])


def test_one_draw_clusters_all_runs_together() -> None:
    split = split_by_draw(_distances([0.0, 0.01, 1.0, 1.01]), [None] * 4, [True] * 4, TOL,
                          [0.9, 0.9, 0.8, 0.8])
    assert split.by_draw is None
    assert split.n_solutions == 2 and split.distinct == 2 and split.clear_groups
    assert sorted(c.size for _, c in split.clusters) == [2, 2]
    assert len(split.pairs[0]) == 6  # every pair: one draw


def test_runs_of_different_draws_never_share_a_cluster() -> None:
    # Draw 1's two runs and draw 2's two runs sit at the same point: one cluster each draw,
    # not one cluster of four.
    draws = [1, 1, 2, 2]
    split = split_by_draw(_distances([0.0, 0.0, 0.0, 0.0]), draws, [True] * 4, TOL, [None] * 4)
    assert split.by_draw is not None and [d.data_seed for d in split.by_draw] == [1, 2]
    assert all(d.n_solutions == 1 and d.cluster_sizes == [2] for d in split.by_draw)
    for draw, cluster in split.clusters:
        assert {draws[i] for i in cluster.members} == {draw}
    rows, cols = split.pairs  # only the two within-draw pairs
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 1), (2, 3)]


def test_the_summary_is_the_largest_count_of_a_draw() -> None:
    # Draw None (dataset.seed): two solutions; draw 5: one.
    split = split_by_draw(_distances([0.0, 1.0, 3.0, 3.01]), [None, None, 5, 5], [True] * 4,
                          TOL, [0.9, 0.8, 0.85, 0.85])
    counts = {d.data_seed: d.n_solutions for d in split.by_draw}
    assert counts == {None: 2, 5: 1}
    assert split.n_solutions == 2
    assert split.by_draw[0].data_seed is None  # the spec's own draw first


def test_a_draw_without_two_converged_runs_gives_no_distinct_count() -> None:
    split = split_by_draw(_distances([0.0, 1.0, 2.0, 3.0]), [1, 1, 2, 2],
                          [True, False, True, True], TOL, [None] * 4)
    by = {d.data_seed: d for d in split.by_draw}
    assert by[1].n_converged == 1 and by[1].distinct is None
    assert by[2].distinct == 2


def test_paired_reports_the_correlation_of_the_two_sides() -> None:
    rng = np.random.default_rng(3)
    shared = rng.normal(0, 1, 40)  # what the shared seeds move together
    a = 0.8 + 0.05 * shared + rng.normal(0, 0.005, 40)
    b = 0.79 + 0.05 * shared + rng.normal(0, 0.005, 40)
    stats = paired(a, b)
    assert stats.correlation == pytest.approx(float(np.corrcoef(a, b)[0, 1]))
    assert stats.correlation > 0.9
    assert paired(a, rng.normal(0, 1, 40)).correlation == pytest.approx(
        0.0, abs=0.4)


def test_paired_has_no_correlation_with_a_constant_side_or_two_pairs() -> None:
    assert paired([0.5, 0.6, 0.7], [0.4, 0.4, 0.4]).correlation is None
    assert paired([0.5, 0.6], [0.4, 0.5]).correlation is None


def test_compare_sweep_counts_solutions_per_data_draw(build, moons, trained) -> None:
    """Draw 1 holds permuted copies of one net (one solution), draw 2 of two nets (two): the
    group reports each draw's count and never merges copies across draws."""
    from sweepd.analysis.compare import compare_sweep
    from sweepd.analysis.functional import evaluate
    from sweepd.records import TrialRecord
    from sweepd.spec import ModelSpec

    rng = np.random.default_rng(1)
    trials, weights = [], {}
    for seed, (draw, base) in enumerate([(1, 0), (1, 0), (1, 0), (2, 0), (2, 1), (2, 1)]):
        net = build.signed_permutation(trained[base], rng, signed=True)
        cost, error = evaluate(net, moons.x_test, moons.y_test, "tanh")
        t = build.trial(seed + 1, seed, "glorot_uniform", accuracy=1 - error, cost=cost)
        trials.append(TrialRecord.model_validate({**t.model_dump(), "data_seed": draw}))
        weights[seed + 1] = {k: v.astype(np.float32) for k, v in net.items()}
    comparison = compare_sweep(trials, weights, ModelSpec(hidden=[4], activation="tanh"),
                               moons)
    solutions = comparison.groups[0].solutions
    per = {d.data_seed: d for d in solutions.by_data_draw}
    assert per[1].n_solutions == 1 and per[1].cluster_sizes == [3]
    assert per[2].n_solutions == 2 and per[2].cluster_sizes == [2, 1]
    assert solutions.n_solutions == 2 and len(solutions.clusters) == 3
    assert {c.data_seed for c in solutions.clusters} == {1, 2}
    rows = comparison.tables()["solutions_by_draw"]
    assert [r["data_seed"] for r in rows] == [1, 2]
