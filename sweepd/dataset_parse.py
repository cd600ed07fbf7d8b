"""Reading an uploaded data set (CSV, Parquet, npz) completely and safely, before anything is
stored (issue 17).

    sniff the format (magic bytes; a declared format must agree)
      ├─ CSV      header counted first (10⁶ columns refused before parsing), then pyarrow's
      │           reader (correctly rounded, so a float written by repr reads back bitwise)
      ├─ Parquet  the footer first: rows, columns, nested or text columns and the uncompressed
      │           size are checked from the metadata before a page is decoded
      └─ npz      the zip's directory first (members x.npy and y.npy only, declared sizes under
                  the limit: a zip bomb is refused unread), then each header (dtype without
                  objects, shape within the limits), then `np.lib.format.read_array` with
                  `allow_pickle=False`
    → features numeric and finite, labels 1-D with ≥ 2 classes of ≥ 2 rows each; or, for a
      regression target (`task`), finite numbers with at least two distinct values

No user string is ever used as a path or evaluated: bytes are read from memory only. Every
refusal is an `InvalidSpec` (422) whose message names the column, the row (1-based, the header
not counted) or the array, and never repeats more than a short, sanitized piece of the input.
Missing or non-finite values are refused, not imputed: a sweep should train on the data the
user has, and silently filled cells would change what the seed question is asked of.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import zipfile
from typing import Any, Literal

import numpy as np

from sweepd.errors import InvalidSpec

__all__ = ["DatasetLimits", "ParsedDataset", "parse_dataset", "sanitize_name", "sniff_format"]

Format = Literal["csv", "parquet", "npz"]
Task = Literal["auto", "classification", "regression"]
TASKS: tuple[Task, ...] = ("auto", "classification", "regression")
FORMATS: tuple[Format, ...] = ("csv", "parquet", "npz")
MAX_NAME = 200  # characters of a column, class or file name kept
MAX_HEADER_BYTES = 1 << 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NPZ_MEMBERS = {"x.npy", "y.npy"}
_NPY_HEADER_MAX = 10_000


@dataclasses.dataclass(frozen=True)
class DatasetLimits:
    """How large an upload may be (`sweepd.settings`: `max_dataset_*`)."""

    max_bytes: int = 64 << 20
    max_rows: int = 1_000_000
    max_columns: int = 1_000
    max_cells: int = 32_000_000
    max_classes: int = 1_000

    @classmethod
    def from_settings(cls, settings: Any) -> DatasetLimits:
        return cls(max_bytes=settings.max_dataset_bytes, max_rows=settings.max_dataset_rows,
                   max_columns=settings.max_dataset_columns,
                   max_cells=settings.max_dataset_cells)


@dataclasses.dataclass(frozen=True)
class ParsedDataset:
    """A validated upload: float64 features, int64 class indices (float64 targets for a
    regression data set: no class names or counts), and their names."""

    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target: str | None
    class_names: list[str]
    class_counts: list[int]
    format: Format

    @property
    def regression(self) -> bool:
        return self.y.dtype.kind == "f"


def sanitize_name(name: str) -> str:
    """A name safe to echo back: control characters dropped, at most 200 characters."""
    return _CONTROL.sub("", name).strip()[:MAX_NAME]


def refuse(message: str, loc: tuple[str | int, ...] = ("body",),
           kind: str = "dataset_invalid") -> InvalidSpec:
    return InvalidSpec(message, errors=[{"loc": list(loc), "msg": message, "type": kind}])


def sniff_format(data: bytes, declared: str | None = None) -> Format:
    """The format of `data` from its first bytes; a declared format must agree.

    Raises:
        InvalidSpec: a declared format the bytes do not have, a bare `.npy` (it has no
            labels) or a pickle.
    """
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        found: Format = "npz"
    elif data.startswith(b"PAR1"):
        found = "parquet"
    elif data.startswith(b"\x93NUMPY"):
        raise refuse("a bare .npy file has no labels: send an .npz with arrays x and y "
                     "(numpy.savez)", kind="dataset_format")
    elif data[:1] == b"\x80":
        raise refuse("pickled data is never loaded: send CSV, Parquet or an .npz",
                     kind="dataset_format")
    else:
        found = "csv"
    if declared is not None and declared != found:
        raise refuse(f"the body is not {declared} (its first bytes say {found})",
                     kind="dataset_format")
    return found


def parse_dataset(data: bytes, *, fmt: Format, target: str | None,
                  limits: DatasetLimits, task: Task = "auto") -> ParsedDataset:
    """Parse and validate an upload completely.

    Args:
        data: the file's bytes (already within `limits.max_bytes`).
        fmt: its format (`sniff_format`).
        target: the label column of a CSV or Parquet table; unused for npz.
        limits: the rows, columns, cells and classes allowed.
        task: "classification" (labels are classes), "regression" (a numeric target, trained
            with mse) or "auto": regression when the target is numeric with a value that is not
            a whole number, else classification.

    Returns:
        The features, labels and names, ready for `sweepd.uploaded.encode`.

    Raises:
        InvalidSpec: naming the column, row or array that is wrong.
    """
    if fmt == "npz":
        x, labels = _read_npz(data, limits)
        names, target = [f"x{i}" for i in range(x.shape[1])], None
    else:
        if not target:
            raise refuse("name the label column with target=<column>", ("query", "target"),
                         "dataset_target")
        table = _read_csv(data, limits) if fmt == "csv" else _read_parquet(data, limits)
        x, labels, names = _split_table(table, target, limits)
    _check_rows(len(labels), limits, x.shape[1])
    _check_finite(x, names)
    if task == "regression" or (task == "auto" and _fractional(labels)):
        return ParsedDataset(x=x, y=_regression_target(labels, target or "y"),
                             feature_names=names, target=target, class_names=[],
                             class_counts=[], format=fmt)
    y, class_names, counts = _classes(labels, target or "y", limits)
    return ParsedDataset(x=x, y=y, feature_names=names, target=target,
                         class_names=class_names, class_counts=counts, format=fmt)


# -- tables --------------------------------------------------------------------------------------


def _read_csv(data: bytes, limits: DatasetLimits) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = _csv_header(data, limits)
    try:
        return pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise refuse(f"the CSV cannot be read: {_short(exc)}", kind="dataset_csv") from None


def _csv_header(data: bytes, limits: DatasetLimits) -> list[str]:
    end = data.find(b"\n", 0, MAX_HEADER_BYTES + 1)
    if end < 0 and len(data) > MAX_HEADER_BYTES:
        raise refuse(f"the CSV header line is longer than {MAX_HEADER_BYTES} bytes",
                     kind="dataset_columns")
    line = data[: end if end >= 0 else len(data)]
    try:
        text = line.decode("utf-8").removeprefix("\ufeff").rstrip("\r")
    except UnicodeDecodeError:
        raise refuse("the CSV is not UTF-8 text (or not a CSV at all)",
                     kind="dataset_csv") from None
    if not text.strip():
        raise refuse("the CSV has no header line: the first line must name the columns",
                     kind="dataset_csv")
    names = next(csv.reader([text]))
    if len(names) > limits.max_columns + 1:
        raise refuse(f"the CSV has {len(names):,} columns, over the limit of "
                     f"{limits.max_columns:,} features and a label", kind="dataset_columns")
    _unique_names(names)
    return names


def _read_parquet(data: bytes, limits: DatasetLimits) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise refuse(f"the Parquet file cannot be read: {_short(exc)}",
                     kind="dataset_parquet") from None
    meta, schema = handle.metadata, handle.schema_arrow
    if len(schema) > limits.max_columns + 1:
        raise refuse(f"the Parquet file has {len(schema):,} columns, over the limit of "
                     f"{limits.max_columns:,} features and a label", kind="dataset_columns")
    _unique_names(schema.names)
    for field in schema:
        if pa.types.is_nested(field.type) or pa.types.is_union(field.type):
            raise refuse(f"column {_q(field.name)} is nested ({field.type}); every column "
                         "must hold plain numbers", ("body", field.name), "dataset_column_type")
    _check_rows(meta.num_rows, limits, len(schema) - 1)
    unpacked = sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups))
    if unpacked > limits.max_bytes:
        raise refuse(f"the Parquet file unpacks to {unpacked:,} bytes, over the limit of "
                     f"{limits.max_bytes:,}", kind="dataset_too_large")
    try:
        return handle.read()
    except (pa.ArrowInvalid, OSError) as exc:
        raise refuse(f"the Parquet file cannot be read: {_short(exc)}",
                     kind="dataset_parquet") from None


def _split_table(table: Any, target: str, limits: DatasetLimits
                 ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    names = list(table.column_names)
    if target not in names:
        raise refuse(f"no column {_q(target)}: the table's columns are "
                     f"{', '.join(_q(n) for n in names[:10])}"
                     f"{', ...' if len(names) > 10 else ''}", ("query", "target"),
                     "dataset_target")
    features = [n for n in names if n != target]
    if not features:
        raise refuse(f"the table has no feature column beside the label {_q(target)}",
                     kind="dataset_columns")
    _check_rows(table.num_rows, limits, len(features))
    x = np.empty((table.num_rows, len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        x[:, j] = _numeric_column(table.column(name), name)
    labels = _label_column(table.column(target), target)
    return x, labels, [sanitize_name(n) for n in features]


def _numeric_column(column: Any, name: str) -> np.ndarray:
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind) or pa.types.is_null(kind)):
        row = (_first_text_row(column)
               if pa.types.is_string(kind) or pa.types.is_large_string(kind) else None)
        where = f" (row {row + 1})" if row is not None else ""
        raise refuse(f"column {_q(name)} is not numeric: it holds {kind}{where}; every "
                     "feature must be a number", ("body", name), "dataset_column_type")
    if column.null_count:
        row = int(np.argmax(column.is_null().to_numpy(zero_copy_only=False)))
        raise refuse(f"column {_q(name)}, row {row + 1}: missing value (empty, NaN or NA); "
                     "sweepd does not impute, fill or drop such rows first",
                     ("body", name, row + 1), "dataset_missing")
    return column.to_numpy().astype(np.float64, copy=False)


def _first_text_row(column: Any) -> int | None:
    for row, value in enumerate(column.to_pylist()):
        if value is None:
            continue
        try:
            float(value)
        except ValueError:
            return row
    return None


def _label_column(column: Any, name: str) -> np.ndarray:
    import pyarrow as pa

    if column.null_count:
        row = int(np.argmax(column.is_null().to_numpy(zero_copy_only=False)))
        raise refuse(f"label column {_q(name)}, row {row + 1}: missing label",
                     ("body", name, row + 1), "dataset_missing")
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_nested(kind) or not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                        or pa.types.is_boolean(kind)
                                        or pa.types.is_string(kind)
                                        or pa.types.is_large_string(kind)):
        raise refuse(f"label column {_q(name)} holds {kind}: labels are integers, booleans "
                     "or text", ("body", name), "dataset_column_type")
    return column.to_numpy(zero_copy_only=False)


# -- npz ----------------------------------------------------------------------------------------


def _read_npz(data: bytes, limits: DatasetLimits) -> tuple[np.ndarray, np.ndarray]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise refuse(f"the .npz is not a readable zip file: {_short(exc)}",
                     kind="dataset_npz") from None
    with archive:
        infos = archive.infolist()
        names = {i.filename for i in infos}
        if names != _NPZ_MEMBERS or len(infos) != 2:
            shown = ", ".join(_q(sanitize_name(n)) for n in sorted(names)[:5])
            raise refuse(f"an .npz must hold exactly the arrays x and y "
                         f"(numpy.savez(f, x=..., y=...)); this one holds {shown}",
                         kind="dataset_npz")
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_bytes:
            raise refuse(f"the .npz unpacks to {declared:,} bytes, over the limit of "
                         f"{limits.max_bytes:,} (refused unread)", kind="dataset_too_large")
        x = _read_member(archive, "x.npy", 2, limits)
        y = _read_member(archive, "y.npy", 1, limits)
    if x.shape[0] != y.shape[0]:
        raise refuse(f"x has {x.shape[0]:,} rows but y has {y.shape[0]:,}", ("body", "y"),
                     "dataset_shape")
    if x.dtype.kind not in "biuf":
        raise refuse(f"array x holds {x.dtype}; features must be numbers", ("body", "x"),
                     "dataset_column_type")
    if y.dtype.kind not in "biufU":
        raise refuse(f"array y holds {y.dtype}; labels are integers, booleans or text",
                     ("body", "y"), "dataset_column_type")
    return np.asarray(x, dtype=np.float64), y


def _read_member(archive: zipfile.ZipFile, member: str, ndim: int,
                 limits: DatasetLimits) -> np.ndarray:
    info = archive.getinfo(member)
    array = member.removesuffix(".npy")
    with archive.open(info) as handle:
        raw = handle.read(info.file_size + 1)
    if len(raw) > info.file_size:
        raise refuse(f"array {array} unpacks to more than its declared size",
                     ("body", array), "dataset_npz")
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(stream, max_header_size=_NPY_HEADER_MAX)
    except ValueError as exc:
        raise refuse(f"array {array} is not a .npy array: {_short(exc)}", ("body", array),
                     "dataset_npz") from None
    if dtype.hasobject:
        raise refuse(f"array {array} holds Python objects (a pickle), which are never loaded",
                     ("body", array), "dataset_pickle")
    if len(shape) != ndim:
        raise refuse(f"array {array} must have {ndim} dimension{'s' if ndim > 1 else ''}, "
                     f"it has shape {shape}", ("body", array), "dataset_shape")
    if ndim == 2:
        _check_rows(shape[0], limits, shape[1])
    stream.seek(0)
    try:
        return np.lib.format.read_array(stream, allow_pickle=False,
                                        max_header_size=_NPY_HEADER_MAX)
    except ValueError as exc:
        raise refuse(f"array {array} cannot be read: {_short(exc)}", ("body", array),
                     "dataset_npz") from None


# -- checks -------------------------------------------------------------------------------------


def _check_rows(n_rows: int, limits: DatasetLimits, n_features: int) -> None:
    if n_rows == 0:
        raise refuse("the data set has no rows", kind="dataset_empty")
    if n_rows > limits.max_rows:
        raise refuse(f"the data set has {n_rows:,} rows, over the limit of "
                     f"{limits.max_rows:,}", kind="dataset_rows")
    if n_features > limits.max_columns:
        raise refuse(f"the data set has {n_features:,} features, over the limit of "
                     f"{limits.max_columns:,}", kind="dataset_columns")
    if n_rows * max(n_features, 1) > limits.max_cells:
        raise refuse(f"the data set has {n_rows:,} × {n_features:,} values, over the limit "
                     f"of {limits.max_cells:,}", kind="dataset_too_large")


def _check_finite(x: np.ndarray, names: list[str]) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise refuse(f"column {_q(names[col])}, row {row + 1}: {x[row, col]} is not a finite "
                     "number; sweepd does not impute, fix or drop such rows first",
                     ("body", names[col], row + 1), "dataset_not_finite")


def _fractional(labels: np.ndarray) -> bool:
    """A float target with a finite value that is not a whole number (a regression target)."""
    if labels.dtype.kind != "f":
        return False
    finite = labels[np.isfinite(labels)]
    return bool(finite.size and (finite != np.round(finite)).any())


def _regression_target(labels: np.ndarray, name: str) -> np.ndarray:
    if labels.dtype.kind not in "iubf":
        held = "text" if labels.dtype.kind in "OUS" else str(labels.dtype)
        raise refuse(f"target {_q(name)} holds {held}: a regression target is a number",
                     ("body", name), "dataset_label")
    y = labels.astype(np.float64)
    bad = ~np.isfinite(y)
    if bad.any():
        row = int(np.argmax(bad))
        raise refuse(f"target {_q(name)}, row {row + 1}: {y[row]} is not a finite number",
                     ("body", name, row + 1), "dataset_not_finite")
    if np.ptp(y) == 0:
        raise refuse(f"target {_q(name)} is constant ({y[0]:g}); a regression needs at least "
                     "two distinct values", ("body", name), "dataset_classes")
    return y


def _classes(labels: np.ndarray, name: str, limits: DatasetLimits
             ) -> tuple[np.ndarray, list[str], list[int]]:
    if labels.dtype.kind == "f":
        bad = ~np.isfinite(labels) | (labels != np.round(labels))
        if bad.any():
            row = int(np.argmax(bad))
            raise refuse(f"label {_q(name)}, row {row + 1}: {labels[row]} is not a class "
                         "label; labels are integers, booleans or text (for a regression "
                         "target, upload with task=regression)", ("body", name, row + 1),
                         "dataset_label")
        labels = labels.astype(np.int64)
    numeric = labels.dtype.kind in "iu"
    hint = " (a numeric target to predict? upload with task=regression)" if numeric else ""
    if labels.dtype.kind == "O":
        labels = labels.astype(str)
    if labels.dtype.kind == "U" and labels.dtype.itemsize > 4 * MAX_NAME:
        raise refuse(f"label {_q(name)}: a label is longer than {MAX_NAME} characters",
                     ("body", name), "dataset_label")
    classes, y, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(classes) < 2:
        raise refuse(f"label {_q(name)} has one class only; a classifier needs at least 2",
                     ("body", name), "dataset_classes")
    if len(classes) > limits.max_classes:
        raise refuse(f"label {_q(name)} has {len(classes):,} classes, over the limit of "
                     f"{limits.max_classes:,}{hint}", ("body", name), "dataset_classes")
    rare = int(np.argmin(counts))
    if counts[rare] < 2:
        row = int(np.argmax(y == rare))
        raise refuse(f"label {_q(name)}: class {_q(str(classes[rare]))} has one row (row "
                     f"{row + 1}); every class needs at least 2{hint}",
                     ("body", name, row + 1), "dataset_classes")
    return (y.astype(np.int64).reshape(-1), [sanitize_name(str(c)) for c in classes.tolist()],
            [int(c) for c in counts])


def _unique_names(names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if not name.strip():
            raise refuse(f"column {i + 1} has no name", kind="dataset_columns")
        if name in seen:
            raise refuse(f"column {_q(name)} appears twice", ("body", name), "dataset_columns")
        seen.add(name)


def _q(name: str) -> str:
    shown = sanitize_name(name)
    return repr(shown if len(shown) <= 60 else shown[:57] + "...")


def _short(exc: BaseException) -> str:
    return sanitize_name(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:160]
