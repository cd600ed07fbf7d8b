"""Uploaded data sets: their canonical bytes (what the sha256 is of) and the worker's cache.

An upload, whatever its format (CSV, Parquet, npz, the SDK's arrays), becomes one canonical
form before it is hashed or stored (issue 17):

    b"SWDATA01" | n_rows (uint64 LE) | n_features (uint64 LE)
    | x: float64 little-endian, C order, (n_rows, n_features) | y: int64 little-endian, (n_rows,)

so the same numbers through any format give the same sha256 and are stored once. Labels are
class indices 0..k-1 in the sorted order of the uploaded labels; column and class names are
metadata beside the blob, not in it. A regression target (a float y, trained with mse) has its
own magic, b"SWDATR01", and y as float64 little-endian: the same numbers as classes and as
targets are two different data sets. Workers get the arrays from the dispatcher through Ray's
object store and keep them in `register`'s small per-process cache, where
`sweepd.datasets.load` finds them by sha256.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

__all__ = ["MAGIC", "REGRESSION_MAGIC", "arrays", "decode", "encode", "provide", "register",
           "registered"]

MAGIC = b"SWDATA01"
REGRESSION_MAGIC = b"SWDATR01"
_HEADER = struct.Struct("<8sQQ")
_CACHED = 4  # data sets a worker process keeps; the node's object store keeps the rest

_cache: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_lock = threading.Lock()


def encode(x: np.ndarray, y: np.ndarray) -> tuple[bytes, str]:
    """The canonical bytes of a data set and their sha256 (hex).

    Args:
        x: features, (n_rows, n_features), any real dtype (stored as float64).
        y: class indices, (n_rows,), integers (stored as int64); or, for a regression target,
            floats (stored as float64).
    """
    x64 = np.ascontiguousarray(x, dtype="<f8")
    regression = np.asarray(y).dtype.kind == "f"
    y64 = np.ascontiguousarray(y, dtype="<f8" if regression else "<i8")
    if x64.ndim != 2 or y64.shape != (x64.shape[0],):
        raise ValueError(f"x must be (n, d) and y (n,), got {x64.shape} and {y64.shape}")
    magic = REGRESSION_MAGIC if regression else MAGIC
    blob = b"".join((_HEADER.pack(magic, *x64.shape), x64.tobytes(), y64.tobytes()))
    return blob, hashlib.sha256(blob).hexdigest()


def decode(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The arrays of canonical bytes (read-only views, no copy).

    Raises:
        ValueError: the bytes are not a canonical data set.
    """
    magic, n, d = _HEADER.unpack_from(blob)
    if magic not in (MAGIC, REGRESSION_MAGIC) or len(blob) != _HEADER.size + 8 * n * d + 8 * n:
        raise ValueError("not a canonical sweepd data set")
    x = np.frombuffer(blob, dtype="<f8", count=n * d, offset=_HEADER.size).reshape(n, d)
    y = np.frombuffer(blob, dtype="<i8" if magic == MAGIC else "<f8", count=n,
                      offset=_HEADER.size + 8 * n * d)
    return x, y


def register(sha256: str, x: np.ndarray, y: np.ndarray) -> None:
    """Keep a data set's arrays in this process, for `sweepd.datasets.load`."""
    with _lock:
        _cache[sha256] = (x, y)
        _cache.move_to_end(sha256)
        while len(_cache) > _CACHED:
            _cache.popitem(last=False)


def provide(read_blob: Callable[[str], bytes], sha256: str) -> None:
    """Make an uploaded data set loadable in this process (the API's comparisons and pages,
    a replay), reading its canonical bytes with `read_blob` unless this process has it."""
    if not registered(sha256):
        register(sha256, *decode(read_blob(sha256)))


def registered(sha256: str) -> bool:
    with _lock:
        return sha256 in _cache


def arrays(sha256: str) -> tuple[np.ndarray, np.ndarray]:
    """The arrays of an uploaded data set this process was given.

    Raises:
        LookupError: the data set was never sent to this process (the dispatcher sends it with
            every batch that needs it).
    """
    with _lock:
        if sha256 not in _cache:
            raise LookupError(f"uploaded data set {sha256[:12]} was not sent to this worker")
        _cache.move_to_end(sha256)
        return _cache[sha256]
