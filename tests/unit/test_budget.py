"""Resource budgets (issue 14, items 1 and 4): the estimate, the caps, the curve's length, and
the submission check from shapes instead of generated data."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sweepd import datasets
from sweepd.budget import check_budget, sweep_cost, trial_cost
from sweepd.errors import InvalidSpec, OverBudget
from sweepd.settings import Settings
from sweepd.shapes import dataset_shape
from sweepd.spec import MAX_CURVE_POINTS, DatasetSpec, StoreSpec, SweepSpec, resolved_curve_every
from sweepd.trainability import check_trainable

QUICK: dict[str, Any] = {
    "name": "quick", "dataset": {"name": "moons", "n_samples": 1000, "test_fraction": 0.2},
    "model": {"hidden": [4], "output": "sigmoid"},
    "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": 2000},
    "seeds": {"count": 8}, "initializers": ["glorot_uniform", "zeros", "he_normal"],
}
# The first attack: 16 × 4096 float64 × 256 seeds × 10⁷ steps on 10⁶ samples.
RUINOUS: dict[str, Any] = {
    **QUICK, "dataset": {"name": "moons", "n_samples": 1_000_000},
    "model": {"hidden": [4096] * 16}, "seeds": {"count": 256}, "initializers": ["he_normal"],
    "training": {"optimizer": "gd", "steps": 10_000_000, "dtype": "float64"},
}
# 20 grid points of 10⁶ samples: 11.8 s of API CPU when the check generated the data.
BIG_GRID: dict[str, Any] = {
    **QUICK, "dataset": {"name": "moons", "n_samples": 1_000_000}, "seeds": [0],
    "grid": {"dataset.seed": list(range(20))}, "training": {"steps": 10},
}


def _spec(data: dict[str, Any], **changes: Any) -> SweepSpec:
    return SweepSpec.model_validate({**data, **changes})


def test_the_estimate_follows_the_stated_formula() -> None:
    spec = _spec(QUICK)
    cost = trial_cost(spec.dataset, spec.model, spec.training, spec.store)
    assert cost.parameters == (2 + 1) * 4 + (4 + 1) * 1 == 17
    assert cost.curve_points == 2000 // 100 + 1
    assert cost.flops == 6 * 17 * 800 * 2000 + 2 * 17 * 1000 * (8 + 1)
    assert cost.parameter_bytes == 17 * 5 * 4  # gd: params, grads, initial, two buffers
    total = sweep_cost(spec)
    assert total.trials == 24 and total.flops == 24 * cost.flops
    assert total.stored_bytes == 24 * cost.stored_bytes


def test_the_ruinous_sweep_is_refused_with_its_estimate_the_cap_and_the_setting() -> None:
    with pytest.raises(OverBudget) as info:
        check_budget(_spec(RUINOUS), Settings())
    detail = info.value.detail
    assert "a trial needs about 1.2e+22 FLOPs" in detail
    assert "over the cap of 1e+14 FLOPs per trial" in detail
    assert "SWEEPD_MAX_TRIAL_FLOPS" in detail
    assert isinstance(info.value, InvalidSpec)  # so a 422


@pytest.mark.parametrize(("caps", "setting", "words"), [
    ({"max_trial_memory_bytes": 1 << 20}, "SWEEPD_MAX_TRIAL_MEMORY_BYTES", "GiB of memory"),
    ({"max_sweep_flops": 1e12}, "SWEEPD_MAX_SWEEP_FLOPS", "FLOPs per sweep"),
    ({"max_sweep_stored_bytes": 1 << 20}, "SWEEPD_MAX_SWEEP_STORED_BYTES", "stored per sweep"),
], ids=["trial-memory", "sweep-flops", "sweep-storage"])
def test_each_cap_is_enforced_and_named(caps: dict[str, Any], setting: str, words: str) -> None:
    # [1024] hidden units on 10⁵ samples, float64: about 2.5 GiB of activations per trial,
    # 1000 trials of 2 × 8 MiB weights; under every default cap but the memory one.
    spec = _spec(QUICK, dataset={"name": "moons", "n_samples": 100_000},
                 model={"hidden": [1024, 1024]}, seeds={"count": 1000},
                 training={"steps": 1, "dtype": "float64"})
    lifted = {"max_trial_memory_bytes": 1 << 40, "max_sweep_flops": 1e30,
              "max_sweep_stored_bytes": 1 << 50}
    check_budget(spec, Settings(**lifted))
    with pytest.raises(OverBudget, match=setting) as info:
        check_budget(spec, Settings(**{**lifted, **caps}))
    assert words in info.value.detail


def test_an_admin_setting_raises_the_cap() -> None:
    big = Settings(max_trial_flops=1e30, max_sweep_flops=1e30, max_trial_memory_bytes=1 << 50,
                   max_sweep_stored_bytes=1 << 60)
    assert check_budget(_spec(RUINOUS), big).trials == 256


def test_the_worst_grid_point_decides() -> None:
    spec = _spec(QUICK, grid={"training.steps": [10, 10_000_000]}, seeds=[0],
                 dataset={"name": "moons", "n_samples": 200_000})
    with pytest.raises(OverBudget, match="10,000,000 steps"):
        check_budget(spec, Settings())


# -- the curve --------------------------------------------------------------------------------


def test_curve_every_one_over_ten_million_steps_is_thinned_to_the_cap() -> None:
    # The second attack: a point every step of 10⁷ (5 GiB of curve).
    every = resolved_curve_every(StoreSpec(curve_every=1), 10_000_000)
    assert every == math.ceil(10_000_000 / (MAX_CURVE_POINTS - 1))
    assert math.ceil(10_000_000 / every) + 1 <= MAX_CURVE_POINTS
    assert resolved_curve_every(StoreSpec(curve_every=100), 10_000) == 100  # untouched
    spec = _spec(QUICK, training={"steps": 10_000_000}, store={"curve_every": 1}, seeds=[0])
    assert sweep_cost(spec).most_memory.curve_points <= MAX_CURVE_POINTS


def test_engine_keeps_at_most_the_cap_and_thins_evenly(monkeypatch: pytest.MonkeyPatch) -> None:
    from sweepd import spec as spec_module
    from sweepd.engine import run_batch

    data = {**QUICK, "dataset": {"name": "moons", "n_samples": 40}, "seeds": [0],
            "initializers": ["glorot_uniform"], "training": {"steps": 200}}
    monkeypatch.setattr(spec_module, "MAX_CURVE_POINTS", 11)
    [thinned] = run_batch(_spec(data, store={"curve_every": 1}).trials())
    assert thinned.curve_every == 20 and len(thinned.curve) == 11
    [explicit] = run_batch(_spec(data, store={"curve_every": 20}).trials())
    assert thinned.curve == explicit.curve and thinned.final_sha256 == explicit.final_sha256


# -- shapes and the trainability check without data -----------------------------------------------


@pytest.mark.parametrize("dataset", [
    {"name": "moons"}, {"name": "circles", "n_samples": 37, "test_fraction": 0.5},
    {"name": "blobs", "n_classes": 5}, {"name": "blobs", "n_samples": 4, "n_classes": 10},
    {"name": "xor", "test_fraction": 0}, {"name": "spiral", "n_classes": 7, "n_samples": 10},
    {"name": "flower", "n_samples": 5, "test_fraction": 0.9}, {"name": "iris"},
    {"name": "wine"}, {"name": "breast_cancer", "test_fraction": 0.33}, {"name": "digits"},
])
def test_shapes_agree_with_the_generated_data(dataset: dict[str, Any]) -> None:
    spec = DatasetSpec.model_validate(dataset)
    data = datasets.load(spec)
    shape = dataset_shape(spec)
    assert (shape.n_features, shape.n_classes, shape.n_train, shape.n_test) == (
        data.n_features, data.n_classes, len(data.y_train), len(data.y_test))


def _no_data(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        calls.append("generated")
        raise AssertionError("the submission check generated a data set")

    monkeypatch.setattr(datasets, "_generate", refuse)
    monkeypatch.setattr(datasets, "load", refuse)
    datasets._load_cached.cache_clear()
    return calls


def test_trainability_check_generates_no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _no_data(monkeypatch)
    spec = _spec(BIG_GRID)
    check_trainable(spec)
    check_budget(spec, Settings())
    with pytest.raises(AssertionError):  # the trap is armed
        datasets.load(spec.dataset)
    assert calls == ["generated"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"dataset": {"name": "iris"}, "model": {"output": "sigmoid"}}, "model.output"),
    ({"dataset": {"name": "digits"}, "model": {"output": "sigmoid"}}, "model.output"),
    ({"dataset": {"name": "blobs", "n_classes": 4}, "model": {"output": "auto"},
      "training": {"loss": "bce"}}, "training.loss"),
    ({"dataset": {"name": "spiral", "n_samples": 4, "n_classes": 5}, "model": {"output": "auto"}},
     "cannot cover 5 classes"),
    ({"dataset": {"name": "moons"}, "grid": {"dataset.name": ["moons", "wine"]}}, "model.output"),
], ids=["sigmoid-on-iris", "sigmoid-on-digits", "bce-with-softmax", "spiral-too-few",
        "grid-point-wine"])
def test_trainability_still_refuses_without_data(monkeypatch: pytest.MonkeyPatch,
                                                 changes: dict[str, Any], message: str) -> None:
    _no_data(monkeypatch)
    with pytest.raises(InvalidSpec, match=message):
        check_trainable(_spec(QUICK, **changes))


def test_the_submission_checks_import_no_torch_numpy_or_sklearn() -> None:
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import sys
        from sweepd.budget import check_budget
        from sweepd.settings import Settings
        from sweepd.spec import SweepSpec
        from sweepd.trainability import check_trainable
        spec = SweepSpec.model_validate({BIG_GRID!r})
        check_trainable(spec)
        check_budget(spec, Settings())
        heavy = sorted(m for m in ("torch", "numpy", "sklearn") if m in sys.modules)
        assert not heavy, heavy
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
