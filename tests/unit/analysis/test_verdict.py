"""The verdict (issue 11) on synthetic result sets with known answers, through compare_sweep:
the same code path as real sweeps."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sweepd.analysis import compare_sweep
from sweepd.analysis.verdict import build_verdict
from sweepd.compare_view import verdict_lines
from sweepd.spec import ModelSpec
from sweepd.weights import from_layers

MODEL = ModelSpec(hidden=[4], activation="tanh")
FLAT = [0.7] + [0.3] * 10  # converged: the cost stopped moving
FALLING = [0.7 - 0.04 * i for i in range(11)]  # still moving at the end


def _jitter(net: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The same solution up to symmetry and a tiny perturbation."""
    return {k: v + rng.normal(0, 1e-4, v.shape) for k, v in net.items()}


def _zeros() -> dict[str, np.ndarray]:
    return from_layers([(np.zeros((2, 4)), np.zeros(4)), (np.zeros((4, 1)), np.zeros(1))])


def _ones() -> dict[str, np.ndarray]:
    return from_layers([(np.ones((2, 4)) * 0.3, np.zeros(4)), (np.ones((4, 1)) * 0.5, np.zeros(1))])


def _sweep(build, trained, groups, *, curve=FLAT, params=None, nets=None, start_id=1,
           tail=None):
    """Trials and weights: one trial per value, seeds 0, 1, ...; working nets are signed
    permutations of one trained net, slightly perturbed."""
    rng = np.random.default_rng(0)
    trials, weights = [], {}
    tid = start_id
    for label, values in groups.items():
        for seed, value in enumerate(values):
            trials.append(build.trial(tid, seed, label, accuracy=value, cost=0.3,
                                      curve=list(curve), params=params, tail=tail))
            make = (nets or {}).get(label)
            weights[tid] = make() if make else _jitter(
                build.signed_permutation(trained[0], rng, signed=True), rng)
            tid += 1
    return trials, weights


def _ranking(comparison, point=0):
    return {r.initializer: r for r in comparison.verdict.points[point].which_initializer.ranking}


def test_verdict_recommends_a_clear_winner(build, moons, trained):
    rng = np.random.default_rng(1)
    trials, weights = _sweep(build, trained, {
        "he_normal": list(0.95 + rng.normal(0, 0.002, 10)),
        "lecun_normal": list(0.80 + rng.normal(0, 0.002, 10)),
        "orthogonal": list(0.78 + rng.normal(0, 0.002, 10)),
    })
    comparison = compare_sweep(trials, weights, MODEL, moons)
    point = comparison.verdict.points[0]
    rows = _ranking(comparison)
    assert rows["he_normal"].tier == "best"
    assert rows["lecun_normal"].tier == rows["orthogonal"].tier == "worse"
    assert rows["lecun_normal"].p_holm < 0.05 and rows["lecun_normal"].p_best_beats == 1.0
    assert point.which_initializer.recommended == ["he_normal"]
    assert point.which_initializer.recommendation.startswith("Use he_normal")
    assert point.more_seeds.needed == []
    assert comparison.verdict.text.count(".") <= 12  # a few sentences, not a report


def test_verdict_calls_equal_initializers_equivalent_and_asks_for_no_seeds(build, moons,
                                                                           trained):
    rng = np.random.default_rng(2)
    groups = {label: list(0.95 + rng.normal(0, 0.001, 10))
              for label in ("he_normal", "glorot_uniform", "lecun_normal")}
    comparison = compare_sweep(*_sweep(build, trained, groups), MODEL, moons)
    point = comparison.verdict.points[0]
    tiers = {r.tier for r in point.which_initializer.ranking}
    assert tiers == {"best", "equivalent"}
    # The ROPE is the test set's binomial SE at the best accuracy (100 test points here).
    assert point.which_initializer.rope == pytest.approx(np.sqrt(0.95 * 0.05 / 100), rel=0.02)
    assert point.more_seeds.needed == [] and "No more seeds" in point.more_seeds.sentence
    assert "seeds per initializer" not in comparison.verdict.text
    # Tie-break among equals without outliers: the framework default.
    assert point.which_initializer.recommended == ["glorot_uniform"]
    assert "Keras's default" in point.which_initializer.recommendation
    assert point.is_it_ok.kind == "same_solution"


