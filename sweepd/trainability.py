"""Checks that need the data: refuse at submission what every trial would fail on later.

The spec alone cannot know how many classes a dataset has, so a sigmoid output on a
multiclass dataset (or bce with softmax) passes spec validation; the service checks it here,
once per distinct dataset × model × training of the grid, before anything is stored.
"""

from __future__ import annotations

from sweepd.outputs import resolve_output
from sweepd.spec import SweepSpec


def check_trainable(spec: SweepSpec) -> None:
    """Raise `InvalidSpec` naming the field when some grid point cannot be trained.

    Raises:
        InvalidSpec: an output layer or loss that does not fit the dataset's classes.
    """
    from sweepd.datasets import load

    seen: set[str] = set()
    seed, init = spec.seed_values[0], spec.initializers[0]
    for point in spec.grid_points():
        cell = spec.trial_for(seed, init, point)
        if cell.batch_key in seen:
            continue
        seen.add(cell.batch_key)
        resolve_output(cell.model.output, cell.training.loss, load(cell.dataset).n_classes)
