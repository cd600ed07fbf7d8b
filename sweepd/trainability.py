"""Checks from the data's shape: refuse at submission what every trial would fail on later.

The spec alone cannot say how many classes a dataset has, so a sigmoid output on a
multiclass dataset (or bce with softmax) passes spec validation; the service checks it here,
for every grid point, before anything is stored. The
classes come from `sweepd.shapes`, not from generating the data: a submission of 20 grid points
of 10⁶ samples spent 11.8 s of API CPU building data sets only to count their classes.
"""

from __future__ import annotations

from sweepd.errors import InvalidSpec
from sweepd.models_registry import MLP
from sweepd.outputs import resolve_output
from sweepd.shapes import UploadedShapes, dataset_shape
from sweepd.spec import SweepSpec


def check_trainable(spec: SweepSpec, uploaded: UploadedShapes | None = None) -> None:
    """Raise `InvalidSpec` naming the field when some grid point cannot be trained.

    Raises:
        InvalidSpec: an output layer or loss that does not fit the dataset's classes, or too
            few samples for the classes asked for.
    """
    checked: set[tuple[str, str, int]] = set()
    for dataset, model, training in spec.grid_sections():
        case = (model.output, training.loss, dataset_shape(dataset, uploaded).n_classes)
        if case not in checked:
            checked.add(case)
            resolve_output(*case)
        if case[2] == 0 and model.plugin != MLP:
            raise InvalidSpec(f"model.plugin: a regression target trains on the built-in MLP "
                              f"({MLP}); {model.plugin} is a classifier plugin")
