"""A spec's uploaded data sets: checked to be the submitter's, and named by sha256 (issue 17).

A spec may name an uploaded data set by id or by sha256 (`dataset.id`, also as a grid axis);
before anything else is checked, each reference is looked up among the submitter's data sets
(another user's reads as missing: 404, nothing stored) and rewritten to its sha256, so that the
stored sweep, its trials and the workers name the content itself, and the shape checks get the
data set's rows, features and classes.
"""

from __future__ import annotations

from typing import Any, Protocol

from sweepd.errors import InvalidSpec
from sweepd.records import DatasetRecord
from sweepd.shapes import UploadedShapes
from sweepd.spec import UPLOADED, SweepSpec

GRID_AXIS = "dataset.id"


class DatasetReader(Protocol):
    """What resolving a spec's data sets needs of the store."""

    def get_dataset(self, owner_id: int, ref: int | str) -> DatasetRecord: ...


def resolve_uploaded(store: DatasetReader, owner_id: int,
                     spec: SweepSpec) -> tuple[SweepSpec, UploadedShapes]:
    """The spec with every uploaded data set named by sha256, and their shapes.

    Raises:
        NotFound: a referenced data set that is not the submitter's.
        InvalidSpec: an uploaded data set named by id inside a search space (name it by
            sha256 there).
    """
    refs = _references(spec)
    if not refs:
        return spec, {}
    records = {ref: store.get_dataset(owner_id, ref) for ref in refs}
    data = spec.model_dump(mode="json", exclude_unset=False)
    if data["dataset"].get("id") is not None:
        data["dataset"]["id"] = records[data["dataset"]["id"]].sha256
    if GRID_AXIS in data["grid"]:
        data["grid"][GRID_AXIS] = [records[v].sha256 if v in records else v
                                   for v in data["grid"][GRID_AXIS]]
    resolved = SweepSpec.stored(data) if data != spec.model_dump(mode="json") else spec
    shapes = {r.sha256: (r.n_rows, r.n_features, r.n_classes) for r in records.values()}
    for dataset, _, _ in resolved.grid_sections():
        if dataset.name == UPLOADED and dataset.id not in shapes:
            if isinstance(dataset.id, int):
                raise InvalidSpec("dataset.id: name an uploaded data set by its sha256 in a "
                                  "search space")
            shapes = {**shapes, **_more(store, owner_id, dataset.id)}
    return resolved, shapes


def _references(spec: SweepSpec) -> list[Any]:
    refs: list[Any] = []
    if spec.dataset.id is not None:
        refs.append(spec.dataset.id)
    for value in spec.grid.get(GRID_AXIS, []):
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            refs.append(value)
    return list(dict.fromkeys(refs))


def _more(store: DatasetReader, owner_id: int, sha256: Any) -> UploadedShapes:
    record = store.get_dataset(owner_id, sha256)
    return {record.sha256: (record.n_rows, record.n_features, record.n_classes)}
