"""A sweep's trials as one table (Parquet or CSV) and its weights as one stacked file.

    trial_rows      one flat dict per trial: identity and state, the cell's spec fields
                    (`dataset.*`, `model.*`, `training.*`, `initializer.*`), the result's
                    metrics, the tail metrics (`tail.*`) and the cost curve
    to_parquet      the rows as Parquet bytes (the curve as a list column; needs pyarrow)
    to_csv          the rows as CSV text (lists and the curve as JSON strings; no pyarrow)
    stack_weights   every trial's final (or initial) tensors stacked along a first axis, with
                    a `trials` index tensor, as one safetensors file

Each is bounded by `estimate_bytes` against the service's `max_export_bytes` before any work
is done, so one request cannot fill the API's memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np

from sweepd import weights
from sweepd.errors import Conflict, InvalidSpec
from sweepd.records import TrialRecord
from sweepd.spec import SweepSpec

ROW_BYTES = 2_048  # a row's fields without its curve, generously
RESULT_FIELDS = ("status", "train_cost", "train_accuracy", "test_cost", "test_accuracy",
                 "train_r2", "test_r2", "train_cost_tail", "steps", "diverged_step", "wall_seconds", "curve_every",
                 "final_sha256", "initial_sha256")
TAIL_FIELDS = ("steps", "train_cost", "train_accuracy", "test_cost", "test_accuracy",
               "oscillating", "cost_gap", "accuracy_gap", "train_r2", "test_r2")


def estimate_bytes(spec: SweepSpec, n_trials: int) -> int:
    """An upper estimate of a table export's size: every row with its whole curve."""
    return n_trials * (ROW_BYTES + 8 * max(_curve_points(cell) for cell in _cells(spec)))


def check_budget(size: int, cap: int) -> None:
    """Refuse an export estimated at `size` bytes when that is over `cap`, saying both figures
    and the setting that raises the cap.

    Raises:
        InvalidSpec: the estimate is over the cap (a 422).
    """
    if size > cap:
        raise InvalidSpec(f"this export would take about {size / 2**20:.1f} MiB, over the "
                          f"service's cap of {cap / 2**20:.1f} MiB (SWEEPD_MAX_EXPORT_BYTES)")


def trial_rows(spec: SweepSpec, trials: Iterable[TrialRecord]) -> list[dict[str, Any]]:
    """One flat row per trial (see the module docstring for the columns)."""
    cells: dict[str, dict[str, Any]] = {}  # the spec columns depend on the cell's grid point and
    return [_row(spec, t, cells) for t in trials]  # initializer, not its seed: built once each


def _spec_columns(spec: SweepSpec, trial: TrialRecord) -> dict[str, Any]:
    cell = spec.trial_for(trial.seed, trial.initializer, trial.params,
                          order_seed=trial.order_seed, data_seed=trial.data_seed)
    columns: dict[str, Any] = {}
    for section in ("dataset", "model", "training"):
        columns.update(_flat(section, getattr(cell, section).model_dump(mode="json")))
    columns.update(_flat("initializer", cell.initializer.model_dump(mode="json")))
    return columns


def _row(spec: SweepSpec, trial: TrialRecord, cells: dict[str, dict[str, Any]]) -> dict[str, Any]:
    key = json.dumps([trial.initializer, trial.params], sort_keys=True)
    if key not in cells:
        cells[key] = _spec_columns(spec, trial)
    row: dict[str, Any] = {
        "id": trial.id, "sweep_id": trial.sweep_id, "cell_key": trial.cell_key,
        "seed": trial.seed, "initializer": trial.initializer_label, "state": trial.state,
        "attempt": trial.attempt, "node": trial.node, "device": trial.device,
        "started_at": _time(trial.started_at), "finished_at": _time(trial.finished_at),
        "error": trial.error,
    }
    row.update(cells[key])
    # The trial's data-order seed and data draw as trained (issue 16): defaults filled in.
    row["order_seed"] = trial.seed if trial.order_seed is None else trial.order_seed
    row["data_seed"] = (row.get("dataset.seed") if trial.data_seed is None
                        else trial.data_seed)
    row.update({f"param.{k}": v for k, v in trial.params.items()})
    result = trial.result
    row.update({k: getattr(result, k) if result else None for k in RESULT_FIELDS})
    tail = result.tail if result else None
    row.update({f"tail.{k}": getattr(tail, k) if tail else None for k in TAIL_FIELDS})
    row["curve"] = list(result.curve) if result else None
    return row


def to_parquet(rows: list[dict[str, Any]]) -> bytes:
    """The rows as Parquet bytes; lists (the curve, `model.hidden`) stay list columns.

    Raises:
        ImportError: pyarrow is not installed (it comes with `sweepd[server]`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows) if rows else pa.table({})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV; lists and dicts as JSON strings, None as an empty cell."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(v) for k, v in row.items()})
    return out.getvalue()


def stack_weights(blobs: list[tuple[int, bytes]], which: str) -> bytes:
    """Every trial's tensors stacked along a new first axis, as one safetensors file.

    Args:
        blobs: (trial id, safetensors bytes) per trial, in the order to stack.
        which: "final" or "initial", recorded in the file's metadata.

    Returns:
        safetensors bytes with `layers.{i}.kernel` of shape (n, fan_in, fan_out),
        `layers.{i}.bias` of shape (n, fan_out) and `trials` (n,) int64, the trial ids; the
        metadata holds `which` and `sha256`, a JSON list of each trial's file digest.

    Raises:
        Conflict: the trials' tensors differ in names, shapes or dtypes (e.g. a grid over
            `model.hidden`): they cannot be stacked into one array per tensor.
    """
    arrays = [weights.unpack(blob) for _, blob in blobs]
    shapes = {tuple((k, v.shape, v.dtype.str) for k, v in sorted(a.items())) for a in arrays}
    if len(shapes) > 1:
        raise Conflict(f"the trials' weights have {len(shapes)} different layouts (a grid over "
                       "the architecture or the dtype?): they cannot be stacked into one file")
    names = sorted(arrays[0]) if arrays else []
    stacked = {name: np.stack([a[name] for a in arrays]) for name in names}
    stacked["trials"] = np.asarray([tid for tid, _ in blobs], dtype=np.int64)
    from safetensors.numpy import save

    metadata = {"which": which, "sha256": json.dumps([weights.sha256(b) for _, b in blobs])}
    return save(stacked, metadata=metadata)


def _flat(prefix: str, value: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}.{k}": v for k, v in value.items()}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _csv_value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return "" if value is None else value


def _cells(spec: SweepSpec) -> list[Any]:
    """One representative cell per grid point (sizes depend on the grid, not on seeds)."""
    init = spec.initializers[0]
    return [spec.trial_for(0, init, point) for point in spec.grid_points()]


def _curve_points(cell: Any) -> int:
    from sweepd.spec import resolved_steps

    steps = resolved_steps(cell.training, cell.dataset.n_samples or 1)
    return steps // cell.store.curve_every + 2
