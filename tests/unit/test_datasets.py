"""Datasets: shapes, classes, determinism from the seed, split, standardization, cache."""

from __future__ import annotations

import numpy as np
import pytest

from sweepd.datasets import Dataset, _load_cached, load
from sweepd.errors import InvalidSpec
from sweepd.spec import DatasetSpec

# name -> (n_samples by default, n_features, n_classes)
EXPECTED = {
    "moons": (1000, 2, 2), "circles": (1000, 2, 2), "blobs": (1000, 2, 3), "xor": (1000, 2, 2),
    "spiral": (300, 2, 3), "flower": (400, 2, 2), "iris": (150, 4, 3), "wine": (178, 13, 3),
    "breast_cancer": (569, 30, 2), "digits": (1797, 64, 10),
}


def _all(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_dataset_has_expected_shape_and_classes(name: str) -> None:
    n, features, classes = EXPECTED[name]
    data = load(DatasetSpec(name=name, test_fraction=0.25))
    x, y = _all(data)
    assert x.shape == (n, features) and x.dtype == np.float64
    assert y.dtype == np.int64
    assert (data.n_features, data.n_classes) == (features, classes)
    assert sorted(np.unique(y).tolist()) == list(range(classes))
    assert len(data.y_test) == round(n * 0.25)


@pytest.mark.parametrize("name", ["moons", "circles", "blobs", "xor", "spiral", "flower"])
def test_load_generated_dataset_depends_only_on_seed(name: str) -> None:
    spec = DatasetSpec(name=name, seed=3)
    first = load(spec)
    again = _load_cached.__wrapped__(spec.model_dump_json())  # rebuilt, not from the cache
    other = load(DatasetSpec(name=name, seed=4))
    assert again is not first
    assert np.array_equal(first.x_train, again.x_train)
    assert np.array_equal(first.y_test, again.y_test)
    assert not np.array_equal(_all(first)[0], _all(other)[0])


def test_load_same_spec_returns_cached_read_only_arrays() -> None:
    spec = DatasetSpec(name="moons", n_samples=300, seed=11)
    data = load(spec)
    assert load(DatasetSpec.model_validate(spec.model_dump())) is data
    with pytest.raises(ValueError):
        data.x_train[0, 0] = 1.0


def test_load_with_zero_test_fraction_has_empty_test_set() -> None:
    data = load(DatasetSpec(name="moons", n_samples=5000, noise=0.2, test_fraction=0))
    assert data.x_train.shape == (5000, 2)
    assert data.x_test.shape == (0, 2) and data.y_test.shape == (0,)
    assert np.bincount(data.y_train).tolist() == [2500, 2500]


def test_load_split_is_a_seeded_permutation_of_the_same_points() -> None:
    whole = load(DatasetSpec(name="iris", test_fraction=0))
    split = load(DatasetSpec(name="iris", test_fraction=0.2, seed=1))
    resplit = load(DatasetSpec(name="iris", test_fraction=0.2, seed=2))
    x, _ = _all(split)
    assert sorted(map(tuple, x)) == sorted(map(tuple, whole.x_train))
    assert not np.array_equal(split.x_test, resplit.x_test)


def test_load_standardizes_with_training_statistics_only() -> None:
    raw = load(DatasetSpec(name="wine", test_fraction=0.3, seed=5))
    scaled = load(DatasetSpec(name="wine", test_fraction=0.3, seed=5, standardize=True))
    np.testing.assert_allclose(scaled.x_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.x_train.std(axis=0), 1.0, rtol=1e-12)
    mean, std = raw.x_train.mean(axis=0), raw.x_train.std(axis=0)
    np.testing.assert_allclose(scaled.x_test, (raw.x_test - mean) / std, rtol=1e-12)


def test_load_flower_is_the_planar_flower() -> None:
    data = load(DatasetSpec(name="flower", test_fraction=0))
    assert np.bincount(data.y_train).tolist() == [200, 200]
    radius = np.hypot(data.x_train[:, 0], data.x_train[:, 1])
    assert 3.5 < radius.max() < 5.0  # petals of maximum ray 4, plus noise


def test_load_honours_generator_options() -> None:
    data = load(DatasetSpec(name="blobs", n_samples=120, n_classes=4, noise=0.5, test_fraction=0))
    assert data.x_train.shape == (120, 2) and data.n_classes == 4
    tight = load(DatasetSpec(name="circles", n_samples=400, noise=0.0, factor=0.3,
                             test_fraction=0))
    radius = np.hypot(tight.x_train[:, 0], tight.x_train[:, 1])
    np.testing.assert_allclose(np.sort(np.unique(radius.round(9))), [0.3, 1.0])


def test_load_too_few_samples_for_classes_raises_invalid_spec() -> None:
    with pytest.raises(InvalidSpec, match="n_samples"):
        load(DatasetSpec(name="spiral", n_samples=8, n_classes=10))
