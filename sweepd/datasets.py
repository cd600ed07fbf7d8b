"""Datasets: generated from a seed, or shipped inside scikit-learn, split and cached per process.

Every dataset is a deterministic function of its `DatasetSpec`: the generator draws from the
dataset seed, and the train/test split is a permutation drawn from a second stream derived from
the same seed, so every trial of a sweep sees exactly the same data (docs/design.md).

Defaults for generators when `n_samples` / `noise` are unset:

    moons   1000 points, noise 0.2        circles 1000 points, noise 0.05, factor 0.5
    blobs   1000 points, cluster std 1.0, 3 classes
    xor     1000 points, noise 0.1        spiral  300 points, noise 0.2, 3 classes
    flower  400 points, noise 0.2 (the classic course "planar flower", 2 classes)
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np
import sklearn.datasets as skd

from sweepd import uploaded
from sweepd.errors import InvalidSpec
from sweepd.spec import DatasetSpec

__all__ = ["Dataset", "load"]

_DEFAULT_SAMPLES = {"moons": 1000, "circles": 1000, "blobs": 1000, "xor": 1000, "spiral": 300,
                    "flower": 400}
_DEFAULT_NOISE = {"moons": 0.2, "circles": 0.05, "blobs": 1.0, "xor": 0.1, "spiral": 0.2,
                  "flower": 0.2}
_DEFAULT_CLASSES = 3  # blobs and spiral
_SPLIT_STREAM = 1  # second entropy word of the split's numpy Generator
_DRAW_STREAM = 2  # ... and of a data draw's stratified split (issue 16)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A split dataset. Arrays are read-only: the instance is shared by the per-process cache.

    `x_*` are float64 of shape (n, n_features); `y_*` are int64 class labels in
    [0, n_classes), or float64 targets with `n_classes` 0 for an uploaded regression data set.
    With `test_fraction` 0 the test arrays are empty.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    n_features: int


def load(spec: DatasetSpec, draw: int | None = None) -> Dataset:
    """Build (or fetch from the per-process cache) the dataset a spec describes.

    Args:
        spec: the dataset part of a sweep.
        draw: the trial's data draw (issue 16); None or `spec.seed`: the data set as the
            spec alone gives it. Otherwise a generated data set is generated (and split) from
            the draw, exactly as `seed: draw` would; any other data set keeps its points and
            gets a stratified train/test split drawn from it (`_stratified_split`).

    Returns:
        The split, optionally standardized, dataset.

    Raises:
        InvalidSpec: too few samples for the requested number of classes.
    """
    if draw is None or draw == spec.seed:
        return _load_cached(spec.model_dump_json())
    if spec.name in _GENERATED:
        return _load_cached(spec.model_copy(update={"seed": draw}).model_dump_json())
    return _load_cached(spec.model_dump_json(), draw)


@functools.lru_cache(maxsize=32)
def _load_cached(spec_json: str, split_draw: int | None = None) -> Dataset:
    spec = DatasetSpec.model_validate_json(spec_json)
    x, y = _generate(spec)
    regression = y.dtype.kind == "f"  # an uploaded regression target: 0 classes
    n_classes = 0 if regression else int(y.max()) + 1
    if split_draw is None:
        train, test = _split(len(y), spec.test_fraction, spec.seed)
    elif regression:  # no classes to stratify on: a random split from the draw's stream
        train, test = _split(len(y), spec.test_fraction, split_draw, _DRAW_STREAM)
    else:
        train, test = _stratified_split(y, spec.test_fraction, split_draw)
    x_train, x_test = x[train], x[test]
    if spec.standardize:
        x_train, x_test = _standardize(x_train, x_test)
    labels = np.float64 if regression else np.int64
    return Dataset(
        x_train=_frozen(x_train, np.float64), y_train=_frozen(y[train], labels),
        x_test=_frozen(x_test, np.float64), y_test=_frozen(y[test], labels),
        n_classes=n_classes, n_features=int(x.shape[1]),
    )


def _frozen(array: np.ndarray, dtype: type) -> np.ndarray:
    out = np.ascontiguousarray(array, dtype=dtype)
    out.setflags(write=False)
    return out


def _split(n: int, test_fraction: float, seed: int,
           stream: int = _SPLIT_STREAM) -> tuple[np.ndarray, np.ndarray]:
    """Seeded permutation; a positive fraction keeps at least one test and one train point."""
    order = np.random.default_rng([seed, stream]).permutation(n)
    n_test = 0 if test_fraction == 0 else min(n - 1, max(1, round(n * test_fraction)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _stratified_split(y: np.ndarray, test_fraction: float,
                      draw: int) -> tuple[np.ndarray, np.ndarray]:
    """A data draw of a fixed data set: each class split in the test fraction (rounded, at
    least one point of a class with two or more held out), from the draw's own stream."""
    rng = np.random.default_rng([draw, _DRAW_STREAM])
    test = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_test = 0 if len(members) < 2 else min(len(members) - 1,
                                                max(1, round(len(members) * test_fraction)))
        test.append(members[:n_test])
    held = np.sort(np.concatenate(test)) if test else np.array([], dtype=np.int64)
    return np.setdiff1d(np.arange(len(y)), held), held