def test_verdict_names_black_swan_seeds(build, moons, trained):
    values = [0.95, 0.951, 0.949, 0.60, 0.95, 0.952, 0.58, 0.95]
    comparison = compare_sweep(*_sweep(build, trained, {
        "he_uniform": values, "glorot_normal": [0.95, 0.951, 0.949, 0.95, 0.95, 0.951, 0.95, 0.949],
    }), MODEL, moons)
    point = comparison.verdict.points[0]
    assert point.is_it_ok.kind == "some_seeds_worse"
    (evidence,) = [e for e in point.is_it_ok.evidence if e.initializer == "he_uniform"]
    assert [o.seed for o in evidence.outliers] == [3, 6]
    assert "he_uniform seed 3" in point.is_it_ok.sentence
    assert "he_uniform seed 6" in point.is_it_ok.sentence
    rows = _ranking(comparison)
    assert rows["he_uniform"].n_outliers == 2 and rows["glorot_normal"].n_outliers == 0
    assert point.which_initializer.recommended == ["glorot_normal"]


def test_verdict_cannot_tell_while_runs_still_move(build, moons, trained):
    rng = np.random.default_rng(3)
    comparison = compare_sweep(*_sweep(build, trained, {
        "he_normal": list(0.90 + rng.normal(0, 0.01, 8)),
        "lecun_normal": list(0.90 + rng.normal(0, 0.01, 8)),
    }, curve=FALLING), MODEL, moons)
    point = comparison.verdict.points[0]
    evidence = point.is_it_ok.evidence
    assert all(e.n_converged == 0 and e.n_solutions is None for e in evidence)
    assert point.is_it_ok.kind == "cannot_tell_yet"
    assert "have not converged" in point.is_it_ok.sentence
    assert all(r.still_moving for r in point.which_initializer.ranking)
    assert any("still moving" in w and "steps" in w for w in point.which_initializer.warnings)


def test_verdict_cannot_tell_when_lagging_runs_still_move(build, moons, trained):
    values = [0.95, 0.95, 0.62, 0.95, 0.951, 0.60, 0.95, 0.949]
    comparison = compare_sweep(*_sweep(build, trained, {"he_normal": values}, curve=FALLING),
                               MODEL, moons)
    point = comparison.verdict.points[0]
    assert point.is_it_ok.kind == "cannot_tell_yet"
    assert "lag" in point.is_it_ok.sentence and "train longer" in point.is_it_ok.sentence


def test_verdict_fails_degenerate_initializers_with_the_reason(build, moons, trained):
    comparison = compare_sweep(*_sweep(build, trained, {
        "glorot_uniform": [0.95, 0.951, 0.949, 0.95],
        "zeros": [0.5] * 4, "ones": [0.86] * 4,
    }, nets={"zeros": _zeros, "ones": _ones}), MODEL, moons)
    rows = _ranking(comparison)
    assert rows["zeros"].tier == rows["ones"].tier == "failed"
    assert "constant predictor" in rows["zeros"].reason and rows["zeros"].effective_units == "0"
    assert "stay identical" in rows["ones"].reason and "1 effective unit of 4" in rows["ones"].reason
    assert rows["zeros"].n_failed == rows["zeros"].n_runs == 4
    assert rows["zeros"].failed_ci_low > 0.39 and rows["zeros"].failed_ci_high == 1.0
    assert rows["glorot_uniform"].failed_ci_low == 0.0 < rows["glorot_uniform"].failed_ci_high
    text = comparison.verdict.text
    assert "Failed: " in text and "zeros" in text and "ones" in text
    assert comparison.verdict.points[0].which_initializer.recommended == ["glorot_uniform"]


def test_verdict_is_given_per_grid_point(build, moons, trained):
    slow, _ = _sweep(build, trained, {"he_normal": [0.9] * 4, "glorot_uniform": [0.9] * 4},
                     params={"training.learning_rate": 0.1})
    fast, _ = _sweep(build, trained, {"he_normal": [0.95] * 4, "glorot_uniform": [0.8] * 4},
                     params={"training.learning_rate": 1.2}, start_id=100)
    trials = slow + fast
    weights = {t.id: trained[0] for t in trials}
    comparison = compare_sweep(trials, weights, MODEL, moons)
    verdict = comparison.verdict
    assert [p.params for p in verdict.points] == [{"training.learning_rate": 0.1},
                                                  {"training.learning_rate": 1.2}]
    assert "At learning_rate=0.1:" in verdict.text and "At learning_rate=1.2:" in verdict.text
    assert _ranking(comparison, 1)["glorot_uniform"].tier == "worse"
    assert _ranking(comparison, 0)["glorot_uniform"].tier in {"best", "equivalent"}


