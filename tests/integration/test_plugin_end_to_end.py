"""End to end (issue 18): the built-in CNN plugin on digits, 3 seeds × 3 initializers, through
a live `sweepd serve` on the session's Ray cluster, trained by the generic engine, and its
comparison (raw vs aligned distances and barriers, the verdict) through REST."""

from __future__ import annotations

import httpx
import pytest

from sweepd import weights as wts

pytestmark = pytest.mark.ray

SPEC = {
    "name": "cnn-digits",
    "dataset": {"name": "digits", "standardize": True, "test_fraction": 0.2, "seed": 0},
    "model": {"plugin": "sweepd.cnn", "params": {"channels": [8, 16]}},
    "training": {"optimizer": "adam", "learning_rate": 0.01, "steps": 80, "batch_size": 64,
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

    # The comparison (item 4): the module run on the stored weights, aligned by weight matching
    # over the CNN's permutation spec, within a stated cost bound, and the verdict.
    view = sweep.compare()
    assert view.verdict is not None and view.verdict.text
    assert any("weight matching" in n for n in view.model.notes)
    assert any(n.startswith("sampled (cost bound)") for n in view.model.notes)
    for group in view.groups:
        s = group.solutions
        assert group.hidden == [8, 16] and s is not None and s.n_trials == 3
        assert 0 < s.mean_aligned_distance <= s.mean_raw_distance
        fn = s.function
        assert fn.n_pairs == 3 and fn.n_barrier_pairs == 3
        assert fn.barrier_aligned <= fn.barrier_raw
        assert fn.disagreement < 0.1 and len(fn.cka_layers) == 2
    pair = sweep.compare_pair(trials[0].id, trials[1].id)
    assert 0 < pair["aligned_distance"] <= pair["raw_distance"]
    assert [len(p) for p in pair["permutations"]] == [8, 16] and len(pair["cka"]) == 2
    # A canonical form is the MLP's (sign flips and sorted units): a plugin's is a 422.
    answer = httpx.get(f"{server.url}/api/v1/sweeps/{sweep.id}/trials/{trials[0].id}/weights",
                       params={"canonical": "true"},
                       headers={"Authorization": f"Bearer {server.token}"})
    assert answer.status_code == 422 and "weight matching" in answer.json()["detail"]
