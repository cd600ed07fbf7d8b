"""Response schemas of the data set routes (`/api/v1/datasets`, issue 17).

Strict pydantic only, like `sweepd.schemas`, so the SDK parses them too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sweepd.schemas import _Page, _Public


class DatasetPublic(_Public):
    """An uploaded data set: its content hash, shape, classes and column names."""

    id: int
    """The data set's id; a spec names it as `dataset: {name: uploaded, id: <id or sha256>}`."""
    sha256: str
    """sha256 of the canonical form (float64 features, int64 class indices or float64 targets):
    the same data in any format has the same hash."""
    name: str
    """The uploaded file's name (sanitized), or the name given with `name=`."""
    format: str
    """The format it was uploaded in: csv, parquet or npz."""
    target: str | None
    """The label column of a table; null for npz (its array `y`)."""
    n_rows: int
    """Rows (examples), train and test together."""
    n_features: int
    """Feature columns."""
    n_classes: int
    """Classes of the label; 0 for a regression target."""
    task: Literal["classification", "regression"]
    """classification (class labels) or regression (a numeric target, swept with mse)."""
    feature_names: list[str]
    """The feature columns' names, in order (npz: x0, x1, ...)."""
    class_names: list[str]
    """The labels, in the order of their class indices (sorted)."""
    class_counts: list[int]
    """Rows per class, in the order of `class_names`."""
    size_bytes: int
    """Bytes of the stored canonical form."""
    created_at: datetime
    """When the owner first uploaded it (UTC)."""


class DatasetUploaded(DatasetPublic):
    """The data set an upload stored, or found already stored."""

    created: bool
    """False when the caller had uploaded the same data before (nothing new was stored)."""


class DatasetsPublic(_Page):
    """One page of the caller's data sets, newest first, with the total count."""

    items: list[DatasetPublic]
    """This page's data sets, newest first."""
