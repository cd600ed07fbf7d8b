"""Regression targets (issue 17): parsed, encoded, split, trained with mse on a linear output,
scored by R²; refused where the output or loss is a classifier's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sweepd import uploaded
from sweepd.dataset_parse import DatasetLimits, parse_dataset, sniff_format
from sweepd.datasets import load
from sweepd.errors import InvalidSpec
from sweepd.outputs import resolve_output
from sweepd.spec import DatasetSpec, SweepSpec

RNG = np.random.default_rng(4)
X = RNG.standard_normal((120, 3))
TARGET = X @ np.array([1.5, -2.0, 0.5]) + 0.1 * RNG.standard_normal(120)


def _csv(y, name: str = "price") -> bytes:
    return pd.DataFrame(X, columns=["a", "b", "c"]).assign(**{name: y}).to_csv(
        index=False, float_format="%.17g").encode()


def parse(data: bytes, **kwargs):
    return parse_dataset(data, fmt=sniff_format(data), target="price", limits=DatasetLimits(),
                         **kwargs)


def test_a_fractional_target_is_a_regression_target_by_default() -> None:
    parsed = parse(_csv(TARGET))
    assert parsed.regression and parsed.y.dtype == np.float64
    assert np.array_equal(parsed.y, TARGET) and parsed.class_names == []


def test_whole_numbers_are_classes_unless_the_task_says_regression() -> None:
    counts = np.arange(120) % 3  # whole numbers: classes by default
    assert not parse(_csv(counts)).regression
    forced = parse(_csv(counts), task="regression")
    assert forced.regression and forced.y.tolist() == counts.astype(float).tolist()
    with pytest.raises(InvalidSpec, match="task=regression"):  # 120 distinct integers
        parse(_csv(np.arange(120)))


@pytest.mark.parametrize(("y", "message"), [
    (["a", "b"] * 60, "is a number"),
    (np.full(120, 2.5), "constant"),
])
def test_a_bad_regression_target_is_refused(y, message) -> None:
    with pytest.raises(InvalidSpec, match=message):
        parse(_csv(y), task="regression")


def test_a_fractional_target_as_classes_is_refused_with_the_way_out() -> None:
    with pytest.raises(InvalidSpec, match="task=regression"):
        parse(_csv(TARGET), task="classification")


def test_the_same_numbers_as_targets_and_as_classes_are_two_data_sets() -> None:
    y = np.arange(120) % 2
    blob_c, sha_c = uploaded.encode(X, y)
    blob_r, sha_r = uploaded.encode(X, y.astype(np.float64))
    assert sha_c != sha_r and blob_r[:8] == uploaded.REGRESSION_MAGIC
    x, back = uploaded.decode(blob_r)
    assert back.dtype == np.float64 and np.array_equal(back, y) and np.array_equal(x, X)


def test_a_regression_data_set_loads_with_float_targets_and_random_draws() -> None:
    blob, sha = uploaded.encode(X, TARGET)
    uploaded.register(sha, *uploaded.decode(blob))
    spec = DatasetSpec(name="uploaded", id=sha, test_fraction=0.25, seed=0)
    data = load(spec)
    assert data.n_classes == 0 and data.y_train.dtype == np.float64
    assert len(data.y_test) == 30 and sorted(np.concatenate([data.y_train, data.y_test])) == \
        sorted(TARGET)
    drawn = load(spec, draw=5)  # a data draw (issue 16): another split of the same rows
    assert len(drawn.y_test) == 30 and not np.array_equal(drawn.y_test, data.y_test)


@pytest.mark.parametrize(("output", "loss", "message"), [
    ("sigmoid", "auto", "linear output"), ("auto", "bce", "trains with mse"),
    ("softmax", "mse", "linear output")])
def test_a_classifier_output_or_loss_on_a_regression_target_is_refused(output, loss,
                                                                       message) -> None:
    with pytest.raises(InvalidSpec, match=message):
        resolve_output(output, loss, 0)
    assert resolve_output("auto", "auto", 0) == ("linear", "mse")
    with pytest.raises(InvalidSpec, match="regression target"):
        resolve_output("linear", "auto", 2)


def test_the_engine_reports_r2_and_reruns_bitwise() -> None:
    from sweepd.engine import run_batch

    blob, sha = uploaded.encode(X, TARGET)
    uploaded.register(sha, *uploaded.decode(blob))
    spec = SweepSpec.model_validate({
        "name": "r", "dataset": {"name": "uploaded", "id": sha, "test_fraction": 0.25},
        "model": {"hidden": [4], "activation": "tanh"},
        "training": {"optimizer": "gd", "learning_rate": 0.05, "steps": 400, "loss": "mse",
                     "dtype": "float64"},
        "seeds": {"count": 3}, "initializers": ["glorot_uniform"]})
    trials = [spec.trial_for(s, spec.initializers[0], {}) for s in spec.seed_values]
    first, again, alone = run_batch(trials), run_batch(trials), run_batch(trials[1:2])
    data = load(trials[0].dataset)
    for r in first:
        assert r.train_accuracy is None and r.test_accuracy is None
        assert r.train_r2 == pytest.approx(1 - r.train_cost / np.var(data.y_train))
        assert r.test_r2 == pytest.approx(1 - r.test_cost / np.var(data.y_test))
        assert r.train_r2 > 0.9  # a linear target: the net fits it
        assert r.tail.train_r2 is not None and r.tail.train_accuracy is None
    assert [r.final_sha256 for r in first] == [r.final_sha256 for r in again]
    assert alone[0].final_sha256 == first[1].final_sha256  # K-invariant
