"""Weights stored once by content (issue 19, item 4), on SQLite and PostgreSQL: identical
weights of several trials are one row of `weight_blobs`, every trial still downloads its own,
and `store.initial_weights: false` stores no initial weights at all."""

from __future__ import annotations

import numpy as np
import pytest

from sweepd import weights
from sweepd.errors import NotFound
from sweepd.records import ResultItem
from sweepd.results import TrialResult
from sweepd.spec import SweepSpec
from sweepd.storage.store import Store
from tests.integration.store_support import in_threads, scalar


def _pack(value: float) -> tuple[bytes, str]:
    return weights.pack({"layers.0.kernel": np.full((2, 4), value, np.float32),
                         "layers.0.bias": np.zeros(4, np.float32),
                         "layers.1.kernel": np.full((4, 1), value, np.float32),
                         "layers.1.bias": np.zeros(1, np.float32)})


def _result(cell_key: str, final: tuple[bytes, str], initial: tuple[bytes, str] | None):
    return TrialResult(cell_key=cell_key, status="ok", train_cost=0.5, train_accuracy=0.5,
                       test_cost=None, test_accuracy=None, train_cost_tail=0.5, steps=1,
                       wall_seconds=0.01, curve_every=1, curve=[0.7, 0.5],
                       final_weights=final[0], final_sha256=final[1],
                       initial_weights=initial[0] if initial else None,
                       initial_sha256=initial[1] if initial else None)


def _claim_all(store: Store, owner: int, *, seeds: int, initial: bool):
    spec = SweepSpec.model_validate({
        "name": "blobs", "dataset": {"name": "xor"}, "seeds": {"count": seeds},
        "initializers": ["zeros"], "training": {"steps": 1},
        "store": {"initial_weights": initial}})
    sweep, _ = store.submit_sweep(owner, spec)
    batches = store.claim_trials(holder="t", max_trials=seeds, max_batch=seeds, lease_seconds=60)
    return sweep, [c for b in batches for c in b.trials]


def test_identical_weights_of_several_trials_are_stored_once(store: Store, owner: int):
    sweep, claimed = _claim_all(store, owner, seeds=4, initial=True)
    zeros, ones = _pack(0.0), _pack(1.0)
    store.record_results([ResultItem(trial_id=c.trial_id, attempt=c.attempt,
                                     result=_result(c.spec.cell_key, ones, zeros), node="n",
                                     device="cpu") for c in claimed])
    assert scalar(store, "SELECT count(*) FROM weight_blobs") == 2  # 8 references, 2 files
    for c in claimed:
        assert store.get_weights(owner, sweep.id, c.trial_id, "final") == ones
        assert store.get_weights(owner, sweep.id, c.trial_id, "initial") == zeros
    finished = store.sweep_results(owner, sweep.id)
    assert [blob for _, blob in finished] == [ones[0]] * 4
    page = store.weights_page(owner, sweep.id, "initial")
    assert [blob for _, blob in page] == [zeros[0]] * 4


def test_results_sharing_a_blob_recorded_at_once_both_land(store: Store, owner: int):
    sweep, claimed = _claim_all(store, owner, seeds=4, initial=False)
    same = _pack(2.0)
    outcomes = in_threads(4, lambda i: store.record_results([ResultItem(
        trial_id=claimed[i].trial_id, attempt=claimed[i].attempt,
        result=_result(claimed[i].spec.cell_key, same, None), node="n", device="cpu")]))
    assert sorted(t for o in outcomes for t in o.accepted) == sorted(c.trial_id for c in claimed)
    assert scalar(store, "SELECT count(*) FROM weight_blobs") == 1


def test_no_initial_weights_are_stored_when_the_spec_says_so(store: Store, owner: int):
    sweep, claimed = _claim_all(store, owner, seeds=2, initial=False)
    store.record_results([ResultItem(trial_id=c.trial_id, attempt=c.attempt,
                                     result=_result(c.spec.cell_key, _pack(float(i)), None),
                                     node="n", device="cpu") for i, c in enumerate(claimed)])
    assert scalar(store, "SELECT count(*) FROM weight_blobs") == 2  # the two final files only
    with pytest.raises(NotFound, match="no initial weights"):
        store.get_weights(owner, sweep.id, claimed[0].trial_id, "initial")
    assert store.weights_page(owner, sweep.id, "initial") == []


def test_the_engine_stores_no_initial_weights_when_the_spec_says_so():
    from sweepd.engine import run_batch

    spec = SweepSpec.model_validate({
        "name": "no-initial", "dataset": {"name": "xor"}, "seeds": {"count": 2},
        "initializers": ["glorot_uniform"], "training": {"steps": 3},
        "store": {"initial_weights": False}})
    results = run_batch([spec.trial_for(s, spec.initializers[0], {}) for s in spec.seed_values])
    assert all(r.initial_weights is None and r.initial_sha256 is None for r in results)
