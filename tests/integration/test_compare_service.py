"""The comparison through the service: REST, SDK, CLI, canonical weights and replay."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from sweepd.analysis.symmetry import canonical_form

pytestmark = pytest.mark.ray

SEEDS = 6


@pytest.fixture(scope="module")
def finished(tmp_path_factory, ray_address):
    """One live service with one finished sweep, shared by the tests of this module."""
    from tests.conftest import finished_sweep

    spec = {
        "name": "compare",
        "dataset": {"name": "moons", "n_samples": 400, "noise": 0.2, "seed": 0},
        "model": {"hidden": [4], "activation": "tanh"},
        "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": 1500},
        "seeds": {"count": SEEDS},
        "initializers": [{"name": "random_normal", "stddev": 0.01}, "glorot_uniform", "zeros"],
    }
    with finished_sweep(tmp_path_factory.mktemp("compare"), ray_address, spec,
                        timeout=300) as found:
        yield found


def test_compare_sweep_reports_groups_failures_and_solutions(finished):
    _, _, sweep = finished
    view = sweep.compare()
    model = view.model
    assert not model.partial and model.n_with_result == 3 * SEEDS
    groups = {g.initializer: g for g in model.groups}
    assert set(groups) == {"random_normal(stddev=0.01)", "glorot_uniform", "zeros"}
    assert groups["zeros"].failures.symmetry_never_broken == SEEDS
    assert groups["glorot_uniform"].failures.symmetry_never_broken == 0
    sols = groups["glorot_uniform"].solutions
    assert sols is not None and sum(c.size for c in sols.clusters) == SEEDS
    assert sols.mean_aligned_distance <= sols.mean_raw_distance
    assert len(model.pairs) == 3
    assert model.verdict is not None and view.verdict is model.verdict
    rows = {r.initializer: r for r in model.verdict.points[0].which_initializer.ranking}
    assert rows["zeros"].tier == "failed" and "constant predictor" in rows["zeros"].reason
    assert str(view) == model.verdict.text and "zeros" in str(view)
    frames = view.to_pandas()
    assert len(frames["groups"]) > 0 and len(frames["trials"]) == 3 * SEEDS
    assert "distinct solution" in view.summary


def test_compare_pair_aligns_and_gives_barrier_curves(finished):
    _, client, sweep = finished
    trials = client.trials(sweep.id, initializer="glorot_uniform")
    a, b = trials[0].id, trials[1].id
    pair = client.compare_pair(sweep.id, a, b)
    assert pair["aligned_distance"] <= pair["raw_distance"] + 1e-9
    assert len(pair["barrier_raw"]["alphas"]) == 25
    assert 0.0 <= pair["disagreement"] <= 1.0
    assert pair["barrier_aligned"]["barrier"] <= pair["barrier_raw"]["barrier"] + 1e-6


def test_download_canonical_weights_equal_local_canonical_form(finished):
    _, client, sweep = finished
    trial = client.trials(sweep.id, initializer="glorot_uniform")[2]
    raw = client.weights(sweep.id, trial.id)
    canonical = client.weights(sweep.id, trial.id, canonical=True)
    expected = canonical_form(raw, "tanh")
    for name, value in expected.items():
        np.testing.assert_array_equal(canonical[name], value)
    assert (canonical["layers.1.kernel"] >= 0).all()  # outgoing weights flipped positive


def test_replay_trial_matches_stored_weights_bit_for_bit(finished):
    _, client, sweep = finished
    trial = client.trials(sweep.id, initializer="random_normal(stddev=0.01)")[0]
    report = client.replay(sweep.id, trial.id)
    assert report["matches"] is True
    assert report["replayed_sha256"] == trial.result.final_sha256
    assert report["max_abs_diff"] == 0.0


def test_cli_compare_prints_the_verdict_then_details_on_request(finished):
    server, _, sweep = finished
    env = {**os.environ, "SWEEPD_URL": server.url, "SWEEPD_TOKEN": server.token,
           "COLUMNS": "200"}
    short = subprocess.run([sys.executable, "-m", "sweepd", "compare", str(sweep.id)],
                           capture_output=True, text=True, env=env, timeout=120)
    assert short.returncode == 0, short.stderr
    assert short.stdout.startswith("Is it OK?") and "Which initializer?" in short.stdout
    assert "Distinct solutions modulo symmetry" not in short.stdout
    full = subprocess.run([sys.executable, "-m", "sweepd", "compare", str(sweep.id),
                           "--details"], capture_output=True, text=True, env=env, timeout=120)
    assert full.returncode == 0, full.stderr
    assert "Distinct solutions modulo symmetry" in full.stdout
    assert "glorot_uniform" in full.stdout and "distinct solution" in full.stdout


def test_refuse_sigmoid_output_on_multiclass_dataset_before_storing(finished):
    server, client, _ = finished
    before = len(client.list(limit=200))
    with pytest.raises(Exception) as info:
        client.submit({"name": "bad", "dataset": {"name": "iris"},
                       "model": {"hidden": [4], "output": "sigmoid"},
                       "seeds": [0], "initializers": ["glorot_uniform"]})
    assert "model.output" in str(info.value) and "422" in str(info.value)
    assert len(client.list(limit=200)) == before


def test_sdk_finds_sweeps_by_name_best_trial_and_history(finished):
    _, client, sweep = finished
    assert client.sweep("compare").id == sweep.id
    assert [s.id for s in client.sweeps(name="compare")] == [sweep.id]
    assert client.sweeps(name="no such sweep") == []
    with pytest.raises(Exception, match="no sweep named"):
        client.sweep("no such sweep")
    best = sweep.best_trial("test_accuracy")
    values = [t.result.tail.test_accuracy for t in sweep.trials(state="completed")]
    assert best.result.tail.test_accuracy == max(values)
    worst = sweep.best_trial("test_accuracy", mode="min")
    assert worst.initializer_label == "zeros"  # the constant predictor is the worst
    history = best.history()
    assert list(history.columns) == ["step", "train_cost"]
    assert history["step"].iloc[-1] == best.result.steps == 1500
    assert len(history) == len(best.result.curve)


def test_sdk_shows_sweep_and_verdict_as_html_in_notebooks(finished):
    _, _, sweep = finished
    assert f"sweep {sweep.id}" in sweep._repr_html_() and "completed" in sweep._repr_html_()
    html = sweep.compare()._repr_html_()
    assert html.startswith("<p>") and "<table>" in html and "zeros" in html and "failed" in html