def _standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale with the training set's mean and std only; constant features keep scale 1."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    return (x_train - mean) / std, (x_test - mean) / std


# ---------------------------------------------------------------------------------------------
# Generators: (spec) -> (x float64 (n, d), y int64 (n,)).
# ---------------------------------------------------------------------------------------------


def _generate(spec: DatasetSpec) -> tuple[np.ndarray, np.ndarray]:
    if spec.name == "uploaded":  # sent to this process by the dispatcher (sweepd.uploaded)
        return uploaded.arrays(str(spec.id))
    if spec.name in _BUILTIN:
        bunch = _BUILTIN[spec.name]()
        return bunch.data.astype(np.float64), bunch.target.astype(np.int64)
    n = spec.n_samples if spec.n_samples is not None else _DEFAULT_SAMPLES[spec.name]
    noise = spec.noise if spec.noise is not None else _DEFAULT_NOISE[spec.name]
    x, y = _GENERATED[spec.name](spec, n, noise)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.int64)


def _moons(spec: DatasetSpec, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    # sklearn draws from a legacy RandomState, whose stream NumPy keeps stable across versions.
    return skd.make_moons(n_samples=n, noise=noise, random_state=np.random.RandomState(spec.seed))


def _circles(spec: DatasetSpec, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    factor = spec.factor if spec.factor is not None else 0.5
    return skd.make_circles(n_samples=n, noise=noise, factor=factor,
                            random_state=np.random.RandomState(spec.seed))


def _blobs(spec: DatasetSpec, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    return skd.make_blobs(n_samples=n, centers=spec.n_classes or _DEFAULT_CLASSES,
                          cluster_std=noise, random_state=np.random.RandomState(spec.seed))


def _xor(spec: DatasetSpec, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in [-1, 1]²; class 1 where the clean coordinates have opposite signs."""
    rng = np.random.default_rng(spec.seed)
    clean = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (clean[:, 0] * clean[:, 1] < 0).astype(np.int64)
    return clean + noise * rng.standard_normal((n, 2)), y


def _spiral(spec: DatasetSpec, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """The CS231n spiral: one arm per class, angle jittered by `noise`."""
    rng = np.random.default_rng(spec.seed)
    k = spec.n_classes or _DEFAULT_CLASSES
    xs, ys = [], []
    for j, m in enumerate(_class_sizes(n, k)):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(j * 4.0, (j + 1) * 4.0, m) + rng.standard_normal(m) * noise
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(m, j))
    return np.concatenate(xs), np.concatenate(ys)


def _flower(spec: DatasetSpec, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """The planar flower of the classic deep-learning course (`load_planar_dataset`).

    Two classes, petals of maximum ray 4; the original draws θ and r noise with std 0.2 from
    `np.random.seed(1)`, here from the dataset seed.
    """
    rng = np.random.default_rng(spec.seed)
    ray = 4.0
    xs, ys = [], []
    for j, m in enumerate(_class_sizes(n, 2)):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, m) + rng.standard_normal(m) * noise
        r = ray * np.sin(4.0 * t) + rng.standard_normal(m) * noise
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(m, j))
    return np.concatenate(xs), np.concatenate(ys)


def _class_sizes(n: int, k: int) -> list[int]:
    """Split n points over k classes as evenly as possible (the first classes get the rest)."""
    base, extra = divmod(n, k)
    sizes = [base + (1 if j < extra else 0) for j in range(k)]
    if min(sizes) < 1:
        raise InvalidSpec(f"dataset.n_samples: {n} samples cannot cover {k} classes")
    return sizes


_GENERATED: dict[str, Callable[[DatasetSpec, int, float], tuple[np.ndarray, np.ndarray]]] = {
    "moons": _moons, "circles": _circles, "blobs": _blobs, "xor": _xor, "spiral": _spiral,
    "flower": _flower,
}
_BUILTIN = {
    "iris": skd.load_iris, "wine": skd.load_wine, "breast_cancer": skd.load_breast_cancer,
    "digits": skd.load_digits,
}
