import json

import numpy as np
import pytest

from sweepd.analysis.compare import compare_pair, compare_sweep
from sweepd.analysis.functional import evaluate
from sweepd.analysis.models import Comparison
from sweepd.analysis.report import summary_text
from sweepd.errors import InvalidSpec
from sweepd.spec import ModelSpec
from sweepd.weights import from_layers

MODEL = ModelSpec(hidden=[4], activation="tanh")


def _zeros_net():
    return from_layers([(np.zeros((2, 4)), np.zeros(4)), (np.zeros((4, 1)), np.zeros(1))])


class _Sweep:
    """Trials and weights of a small sweep, built up one trial at a time."""

    def __init__(self, build, moons):
        self.build, self.moons = build, moons
        self.trials, self.weights = [], {}

    def add(self, seed, label, net=None, *, params=None, state="completed", status="ok"):
        trial_id = len(self.trials) + 1
        accuracy = cost = None
        if net is not None and status == "ok":
            cost, error = evaluate(net, self.moons.x_test, self.moons.y_test, "tanh")
            accuracy = 1 - error
        self.trials.append(self.build.trial(trial_id, seed, label, params=params, state=state,
                                            accuracy=accuracy, cost=cost, status=status))
        if net is not None:
            self.weights[trial_id] = {k: v.astype(np.float32) for k, v in net.items()}
        return trial_id


@pytest.fixture
def sweep(build, moons, trained):
    """glorot_uniform: 5 seeds, signed permutations of two trained nets (A A B A B);
    zeros: 5 seeds of the all-zero net, the first of which diverged; plus a failed and a
    pending trial."""
    s = _Sweep(build, moons)
    rng = np.random.default_rng(0)
    for seed, base in enumerate([0, 0, 1, 0, 1]):
        s.add(seed, "glorot_uniform", build.signed_permutation(trained[base], rng, signed=True))
        if seed == 0:
            nan = {k: np.full_like(v, np.nan) for k, v in _zeros_net().items()}
            s.add(seed, "zeros", nan, status="diverged")
        else:
            s.add(seed, "zeros", _zeros_net())
    s.add(5, "glorot_uniform", state="failed")
    s.add(5, "zeros", state="pending")
    return s


def _group(comparison, label):
    return next(g for g in comparison.groups if g.initializer == label)


def test_compare_sweep_counts_distinct_solutions_modulo_symmetry(sweep, moons):
    comparison = compare_sweep(sweep.trials, sweep.weights, MODEL, moons)
    solutions = _group(comparison, "glorot_uniform").solutions
    assert solutions.n_solutions == 2 and [c.size for c in solutions.clusters] == [3, 2]
    assert solutions.clusters[0].trial_ids == [1, 3, 7]  # seeds 0, 1, 3
    assert solutions.clusters[0].representative_trial_id in {1, 3, 7}
    assert solutions.mean_aligned_relative < 0.5 * solutions.mean_raw_relative
    assert solutions.exact and solutions.effective_units == {"4": 5}
    assert solutions.clusters[0].mean_accuracy == pytest.approx(
        1 - evaluate(sweep.weights[1], moons.x_test, moons.y_test, "tanh")[1], abs=1e-6)


def test_compare_sweep_counts_failures_per_group(sweep, moons):
    comparison = compare_sweep(sweep.trials, sweep.weights, MODEL, moons)
    zeros, glorot = _group(comparison, "zeros"), _group(comparison, "glorot_uniform")
    assert zeros.failures.model_dump() == {"any": 5, "failed": 0, "diverged": 1,
                                           "symmetry_never_broken": 4, "dead_units": 4,
                                           "stuck_at_chance": 4}
    assert glorot.failures.model_dump() == {"any": 1, "failed": 1, "diverged": 0,
                                            "symmetry_never_broken": 0, "dead_units": 0,
                                            "stuck_at_chance": 0}
    assert zeros.solutions.n_solutions == 1 and zeros.solutions.n_trials == 4
    assert zeros.solutions.effective_units == {"0": 4}
    assert [t.effective_units for t in zeros.trials][0] is None  # the diverged one


