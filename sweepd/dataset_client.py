"""The SDK's side of an upload (issue 17): numpy arrays, a pandas DataFrame or a file, as the
bytes and media type `POST /datasets` takes. Light: numpy only, pandas if a DataFrame is given.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from sweepd.errors import InvalidSpec

MEDIA = {".csv": "text/csv", ".parquet": "application/vnd.apache.parquet",
         ".pq": "application/vnd.apache.parquet", ".npz": "application/x-npz"}


def upload_body(x: Any = None, y: Any = None, *, target: str | None = None,
                path: str | Path | None = None) -> tuple[bytes, str, dict[str, str]]:
    """(body, media type, query parameters) of an upload.

    Args:
        x: a 2-D array of features with `y` its labels, or a pandas DataFrame with `target`
            naming its label column.
        path: a CSV, Parquet or .npz file instead (CSV and Parquet need `target`).

    Raises:
        InvalidSpec: neither or both of `x` and `path`; a DataFrame without `target`; an array
            without `y`; a file of another kind.
    """
    params = {"target": target} if target else {}
    if (x is None) == (path is None):
        raise InvalidSpec("upload_dataset takes arrays (x, y), a DataFrame (x, target=) or "
                          "path=, one of them")
    if path is not None:
        file = Path(path)
        media = MEDIA.get(file.suffix.lower())
        if media is None:
            raise InvalidSpec(f"{file.name}: upload a .csv, .parquet or .npz file")
        return file.read_bytes(), media, {**params, "filename": file.name}
    if hasattr(x, "to_csv") and hasattr(x, "columns"):
        if not target:
            raise InvalidSpec("a DataFrame needs target=<its label column>")
        # %.17g writes every float64 so that it reads back bitwise.
        return x.to_csv(index=False, float_format="%.17g").encode(), "text/csv", params
    if y is None:
        raise InvalidSpec("arrays need their labels: upload_dataset(x, y)")
    buffer = io.BytesIO()
    np.savez(buffer, x=np.asarray(x), y=np.asarray(y))
    return buffer.getvalue(), "application/x-npz", {}
