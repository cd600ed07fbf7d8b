"""Uploading a data set: the one use case behind `POST /datasets` (issue 17).

Parse and validate completely (`sweepd.dataset_parse`), encode canonically and hash
(`sweepd.uploaded`), then one write: nothing is stored for a refused upload, and the same data
uploaded again by the same owner is the same data set.
"""

from __future__ import annotations

from typing import Protocol

from sweepd.dataset_parse import (
    TASKS,
    DatasetLimits,
    Task,
    parse_dataset,
    refuse,
    sanitize_name,
    sniff_format,
)
from sweepd.records import DatasetRecord
from sweepd.settings import Settings
from sweepd.uploaded import encode

FORMAT_OF_SUFFIX = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npz": "npz"}


class DatasetWriter(Protocol):
    """What uploading needs of the store."""

    def add_dataset(self, owner_id: int, blob: bytes, sha256: str, *, name: str, format: str,
                    target: str | None, shape: tuple[int, int, int],
                    feature_names: list[str], class_names: list[str],
                    class_counts: list[int]) -> tuple[DatasetRecord, bool]: ...


def check_filename(filename: str | None) -> str | None:
    """A client's file name, to be echoed back only (never used as a path).

    Raises:
        InvalidSpec: a name with a NUL or other control character, a path separator or `..`:
            no honest client sends one, so it is refused rather than silently rewritten.
    """
    if filename is None:
        return None
    if (len(filename) > 255 or any(c in filename for c in "/\\") or ".." in filename
            or sanitize_name(filename) != filename or not filename.strip()):
        raise refuse("filename: a file name without path separators, '..' or control "
                     "characters, at most 255 characters", ("query", "filename"),
                     "dataset_filename")
    return filename


def upload_dataset(store: DatasetWriter, settings: Settings, owner_id: int, data: bytes, *,
                   target: str | None = None, fmt: str | None = None,
                   filename: str | None = None, name: str | None = None,
                   task: Task = "auto") -> tuple[DatasetRecord, bool]:
    """Validate an upload completely, then store it once (content-addressed, owner-scoped).

    Args:
        data: the file's bytes (within `settings.max_dataset_bytes`).
        target: the label column of a CSV or Parquet table.
        fmt: csv, parquet or npz; unset: from the file name's suffix, else the bytes.
        filename: the client's file name (echoed back as the default name, checked).
        name: a name for people, instead of the file name.
        task: classification, regression (a numeric target, trained with mse; stored with
            0 classes) or auto (`sweepd.dataset_parse.parse_dataset`).

    Returns:
        The data set, and False if the owner had uploaded the same data before.

    Raises:
        InvalidSpec: naming the column, row or array that is wrong; nothing is stored.
    """
    filename = check_filename(filename)
    if task not in TASKS:  # a multipart form field is any text
        raise refuse(f"task: one of {', '.join(TASKS)}", ("query", "task"), "dataset_task")
    if fmt is None and filename is not None:
        fmt = next((f for s, f in FORMAT_OF_SUFFIX.items() if filename.lower().endswith(s)),
                   None)
    found = sniff_format(data, fmt)
    parsed = parse_dataset(data, fmt=found, target=target,
                           limits=DatasetLimits.from_settings(settings), task=task)
    blob, sha256 = encode(parsed.x, parsed.y)
    shown = sanitize_name(name or filename or f"upload.{found}") or f"upload.{found}"
    return store.add_dataset(
        owner_id, blob, sha256, name=shown, format=found,
        target=sanitize_name(parsed.target) if parsed.target else None,
        shape=(parsed.x.shape[0], parsed.x.shape[1], len(parsed.class_names)),
        feature_names=parsed.feature_names, class_names=parsed.class_names,
        class_counts=parsed.class_counts)
