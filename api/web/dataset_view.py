"""The sweep page's data card (issue 17): which data set the sweep trains on, its shape, and
for a data set with two features a scatter of its points coloured by class.

Built-in and uploaded data sets are shown alike. An uploaded one is read from the store by its
sha256 and handed to this process (`sweepd.uploaded.register`), as the dispatcher hands it to
the workers, so that `sweepd.datasets.load` builds the same split the trials train on. The
scatter is an inline SVG made here: at most `MAX_SCATTER_POINTS` points, an even sample drawn
with a fixed seed (the same points on every load), in the coordinates the network sees
(standardized when the spec says so).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sweepd import uploaded
from sweepd.datasets import Dataset
from sweepd.errors import NotFound
from sweepd.spec import BUILTIN_DATASETS, UPLOADED, DatasetSpec, SweepSpec
from sweepd.storage.store import Store

MAX_SCATTER_POINTS = 2_000  # points drawn in the scatter (an even sample of larger sets)
CLASS_COLORS = ("#2166ac", "#d6604d", "#1b7837", "#8073ac", "#e08214", "#35978f", "#c51b7d",
                "#4d4d4d", "#b8860b", "#5aae61")  # as plots.js draws classes
WIDTH, HEIGHT, PAD = 420, 320, 44  # the scatter's view box and its margin for the axes
MAX_CLASSES_LISTED = 12


def provide(store: Store, dataset: DatasetSpec) -> None:
    """Make an uploaded data set loadable in this process (a no-op for a built-in one).

    Raises:
        NotFound: the data set was deleted since the sweep was stored.
    """
    if dataset.name == UPLOADED:
        uploaded.provide(store.dataset_blob, str(dataset.id))


def dataset_card(store: Store, owner_id: int, spec: SweepSpec, dataset: DatasetSpec,
                 data: Dataset | None) -> dict[str, Any]:
    """What the data card shows of the sweep's data set (its first grid point's).

    Args:
        dataset: the first grid point's dataset section.
        data: that data set as loaded (None when it could not be).

    Returns:
        `name`, `kind` (generated, scikit-learn or uploaded), `detail` (a line: the sha256 or
        the generator's options), `shape` ("569 rows × 30 features · 2 classes"), `split`,
        `classes` ([(name, count)]), `varies` (the grid axes that change the data set) and
        `scatter` (None unless there are two features: `points`, `shown`, `total`, axes).
    """
    record = _record(store, owner_id, dataset)
    names = record.class_names if record else None
    card: dict[str, Any] = {
        "name": record.name if record else _builtin_name(dataset),
        "kind": ("uploaded" if dataset.name == UPLOADED else
                 "scikit-learn" if dataset.name in BUILTIN_DATASETS else "generated"),
        "detail": _detail(dataset, record),
        "varies": sorted(a for a in spec.grid if a.startswith("dataset.")),
        "shape": None, "split": None, "classes": [], "scatter": None,
    }
    if data is None:
        return card
    y = np.concatenate([data.y_train, data.y_test])
    regression = data.n_classes == 0  # a numeric target (issue 17): no classes to count
    what = "a regression target" if regression else f"{data.n_classes} classes"
    card["shape"] = (f"{len(y):,} rows × {data.n_features:,} "
                     f"feature{'s' if data.n_features != 1 else ''} · {what}")
    card["split"] = (f"{len(data.y_train):,} train / {len(data.y_test):,} test"
                     + (", standardized" if dataset.standardize else ""))
    if not regression:
        counts = np.bincount(y, minlength=data.n_classes)
        labels = names if names and len(names) == data.n_classes else [
            str(c) for c in range(data.n_classes)]
        card["classes"] = list(zip(labels, counts.tolist()))[:MAX_CLASSES_LISTED]
    if data.n_features == 2:
        axes = record.feature_names if record and len(record.feature_names) == 2 else [
            "x0", "x1"]
        colours = _quintiles(y) if regression else y
        card["scatter"] = scatter(np.concatenate([data.x_train, data.x_test]), colours, axes)
        card["scatter"]["coloured_by"] = ("the target's quintile" if regression else "class")
    return card


def _quintiles(y: np.ndarray) -> np.ndarray:
    """Each value's quintile, 0–4: a regression target's colour in the scatter."""
    return np.searchsorted(np.quantile(y, [0.2, 0.4, 0.6, 0.8]), y, side="right")


def scatter(x: np.ndarray, y: np.ndarray, axes: list[str],
            limit: int = MAX_SCATTER_POINTS) -> dict[str, Any]:
    """An even sample of at most `limit` 2-D points, placed in the SVG's view box.

    Returns:
        `points` ([x, y, class] in view-box pixels, y pointing down), `shown`, `total`, the
        `width`, `height` and `pad` of the box, the axes' `names` and `ranges` (data units).
    """
    total = len(y)
    if total > limit:
        keep = np.sort(np.random.default_rng(0).choice(total, size=limit, replace=False))
        x, y = x[keep], y[keep]
    low, high = x.min(axis=0), x.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    inner = np.array([WIDTH - 2 * PAD, HEIGHT - 2 * PAD], dtype=np.float64)
    unit = (x - low) / span
    px = PAD + unit[:, 0] * inner[0]
    py = HEIGHT - PAD - unit[:, 1] * inner[1]
    points = [[round(float(a), 1), round(float(b), 1), int(c) % len(CLASS_COLORS)]
              for a, b, c in zip(px, py, y)]
    return {"points": points, "shown": len(points), "total": total, "width": WIDTH,
            "height": HEIGHT, "pad": PAD, "names": axes,
            "ranges": [[_tick(low[i]), _tick(high[i])] for i in range(2)],
            "colors": CLASS_COLORS}


def _record(store: Store, owner_id: int, dataset: DatasetSpec) -> Any:
    if dataset.name != UPLOADED:
        return None
    try:
        return store.get_dataset(owner_id, str(dataset.id))
    except NotFound:  # deleted after the sweep finished: the card says so
        return None


def _builtin_name(dataset: DatasetSpec) -> str:
    if dataset.name == UPLOADED:
        return f"uploaded data set {str(dataset.id)[:12]} (deleted)"
    return dataset.name


def _detail(dataset: DatasetSpec, record: Any) -> str:
    if dataset.name == UPLOADED:
        fmt = f"{record.format}, " if record else ""
        return f"{fmt}sha256 {str(dataset.id)[:12]}…"
    options = [f"{k} {v}" for k, v in (("samples", dataset.n_samples), ("noise", dataset.noise),
                                       ("classes", dataset.n_classes),
                                       ("factor", dataset.factor)) if v is not None]
    return ", ".join([*options, f"seed {dataset.seed}"])


def _tick(value: float) -> str:
    return f"{value:.3g}"
