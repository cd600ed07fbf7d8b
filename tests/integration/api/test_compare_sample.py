"""A large sweep is compared on a stated, seeded random sample of whole seeds (issue 19), with
exact trial counts and statistics close to the full computation; a cached comparison is the
cold one's bytes, served without recomputing or re-serialising the model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sweepd import compare_sample, comparisons
from sweepd.analysis.models import Comparison
from sweepd.records import ResultItem
from sweepd.results import TrialResult
from sweepd.weights import from_layers, pack
from tests.integration.api.api_support import BACKENDS, open_client, small_spec

SWEEPS = "/api/v1/sweeps"
SEEDS = 300  # × 2 initializers = 600 trials, over the threshold set below


def varied_result(trial) -> TrialResult:
    """Accuracies that vary over seeds (he_normal 0.03 better on the same seed)."""
    rng = np.random.default_rng(trial.spec.seed)
    base = float(np.clip(rng.normal(0.8, 0.05), 0.0, 0.97))
    acc = base + (0.03 if trial.spec.initializer.name == "he_normal" else 0.0)
    w = np.random.default_rng(trial.trial_id)
    final, sha = pack(from_layers([
        (w.normal(size=(2, 4)).astype(np.float32), np.zeros(4, np.float32)),
        (w.normal(size=(4, 1)).astype(np.float32), np.zeros(1, np.float32))]))
    return TrialResult(cell_key=trial.spec.cell_key, status="ok", train_cost=1 - acc,
                       train_accuracy=acc, test_cost=1 - acc, test_accuracy=acc,
                       train_cost_tail=1 - acc, steps=10, wall_seconds=0.01, curve_every=5,
                       curve=[0.69, 0.5, 1 - acc], final_weights=final, final_sha256=sha)


def finish(store, max_trials: int = 10_000) -> None:
    batches = store.claim_trials(holder="t", max_trials=max_trials, max_batch=10_000,
                                 lease_seconds=300)
    store.record_results([ResultItem(trial_id=t.trial_id, attempt=t.attempt, node="n",
                                     device="cpu", result=varied_result(t))
                          for b in batches for t in b.trials])


def small_threshold(monkeypatch) -> None:
    monkeypatch.setattr(compare_sample, "SAMPLE_THRESHOLD", 300)
    monkeypatch.setattr(compare_sample, "SAMPLE_TRIALS", 200)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_sweep_over_the_threshold_is_compared_on_a_stated_sample_close_to_the_full(
        make_app, store, alice, monkeypatch):
    small_threshold(monkeypatch)
    with open_client(make_app(), alice) as client:
        sweep_id = client.post(SWEEPS, json=small_spec(seeds=SEEDS)).json()["id"]
        finish(store)
        sampled = client.get(f"{SWEEPS}/{sweep_id}/compare").json()
        again = client.get(f"{SWEEPS}/{sweep_id}/compare", params={"tolerance": 0.2}).json()
    monkeypatch.setattr(compare_sample, "SAMPLE_THRESHOLD", 10**6)
    full = comparisons.compare_sweep(store, alice.id, sweep_id)

    sample = sampled["sample"]
    assert sample["n_trials"] == 2 * SEEDS and sample["n_keys"] == SEEDS
    assert sample["n_keys_sampled"] == 100 and sample["n_sampled"] == 200
    assert any(n.startswith("sampled sweep:") and "random sample of 200 trials" in n
               for n in sampled["notes"])
    # The sweep's counts stay exact.
    assert (sampled["n_total"], sampled["n_finished"], sampled["n_with_result"]) == (600,) * 3
    assert not sampled["partial"] and full.sample is None
    # Whole seeds, the same for both initializers (paired), random rather than the first.
    seeds = [sorted(t["seed"] for t in g["trials"]) for g in sampled["groups"]]
    assert seeds[0] == seeds[1] and len(seeds[0]) == 100 and max(seeds[0]) > 150
    assert sampled["pairs"][0]["stats"]["n_pairs"] == 100
    assert seeds == [sorted(t["seed"] for t in g["trials"]) for g in again["groups"]]  # seeded
    for part, whole in zip(sampled["groups"], full.groups, strict=True):
        s, f = part["stats"]["test_accuracy"], whole.stats["test_accuracy"]
        assert s["n"] == 100 and f.n == SEEDS
        assert abs(s["mean"] - f.mean) < 4 * f.std / math.sqrt(100)
        assert abs(s["std"] - f.std) < 0.3 * f.std
    diff = sampled["pairs"][0]["stats"]["difference"]
    assert abs(diff - full.pairs[0].stats.difference) < 1e-6  # a constant 0.03 over seeds
    assert abs(abs(diff) - 0.03) < 1e-6


def test_a_running_sampled_sweep_counts_its_finished_trials_exactly(
        make_app, store, alice, monkeypatch):
    small_threshold(monkeypatch)
    with open_client(make_app(), alice) as client:
        sweep_id = client.post(SWEEPS, json=small_spec(seeds=SEEDS)).json()["id"]
        finish(store, max_trials=400)
        body = client.get(f"{SWEEPS}/{sweep_id}/compare").json()
    assert body["sample"]["n_sampled"] == 200
    assert (body["n_total"], body["n_finished"], body["n_with_result"]) == (600, 400, 400)
    assert body["partial"] and any(n.startswith("partial: 400 of 600") for n in body["notes"])
    assert sum(g["n_finished"] for g in body["groups"]) < 200  # the sample's finished trials


def test_a_small_sweep_is_compared_in_full(make_app, store, alice):
    with open_client(make_app(), alice) as client:
        sweep_id = client.post(SWEEPS, json=small_spec(seeds=20)).json()["id"]
        finish(store)
        body = client.get(f"{SWEEPS}/{sweep_id}/compare").json()
    assert body["sample"] is None
    assert [g["stats"]["test_accuracy"]["n"] for g in body["groups"]] == [20, 20]
    assert not any(n.startswith("sampled sweep:") for n in body["notes"])


def test_a_cached_comparison_is_the_cold_bytes_without_touching_the_model(
        make_app, store, alice, monkeypatch):
    small_threshold(monkeypatch)
    with open_client(make_app(), alice) as client:
        sweep_id = client.post(SWEEPS, json=small_spec(seeds=SEEDS)).json()["id"]
        finish(store)
        cold = client.get(f"{SWEEPS}/{sweep_id}/compare")

        def refuse(*_a, **_k):
            raise AssertionError("a cached read recomputed or re-serialised the comparison")

        monkeypatch.setattr(comparisons, "_compare", refuse)
        monkeypatch.setattr(Comparison, "model_dump_json", refuse)
        monkeypatch.setattr(Comparison, "model_validate", refuse)
        cached = [client.get(f"{SWEEPS}/{sweep_id}/compare") for _ in range(2)]
    assert cold.status_code == 200 and cold.headers["content-type"] == "application/json"
    assert all(c.status_code == 200 and c.content == cold.content for c in cached)
    assert Comparison.model_validate_json(cold.content).sample is not None


def test_an_adaptive_sweep_over_the_threshold_is_compared_in_full(make_app, store, alice,
                                                                  monkeypatch):
    # Its rule reads every trial's value from the comparison (sweepd.adaptive_driver).
    small_threshold(monkeypatch)
    spec = small_spec(seeds={"adaptive": {"initial": SEEDS, "max": SEEDS + 100}})
    with open_client(make_app(), alice) as client:
        sweep_id = client.post(SWEEPS, json=spec).json()["id"]
        finish(store)
        body = client.get(f"{SWEEPS}/{sweep_id}/compare").json()
    assert body["sample"] is None
    assert [len(g["trials"]) for g in body["groups"]] == [SEEDS, SEEDS]
