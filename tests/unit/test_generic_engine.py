"""The generic batched engine (issue 18): same trial as the fast engine, bitwise reruns,
K-invariance, the K = 1 fallback, and plugin validation in the spec."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from sweepd import models_registry, weights
from sweepd.engine import run_batch, run_fast_batch
from sweepd.engine.generic import ENGINE_ID
from sweepd.engine.generic import run_batch as run_generic
from sweepd.models_registry import ModelPlugin, PluginParams
from sweepd.results import TrialResult
from sweepd.spec import EXAMPLE, ModelSpec, SweepSpec, TrialSpec, spec_hash

MOONS = {"name": "moons", "n_samples": 400, "noise": 0.2, "seed": 0}


def _trials(model: dict[str, Any], training: dict[str, Any], *, dataset: dict | None = None,
            seeds: int = 2, initializers: list | None = None, **extra: Any) -> list[TrialSpec]:
    return SweepSpec.model_validate({
        "name": "t", "dataset": dataset or MOONS, "model": model, "training": training,
        "seeds": {"start": 0, "count": seeds},
        "initializers": initializers or ["glorot_uniform", "he_normal"],
        "store": {"curve_every": 10}, **extra,
    }).trials()


def _max_diff(a: TrialResult, b: TrialResult) -> float:
    wa, wb = weights.unpack(a.final_weights), weights.unpack(b.final_weights)
    assert sorted(wa) == sorted(wb)
    return max(float(np.abs(wa[k] - wb[k]).max()) for k in wa)


# -- the MLP: the generic engine trains the fast engine's trial ------------------------------


@pytest.mark.parametrize("training", [
    {"optimizer": "gd", "learning_rate": 0.1, "steps": 150, "dtype": "float64"},
    {"optimizer": "adam", "learning_rate": 0.01, "steps": 120, "batch_size": 64, "l2": 1e-3,
     "dtype": "float64"},
])
def test_generic_engine_on_the_mlp_matches_the_fast_engine_in_float64(training):
    trials = _trials({"hidden": [5, 3], "activation": "tanh"}, training,
                     initializers=["glorot_uniform", {"name": "random_normal", "stddev": 0.5},
                                   "torch_default"],
                     bias_initializer=None)
    fast, generic = run_fast_batch(trials), run_generic(trials)
    for a, b in zip(fast, generic):
        assert _max_diff(a, b) < 1e-6
        assert a.initial_sha256 == b.initial_sha256  # the same draws, the same stored layout
        assert np.allclose(a.curve, b.curve, atol=1e-9, rtol=0)
        assert abs(a.tail.test_accuracy - b.tail.test_accuracy) < 1e-9
        assert a.steps == b.steps and a.curve_every == b.curve_every
    assert generic[0].environment["engine"] == ENGINE_ID
    assert fast[0].environment["engine"] != ENGINE_ID


def test_the_mlp_routes_to_the_fast_engine_and_a_plugin_to_the_generic_one():
    mlp = _trials({"hidden": [3]}, {"steps": 3}, seeds=1)
    cnn = _trials({"plugin": "sweepd.cnn", "params": {"channels": [2]}}, {"steps": 3},
                  dataset={"name": "digits"}, seeds=1)
    assert run_batch(mlp)[0].environment["engine"] != ENGINE_ID
    result = run_batch(cnn)[0]
    assert result.environment["engine"] == ENGINE_ID
    assert result.environment["plugin"] == "sweepd.cnn"
    assert result.environment["batching"] == "vmap"


# -- the CNN: bitwise reruns, K-invariance ------------------------------------------------------

CNN = {"plugin": "sweepd.cnn", "params": {"channels": [4, 6]}}
DIGITS = {"name": "digits", "standardize": True}


@pytest.mark.parametrize("training", [
    {"optimizer": "sgd", "learning_rate": 0.05, "steps": 25, "batch_size": 50},
    {"optimizer": "gd", "learning_rate": 0.2, "steps": 6},
])
def test_cnn_reruns_bitwise_and_is_k_invariant(training):
    trials = _trials(CNN, training, dataset=DIGITS, seeds=2,
                     initializers=["glorot_uniform", "he_normal"])
    batch = run_generic(trials)
    again = run_generic(trials)
    assert [r.final_sha256 for r in batch] == [r.final_sha256 for r in again]
    assert [r.curve for r in batch] == [r.curve for r in again]
    alone = run_generic([trials[2]])[0]
    reordered = run_generic([trials[3], trials[2]])[1]
    for other in (alone, reordered):
        assert other.final_sha256 == batch[2].final_sha256
        assert other.curve == batch[2].curve
        assert other.tail == batch[2].tail
    assert len({r.final_sha256 for r in batch}) == 4  # and the trials do differ
    names = set(weights.unpack(batch[0].final_weights))
    assert names == {"1.weight", "1.bias", "3.weight", "3.bias", "6.weight", "6.bias"}
    assert weights.unpack(batch[0].final_weights)["1.weight"].shape == (4, 1, 3, 3)


# -- a module vmap cannot batch: one trial at a time, said so -----------------------------------


class _BNParams(PluginParams):
    dropout: float = 0.0


def _build_bn(input_shape: tuple[int, ...], n_outputs: int, *, dropout: float) -> Any:
    return torch.nn.Sequential(torch.nn.Linear(input_shape[0], 6), torch.nn.BatchNorm1d(6),
                               torch.nn.Tanh(), torch.nn.Dropout(dropout),
                               torch.nn.Linear(6, n_outputs))


@pytest.fixture
def bn_plugin(monkeypatch: pytest.MonkeyPatch) -> str:
    """A plugin as if installed (the registry's per-process cache), removed after the test."""
    name = "test.batchnorm"
    monkeypatch.setitem(models_registry._loaded, name,
                        ModelPlugin(description="BatchNorm", params=_BNParams, build=_build_bn))
    return name


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_a_module_vmap_cannot_batch_trains_one_at_a_time_reproducibly(bn_plugin, dropout):
    trials = _trials({"plugin": bn_plugin, "params": {"dropout": dropout}},
                     {"optimizer": "sgd", "learning_rate": 0.1, "steps": 20, "batch_size": 32})
    batch = run_generic(trials)
    assert all(r.environment["batching"].startswith("one at a time (K = 1)") for r in batch)
    assert batch[0].environment["batch_trials"] == 1
    # BatchNorm's affine parameters keep their module defaults, and the result says so.
    assert batch[0].environment["module_defaults"] == ["1.weight", "1.bias"]
    assert [r.final_sha256 for r in batch] == [r.final_sha256 for r in run_generic(trials)]
    assert run_generic([trials[1]])[0].final_sha256 == batch[1].final_sha256
    assert all(r.status == "ok" for r in batch)


# -- the spec ---------------------------------------------------------------------------------


def test_old_specs_dump_and_hash_as_before_plugins():
    spec = SweepSpec.model_validate(EXAMPLE)
    assert spec.model.model_dump(mode="json") == {"hidden": [4], "activation": "tanh",
                                                  "output": "sigmoid"}
    assert spec.model.plugin == "sweepd.mlp" and spec.model.params == {}
    explicit = SweepSpec.model_validate({**EXAMPLE, "model": {**EXAMPLE["model"],
                                                              "plugin": "sweepd.mlp"}})
    assert spec_hash(explicit) == spec_hash(spec)
    assert [t.batch_key for t in explicit.trials()] == [t.batch_key for t in spec.trials()]


def test_plugin_params_are_validated_and_stored_with_their_defaults():
    model = ModelSpec.model_validate({"plugin": "sweepd.cnn", "params": {"channels": [3]}})
    assert model.params == {"channels": [3], "kernel_size": 3, "activation": "relu",
                            "in_channels": 1}
    assert "hidden" not in model.model_dump()
    assert ModelSpec.model_validate(model.model_dump(mode="json")) == model


@pytest.mark.parametrize(("model", "message"), [
    ({"plugin": "absent.model"}, "unknown model plugin 'absent.model'; installed: "),
    ({"plugin": "os.system"}, "unknown model plugin 'os.system'"),
    ({"plugin": "os:system"}, "should match pattern"),
    ({"plugin": "sweepd.cnn", "params": {"channels": "8"}}, "model.params.channels (sweepd.cnn)"),
    ({"plugin": "sweepd.cnn", "params": {"kernel_size": 3.0}}, "model.params.kernel_size"),
    ({"plugin": "sweepd.cnn", "params": {"bogus": 1}}, "model.params.bogus"),
    ({"plugin": "sweepd.cnn", "hidden": [4]}, "model.hidden applies to sweepd.mlp only"),
    ({"params": {"hidden": [4]}}, "sweepd.mlp takes no params"),
])
def test_bad_plugins_and_params_are_refused_naming_what_is_installed(model, message):
    with pytest.raises(ValidationError) as info:
        ModelSpec.model_validate(model)
    assert message in str(info.value)
    if "installed" in message:
        assert "sweepd.cnn, sweepd.mlp" in str(info.value)


def test_a_stored_spec_reads_back_when_its_plugin_is_gone(bn_plugin, monkeypatch):
    spec = SweepSpec.model_validate({**EXAMPLE, "model": {"plugin": bn_plugin}})
    monkeypatch.delitem(models_registry._loaded, bn_plugin)
    with pytest.raises(ValidationError):
        SweepSpec.model_validate(spec.model_dump(mode="json"))
    assert SweepSpec.stored(spec.model_dump(mode="json")).model.plugin == bn_plugin


def test_generic_engine_follows_order_and_data_seeds_as_the_fast_engine_does():
    """Issue 16's crossed seeds: the same minibatch order stream and the same data draw."""
    training = {"optimizer": "sgd", "learning_rate": 0.1, "steps": 40, "batch_size": 32,
                "dtype": "float64"}
    spec = SweepSpec.model_validate({
        "name": "t", "dataset": MOONS, "model": {"hidden": [4]}, "training": training,
        "seeds": {"start": 0, "count": 1}, "order_seeds": {"start": 5, "count": 2},
        "data_seeds": [3], "initializers": ["glorot_uniform"]})
    trials = spec.trials()
    by_key: dict[str, list[TrialSpec]] = {}
    for t in trials:
        by_key.setdefault(t.batch_key, []).append(t)
    for batch in by_key.values():
        for a, b in zip(run_fast_batch(batch), run_generic(batch)):
            assert _max_diff(a, b) < 1e-9
    orders = run_generic([t for t in trials if t.order_seed in (5, 6)][:2])
    assert orders[0].final_sha256 != orders[1].final_sha256  # the order seed matters
