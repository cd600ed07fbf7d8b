"""Weight matching for plugin models with a permutation spec (issue 18): a network and a
randomly permuted copy of itself align to distance 0 and barrier 0."""

from __future__ import annotations

import numpy as np
import pytest

from sweepd import models_registry, weights
from sweepd.analysis.group_matching import apply, from_keras_layers, match
from sweepd.engine.generic import run_batch
from sweepd.engine.plugin_barrier import loss_barrier
from sweepd.spec import SweepSpec

CASES = {
    "cnn": ({"name": "digits", "standardize": True},
            {"plugin": "sweepd.cnn", "params": {"channels": [5, 7]}}),
    "mlp3": ({"name": "moons", "n_samples": 300},
             {"plugin": "test.deep_mlp", "params": {}}),
}


@pytest.fixture
def deep_mlp(monkeypatch):
    """The MLP plugin under another name, so the generic engine trains a 3-hidden-layer MLP with
    torch-layout weights (the built-in MLP name is routed to the fast engine's layout)."""
    from sweepd.model_plugins import MLP_PLUGIN, MLPParams, build_mlp, mlp_permutation

    class Deep(MLPParams):
        pass

    deep = models_registry.ModelPlugin(
        description="deep", params=Deep,
        build=lambda shape, n, **_: build_mlp(shape, n, hidden=[6, 5, 4], activation="relu"),
        permutation=lambda _p: mlp_permutation(MLPParams(hidden=[6, 5, 4])))
    assert MLP_PLUGIN.permutation is not None
    monkeypatch.setitem(models_registry._loaded, "test.deep_mlp", deep)


def _trained(dataset, model):
    spec = SweepSpec.model_validate({
        "name": "m", "dataset": dataset, "model": model,
        "training": {"optimizer": "adam", "learning_rate": 0.01, "steps": 40, "batch_size": 64},
        "seeds": {"start": 0, "count": 2}, "initializers": ["he_normal"]})
    trials = spec.trials()
    results = run_batch(trials)
    stored = [weights.unpack(r.final_weights) for r in results]
    if "layers.0.kernel" in stored[0]:  # a Linear stack is stored in the fast engine's layout
        stored = [from_keras_layers(w) for w in stored]
    return trials[0], stored


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_net_and_a_permuted_copy_align_to_distance_0_and_barrier_0(case, deep_mlp):
    dataset, model = CASES[case]
    trial, (a, b) = _trained(dataset, model)
    plugin = models_registry.get(trial.model.plugin)
    groups = plugin.permutation(plugin.params.model_validate(trial.model.params))
    rng = np.random.default_rng(1)
    perms = [rng.permutation(a[g.out[0]].shape[0]) for g in groups]
    shuffled = apply(a, groups, perms)
    assert loss_barrier(trial, a, shuffled) > 1e-3  # the raw path between them does cross one
    aligned = match(a, shuffled, groups)
    assert aligned.raw_distance > 1
    assert aligned.distance == pytest.approx(0, abs=1e-9)
    assert abs(loss_barrier(trial, a, aligned.aligned)) < 1e-9
    # Two different trials: aligning brings them closer, never further.
    other = match(a, b, groups)
    assert other.distance <= other.raw_distance and other.distance > 0
