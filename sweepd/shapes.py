"""What a dataset spec implies (features, classes, train and test sizes), without building it.

Checking a submission needs only these numbers, and generating the data to learn them cost
11.8 s of API CPU for 20 grid points of 10⁶ samples (issue 14, item 4). They follow from the
spec by the rules `sweepd.datasets` applies when it does build the data; a test compares the
two for every dataset. Plain Python: no NumPy, no scikit-learn.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from sweepd.errors import InvalidSpec
from sweepd.spec import UPLOADED, DatasetSpec

# An uploaded data set's (samples, features, classes), by sha256: the store knows them, the
# spec does not (`sweepd.submission` looks them up before checking).
UploadedShapes = Mapping[str, tuple[int, int, int]]

DEFAULT_SAMPLES = {"moons": 1000, "circles": 1000, "blobs": 1000, "xor": 1000, "spiral": 300,
                   "flower": 400}
DEFAULT_CLASSES = 3  # blobs and spiral
TWO_CLASS = ("moons", "circles", "xor", "flower")
# scikit-learn's fixed datasets: (samples, features, classes).
BUILTIN_SHAPES = {"iris": (150, 4, 3), "wine": (178, 13, 3), "breast_cancer": (569, 30, 2),
                  "digits": (1797, 64, 10)}


@dataclasses.dataclass(frozen=True)
class DatasetShape:
    n_features: int
    n_classes: int
    n_train: int
    n_test: int


def dataset_shape(spec: DatasetSpec, uploaded: UploadedShapes | None = None) -> DatasetShape:
    """The sizes `sweepd.datasets.load(spec)` gives, computed from the spec alone.

    Args:
        uploaded: the shapes of the uploaded data sets the spec may name, by sha256.

    Raises:
        InvalidSpec: too few samples for the classes asked for (spiral), as loading would; an
            uploaded data set whose shape was not given.
    """
    if spec.name == UPLOADED:
        shape = (uploaded or {}).get(str(spec.id))
        if shape is None:
            raise InvalidSpec(f"dataset.id: uploaded data set {spec.id} not found")
        n, n_features, n_classes = shape
    elif spec.name in BUILTIN_SHAPES:
        n, n_features, n_classes = BUILTIN_SHAPES[spec.name]
    else:
        n = spec.n_samples if spec.n_samples is not None else DEFAULT_SAMPLES[spec.name]
        n_features, n_classes = 2, _generated_classes(spec, n)
    n_test = 0 if spec.test_fraction == 0 else min(n - 1, max(1, round(n * spec.test_fraction)))
    return DatasetShape(n_features, n_classes, n - n_test, n_test)


def _generated_classes(spec: DatasetSpec, n: int) -> int:
    if spec.name in TWO_CLASS:
        return 2
    k = spec.n_classes or DEFAULT_CLASSES
    if spec.name == "spiral" and n < k:
        raise InvalidSpec(f"dataset.n_samples: {n} samples cannot cover {k} classes")
    return min(n, k)  # blobs deals points to centers in turn: fewer points, fewer classes