def test_compare_sweep_summarises_metrics_with_a_noise_floor(sweep, moons):
    comparison = compare_sweep(sweep.trials, sweep.weights, MODEL, moons)
    glorot = _group(comparison, "glorot_uniform")
    accuracies = [t.result.test_accuracy for t in sweep.trials[:9:2]]
    assert glorot.stats["test_accuracy"].n == 5
    assert glorot.stats["test_accuracy"].mean == pytest.approx(np.mean(accuracies))
    assert glorot.accuracy_noise_floor == pytest.approx(
        np.sqrt(np.mean(accuracies) * (1 - np.mean(accuracies)) / len(moons.y_test)))
    assert _group(comparison, "zeros").stats["test_cost"].n == 4
    assert comparison.accuracy_on == "test" and comparison.n_eval == len(moons.y_test)


def test_compare_sweep_reports_partial_while_trials_are_unfinished(sweep, moons):
    comparison = compare_sweep(sweep.trials, sweep.weights, MODEL, moons)
    assert comparison.partial and comparison.n_finished == 11 and comparison.n_total == 12
    assert comparison.n_with_result == 10
    assert any(note.startswith("partial") for note in comparison.notes)
    done = compare_sweep(sweep.trials[:-1], sweep.weights, MODEL, moons)
    assert not done.partial and not any(n.startswith("partial") for n in done.notes)


def test_compare_sweep_pairs_initializers_over_shared_seeds(sweep, moons):
    comparison = compare_sweep(sweep.trials, sweep.weights, MODEL, moons)
    (pair,) = comparison.pairs
    assert (pair.initializer_a, pair.initializer_b) == ("glorot_uniform", "zeros")
    assert pair.stats.n_pairs == 4  # seeds 1-4: seed 0 of zeros diverged, seed 5 unfinished
    assert pair.stats.p_a_beats_b == 1.0
    assert pair.stats.note is None  # every pair won: no seed count is asked for


def test_compare_sweep_compares_costs_lower_is_better(sweep, moons):
    comparison = compare_sweep(sweep.trials, sweep.weights, MODEL, moons, metric="test_cost")
    (pair,) = comparison.pairs
    assert pair.stats.larger_is_better is False and pair.stats.p_a_beats_b == 1.0


def test_compare_sweep_keeps_grid_points_apart(build, moons, trained):
    s = _Sweep(build, moons)
    for lr in (0.1, 1.2):
        for seed in range(3):
            for label in ("a", "b"):
                s.add(seed, label, trained[seed], params={"training.learning_rate": lr})
    comparison = compare_sweep(s.trials, s.weights, MODEL, moons)
    assert [(g.initializer, g.params["training.learning_rate"]) for g in comparison.groups] == \
        [("a", 0.1), ("b", 0.1), ("a", 1.2), ("b", 1.2)]
    assert [p.params for p in comparison.pairs] == [{"training.learning_rate": 0.1},
                                                    {"training.learning_rate": 1.2}]
    assert all(p.stats.p_a_beats_b == 0.5 for p in comparison.pairs)  # identical nets tie


def test_compare_sweep_clusters_within_the_pair_budget(sweep, moons):
    comparison = compare_sweep(sweep.trials, sweep.weights, MODEL, moons, max_pairs=3)
    solutions = _group(comparison, "glorot_uniform").solutions
    assert (solutions.n_trials, solutions.n_left_out) == (3, 2)


def test_compare_sweep_serialises_to_json_and_tables(sweep, moons):
    comparison = compare_sweep(sweep.trials, sweep.weights, MODEL, moons)
    text = comparison.model_dump_json()
    assert Comparison.model_validate_json(text) == comparison
    assert "NaN" not in text and json.loads(text)["metric"] == "test_accuracy"
    frames = comparison.to_pandas()
    assert len(frames["groups"]) == 2 * 8 and len(frames["pairs"]) == 1
    assert len(frames["trials"]) == 10 and list(frames["clusters"]["size"]) == [3, 2, 4]
    assert set(frames["failures"]["initializer"]) == {"glorot_uniform", "zeros"}