def test_verdict_asks_for_seeds_only_for_undecided_pairs(build, moons, trained):
    comparison = compare_sweep(*_sweep(build, trained, {
        "he_normal": [0.95, 0.90, 0.97, 0.93], "lecun_normal": [0.90, 0.85, 0.94, 0.88],
    }), MODEL, moons)
    point = comparison.verdict.points[0]
    (need,) = point.more_seeds.needed
    assert (need.initializer_a, need.initializer_b) == ("he_normal", "lecun_normal")
    assert need.have == 4 and need.needed > 4 and "Mann–Whitney" in need.test
    assert f"count: {need.needed}" in need.command
    assert _ranking(comparison)["lecun_normal"].tier == "undecided"
    assert str(need.needed) in point.more_seeds.sentence


def test_verdict_on_training_metrics_without_a_test_set(build, moons, trained):
    no_test = replace(moons, x_test=moons.x_test[:0], y_test=moons.y_test[:0])
    rng = np.random.default_rng(5)
    trials, weights = _sweep(build, trained, {
        "he_normal": list(0.95 + rng.normal(0, 0.002, 6)),
        "glorot_uniform": list(0.95 + rng.normal(0, 0.002, 6))})
    comparison = compare_sweep(trials, weights, MODEL, no_test)  # metric test_accuracy asked
    assert comparison.metric == "train_accuracy" and comparison.pairs[0].stats.n_pairs == 6
    assert comparison.verdict.points[0].which_initializer.metric == "train_accuracy_tail"
    assert "no test set" in comparison.verdict.text
    assert any("no test set" in note for note in comparison.notes)


def test_verdict_ranks_on_the_tail_average_not_the_last_step(build, moons, trained):
    # Final-step accuracies say A > B; averaged over both phases of a 2-cycle they are equal.
    tail = {"steps": 8, "train_cost": 0.3, "train_accuracy": 0.93, "test_cost": 0.3,
            "test_accuracy": 0.93, "oscillating": True, "cost_gap": 1e-3, "accuracy_gap": 0.06}
    trials, weights = _sweep(build, trained, {"he_normal": [0.96] * 6,
                                              "glorot_uniform": [0.90] * 6}, tail=tail)
    comparison = compare_sweep(trials, weights, MODEL, moons)
    ranking = comparison.verdict.points[0].which_initializer.ranking
    assert {r.tier for r in ranking} <= {"best", "equivalent"}
    assert all(r.iqm == pytest.approx(0.93) for r in ranking)
    assert all(d.oscillating and d.accuracy_gap == 0.06 for g in comparison.groups
               for d in g.trials)


def test_build_verdict_rejects_a_bad_rope(build, moons, trained):
    comparison = compare_sweep(*_sweep(build, trained, {"he_normal": [0.9, 0.91]}), MODEL, moons)
    with pytest.raises(ValueError, match="rope"):
        build_verdict(comparison, rope=0.0)
    assert build_verdict(comparison, rope=0.05).points[0].which_initializer.rope == 0.05


def test_failure_and_outlier_counts_never_exceed_the_runs(build, moons, trained):
    values = [0.95, 0.2, 0.95, 0.3, 0.95]
    trials, weights = _sweep(build, trained, {"zeros": values}, nets={"zeros": _zeros})
    trials[1] = build.trial(trials[1].id, 1, "zeros", accuracy=None, cost=None, status="diverged")
    comparison = compare_sweep(trials, weights, MODEL, moons)
    (group,) = comparison.groups
    assert group.failures.any <= group.n_trials == 5
    assert group.failures.symmetry_never_broken + group.failures.diverged > group.n_trials - 1
    (row,) = comparison.verdict.points[0].which_initializer.ranking
    assert row.n_failed <= row.n_runs and row.n_outliers <= row.n_runs


