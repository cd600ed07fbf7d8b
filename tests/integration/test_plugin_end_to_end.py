"""End to end (issue 18): the built-in CNN plugin on digits, 3 seeds × 3 initializers, through
a live `sweepd serve` on the session's Ray cluster, trained by the generic engine."""

from __future__ import annotations

import pytest

from sweepd import weights as wts

pytestmark = pytest.mark.ray

SPEC = {
    "name": "cnn-digits",
    "dataset": {"name": "digits", "standardize": True, "test_fraction": 0.2, "seed": 0},
    "model": {"plugin": "sweepd.cnn", "params": {"channels": [8, 16]}},
    "training": {"optimizer": "adam", "learning_rate": 0.01, "steps": 150, "batch_size": 64,
                 "loss": "ce"},
    "seeds": {"start": 0, "count": 3},
    "initializers": ["glorot_uniform", "he_normal", "lecun_uniform"],
    "store": {"curve_every": 10},
}


def test_cnn_on_digits_completes_through_rest_above_90_percent(live_server_factory):
    server = live_server_factory().start()
    client = server.client()
    sweep = client.submit(SPEC)
    assert sweep.n_trials == 9
    sweep.wait(progress=False, timeout=400)
    assert sweep.state == "completed" and sweep.counts["completed"] == 9
    trials = sweep.trials()
    accuracies = [t.result.test_accuracy for t in trials]
    assert min(accuracies) > 0.9, accuracies
    env = trials[0].result.environment
    assert env["engine"] == "sweepd.generic/1" and env["plugin"] == "sweepd.cnn"
    raw = client.weights_bytes(sweep.id, trials[0].id)
    assert wts.sha256(raw) == trials[0].result.final_sha256
    assert wts.unpack(raw)["1.weight"].shape == (8, 1, 3, 3)
