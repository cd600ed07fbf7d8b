"""Decision boundaries of trained networks on 2-D datasets, as class grids for a heat map.

The grid spans the data (training and test points) with a margin, so the boundary is drawn
where the data is and a little beyond; predictions use the analysis forward pass
(`sweepd.analysis.functional.predict`), the same maths as the engine's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sweepd.analysis.functional import predict
from sweepd.datasets import Dataset
from sweepd.errors import BadRequest
from sweepd_api.web.figures import rounded

RESOLUTION = 72  # grid cells per axis (drawn smoothed)
MARGIN = 0.1  # share of the data's range added on each side
MAX_POINTS = 100  # training points drawn over the boundary (an even sample)


def boundary_grid(arrays: dict[str, np.ndarray], activation: str, data: Dataset,
                  resolution: int = RESOLUTION) -> dict[str, Any]:
    """Predicted classes of a network on a regular grid over a 2-D dataset.

    Args:
        arrays: the network's weights in the stored naming scheme.
        activation: the hidden activation.
        data: the dataset the network was trained on.
        resolution: grid cells per axis.

    Returns:
        `x` and `y` (cell centres), `z` (rows of class labels, one row per y; None when the
        weights are not finite), and `finite`.

    Raises:
        BadRequest: the dataset does not have exactly two features.
    """
    check_two_dimensional(data)
    xs, ys = _axes(np.concatenate([data.x_train, data.x_test]), resolution)
    finite = all(bool(np.all(np.isfinite(a))) for a in arrays.values())
    z = None
    if finite:
        mesh_x, mesh_y = np.meshgrid(xs, ys)
        points = np.column_stack([mesh_x.ravel(), mesh_y.ravel()])
        z = predict(arrays, points, activation).reshape(len(ys), len(xs)).tolist()
    return {"x": [rounded(v, 4) for v in xs], "y": [rounded(v, 4) for v in ys], "z": z,
            "finite": finite}


def training_points(data: Dataset, max_points: int = MAX_POINTS) -> dict[str, Any]:
    """The training points (an even subsample beyond `max_points`) with their labels.

    Raises:
        BadRequest: the dataset does not have exactly two features.
    """
    check_two_dimensional(data)
    step = max(1, -(-len(data.y_train) // max_points))
    x, y = data.x_train[::step], data.y_train[::step]
    return {"x": [rounded(v, 4) for v in x[:, 0]], "y": [rounded(v, 4) for v in x[:, 1]],
            "label": y.tolist(), "n_classes": data.n_classes}


def check_two_dimensional(data: Dataset) -> None:
    """Raises BadRequest unless the dataset has exactly two features."""
    if data.n_features != 2:
        raise BadRequest(f"decision boundaries are drawn for 2-D datasets; this one has "
                         f"{data.n_features} features")


def _axes(points: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    low, high = points.min(axis=0), points.max(axis=0)
    pad = np.maximum((high - low) * MARGIN, 1e-6)
    return (np.linspace(low[0] - pad[0], high[0] + pad[0], resolution),
            np.linspace(low[1] - pad[1], high[1] + pad[1], resolution))
