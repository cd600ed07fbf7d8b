"""Crossed random factors end to end (issue 16): moons, 4 init seeds × 4 data draws × 2
initializers, sgd minibatches, through the service: REST, SDK, CLI, replay."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.ray

SPEC = {
    "name": "factors",
    "dataset": {"name": "moons", "n_samples": 300, "noise": 0.3, "test_fraction": 0.3, "seed": 0},
    "model": {"hidden": [4], "activation": "tanh"},
    "training": {"optimizer": "sgd", "learning_rate": 0.5, "steps": 300, "batch_size": 32},
    "seeds": {"count": 4}, "data_seeds": {"count": 4},
    "initializers": ["glorot_uniform", "he_normal"],
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory, ray_address):
    from tests.conftest import finished_sweep

    with finished_sweep(tmp_path_factory.mktemp("factors"), ray_address, SPEC,
                        timeout=300) as found:
        yield found


def test_compare_reports_the_decomposition_through_rest_and_sdk(finished):
    _, client, sweep = finished
    assert sweep.n_trials == 4 * 4 * 2
    view = client.compare(sweep.id)
    variance = view.raw["variance"]
    assert variance["factors"] == ["init", "data"] and variance["n_trials"] == 32
    assert variance["levels"] == {"init": 4, "data": 4} and variance["n_arms"] == 2
    names = [c["name"] for c in variance["components"]]
    assert names == ["init", "data", "residual"]
    for c in variance["components"]:
        assert 0 <= c["ci_low"] <= c["variance"] <= c["ci_high"] or c["variance"] == 0
    frame = view.variance
    assert list(frame["name"]) == names and {"sd", "sd_ci_low", "share"} <= set(frame.columns)
    largest = {"init": "the initialization", "data": "the data draw",
               "residual": "the trial's own noise"}[variance["largest"]]
    assert f"Most of the spread comes from {largest}" in view.verdict.text


def test_trials_carry_their_data_draw_and_replay_bit_for_bit(finished):
    _, client, sweep = finished
    trials = client.trials(sweep.id)
    draws = {t.data_seed for t in trials}
    assert draws == {None, 1, 2, 3}  # draw 0 is dataset.seed: stored as the default
    assert all(t.order_seed is None for t in trials)
    crossed = next(t for t in trials if t.data_seed == 3)
    report = client.replay(sweep.id, crossed.id)
    assert report["matches"] is True


def test_cli_compare_shows_the_components(finished):
    server, _, sweep = finished
    env = {**os.environ, "SWEEPD_URL": server.url, "SWEEPD_TOKEN": server.token,
           "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-m", "sweepd", "compare", str(sweep.id)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Most of the spread comes from" in out.stdout
    assert "Where the spread of" in out.stdout and "residual" in out.stdout


def test_export_rows_carry_the_factors_as_trained(finished, tmp_path):
    import pandas as pd

    _, _, sweep = finished
    frame = pd.read_csv(sweep.export(tmp_path / "factors.csv"))
    assert sorted(set(frame["data_seed"])) == [0, 1, 2, 3]
    assert (frame["order_seed"] == frame["seed"]).all()
    assert len(frame) == 32