def test_compare_sweep_falls_back_to_the_training_set_without_a_test_set(sweep, moons):
    no_test = type(moons)(moons.x_train, moons.y_train, moons.x_train[:0], moons.y_train[:0])
    comparison = compare_sweep(sweep.trials, sweep.weights, MODEL, no_test)
    assert comparison.accuracy_on == "train" and comparison.n_eval == len(moons.y_train)


@pytest.mark.parametrize("options", [{"metric": "f1"}, {"tolerance": 0.0},
                                     {"tolerance": float("nan")}, {"max_pairs": 0}])
def test_compare_sweep_rejects_bad_options(sweep, moons, options):
    with pytest.raises(InvalidSpec):
        compare_sweep(sweep.trials, sweep.weights, MODEL, moons, **options)


def test_compare_sweep_rejects_missing_or_misshapen_weights(sweep, moons):
    with pytest.raises(InvalidSpec, match="no weights"):
        compare_sweep(sweep.trials, {}, MODEL, moons)
    with pytest.raises(InvalidSpec, match="hidden widths"):
        compare_sweep(sweep.trials, sweep.weights, ModelSpec(hidden=[3]), moons)


def test_compare_pair_of_a_permuted_copy_is_the_same_function(build, trained, moons):
    copy = build.signed_permutation(trained[0], np.random.default_rng(3), signed=True)
    a, b = build.trial(1, 0), build.trial(2, 1)
    pair = compare_pair(a, trained[0], b, copy, MODEL, moons)
    assert pair.aligned_distance < 1e-9 and pair.raw_distance > 0.1
    assert pair.disagreement == 0.0 and pair.disagreement_on == "test"
    assert pair.barrier_aligned.barrier == pytest.approx(0.0, abs=1e-9)
    assert pair.barrier_raw.barrier > 0.01
    assert len(pair.barrier_raw.alphas) == 25 and len(pair.barrier_aligned.loss) == 25
    assert pair.cka == [pytest.approx(1.0)]
    assert sorted(pair.permutations[0]) == [0, 1, 2, 3]
    assert set(pair.signs[0]) <= {-1, 1}


def test_compare_pair_of_two_seeds_reports_their_differences(build, trained, moons):
    pair = compare_pair(build.trial(1, 0), trained[0], build.trial(2, 1), trained[1], MODEL, moons)
    assert pair.aligned_distance < pair.raw_distance
    assert pair.barrier_raw.barrier > 0 and 0 < pair.cka[0] < 1
    assert 0 <= pair.disagreement < 0.2


def test_compare_pair_refuses_a_diverged_trial(build, trained, moons):
    nan = {k: np.full_like(v, np.nan) for k, v in trained[0].items()}
    with pytest.raises(InvalidSpec, match="diverged"):
        compare_pair(build.trial(1, 0), nan, build.trial(2, 1), trained[1], MODEL, moons)


def test_summary_text_answers_in_plain_words(sweep, moons):
    text = summary_text(compare_sweep(sweep.trials, sweep.weights, MODEL, moons))
    assert "glorot_uniform: 5 seeds → 2 distinct solutions modulo symmetry (3 + 2)" in text
    assert "raw weights differ by" in text and "aligned by" in text
    assert ("zeros: 5 seeds (4 with finite weights) → 1 distinct solution modulo symmetry (4)"
            in text)
    assert "1 diverged" in text and "4 never broke symmetry" in text
    assert "glorot_uniform vs zeros" in text


def test_compare_sweep_of_no_finished_trial_is_partial_and_empty(build, moons):
    pending = [build.trial(1, 0, state="pending"), build.trial(2, 0, "zeros", state="running")]
    comparison = compare_sweep(pending, {}, MODEL, moons)
    assert comparison.partial and comparison.n_with_result == 0
    assert [g.n_finished for g in comparison.groups] == [0, 0]
    assert all(g.solutions is None and g.stats["test_accuracy"].n == 0 for g in comparison.groups)
    assert comparison.pairs[0].stats.n_pairs == 0
    assert "no finite weights" in summary_text(comparison)