def test_verdict_names_the_best_point_and_whether_it_beats_the_runner_up(build, moons, trained):
    rng = np.random.default_rng(5)
    points = {0.1: 0.90, 0.5: 0.95, 1.2: 0.949}
    trials, weights = [], {}
    for k, (lr, level) in enumerate(points.items()):
        part, _ = _sweep(build, trained, {"he_normal": list(level + rng.normal(0, 0.002, 8)),
                                          "zeros": [0.5] * 8},
                         params={"training.learning_rate": lr}, start_id=1 + 100 * k,
                         nets={"zeros": _zeros})
        trials += part
    weights = {t.id: (_zeros() if t.initializer_label == "zeros" else trained[0]) for t in trials}
    comparison = compare_sweep(trials, weights, MODEL, moons)
    verdict = comparison.verdict
    best = verdict.best_point
    assert verdict_lines(comparison).startswith(f"[bold]Which setting?[/] {best.sentence}")
    assert best.best == {"training.learning_rate": 0.5}
    assert best.runner_up == {"training.learning_rate": 1.2}
    assert best.n_points == 3 and not best.decided  # 0.1 pp apart: inside the ROPE
    assert verdict.text.startswith("Best point: learning_rate=0.5 (IQM 95.")
    assert "not decidedly better than the runner-up learning_rate=1.2" in verdict.text

    clear = [t for t in trials if t.params["training.learning_rate"] != 1.2]
    decided = compare_sweep(clear, weights, MODEL, moons).verdict.best_point
    assert decided.decided and decided.runner_up == {"training.learning_rate": 0.1}
    assert "decidedly better than the runner-up" in decided.sentence and decided.p_value < 0.05


def test_more_seeds_command_grows_the_sweep_in_place(build, moons, trained):
    from sweepd.analysis.verdict import GrowHint, build_verdict

    comparison = compare_sweep(*_sweep(build, trained, {
        "he_normal": [0.95, 0.90, 0.97, 0.93], "lecun_normal": [0.90, 0.85, 0.94, 0.88],
    }), MODEL, moons)
    verdict = build_verdict(comparison, grow=GrowHint(sweep_id=12, how="add"))
    (need,) = verdict.points[0].more_seeds.needed
    assert need.command == f"sweepd seeds add 12 {need.needed - need.have}"
    assert need.command in verdict.points[0].more_seeds.sentence
    adaptive = build_verdict(comparison, grow=GrowHint(sweep_id=12, how="adaptive"))
    assert f"max: {need.needed}" in adaptive.points[0].more_seeds.needed[0].command


def test_more_seeds_of_a_sampled_comparison_count_the_sweeps_seeds(build, moons, trained):
    # A large sweep's comparison uses a random sample of its seeds: the advice grows the
    # sweep from the seeds it holds, and says when it holds enough already.
    from sweepd.analysis.verdict import GrowHint, build_verdict
    from sweepd.compare_sample import CompareSample

    comparison = compare_sweep(*_sweep(build, trained, {
        "he_normal": [0.95, 0.90, 0.97, 0.93], "lecun_normal": [0.90, 0.85, 0.94, 0.88],
    }), MODEL, moons)
    grow = GrowHint(sweep_id=12, how="add")
    (plain,) = build_verdict(comparison, grow=grow).points[0].more_seeds.needed

    def sampled(keys: int):
        sample = CompareSample(n_trials=2 * keys, n_sampled=8, n_keys=keys, n_keys_sampled=4,
                               threshold=4, seed=0)
        verdict = build_verdict(comparison.model_copy(update={"sample": sample}), grow=grow)
        return verdict.points[0].more_seeds

    few = sampled(keys=6)  # the sweep holds 6 seeds per initializer, the sample 4
    (need,) = few.needed
    assert (need.have, need.in_sweep, need.needed) == (4, 6, plain.needed) and plain.needed > 6
    assert need.command == f"sweepd seeds add 12 {need.needed - 6}"
    assert "this sweep has about 6, of which the comparison's random sample used 4" in few.sentence
    enough = sampled(keys=10 * plain.needed)
    assert enough.needed[0].command is None
    assert "the sweep holds enough, the sample is what is short" in enough.sentence


def test_more_seeds_command_leaves_out_the_failed_initializers(build, moons, trained):
    from sweepd.analysis.verdict import GrowHint, build_verdict

    comparison = compare_sweep(*_sweep(build, trained, {
        "he_normal": [0.95, 0.90, 0.97, 0.93], "lecun_normal": [0.90, 0.85, 0.94, 0.88],
        "zeros": [0.5] * 4,
    }, nets={"zeros": _zeros}), MODEL, moons)
    verdict = build_verdict(comparison, grow=GrowHint(sweep_id=7, how="add"))
    (need,) = verdict.points[0].more_seeds.needed
    assert need.command.startswith(f"sweepd seeds add 7 {need.needed - need.have} ")
    assert need.command.endswith("--initializers he_normal,lecun_normal")  # zeros fails
