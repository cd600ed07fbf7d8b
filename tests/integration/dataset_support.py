"""One real data set (scikit-learn's breast_cancer) written in every upload format."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

TARGET = "diagnosis"


def breast_cancer_frame() -> pd.DataFrame:
    bunch = load_breast_cancer()
    frame = pd.DataFrame(bunch.data, columns=list(bunch.feature_names))
    frame[TARGET] = bunch.target
    return frame


def breast_cancer_arrays() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_breast_cancer()
    return bunch.data.astype(np.float64), bunch.target.astype(np.int64)


def as_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def as_parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def as_npz(x: np.ndarray, y: np.ndarray, **extra: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y, **extra)
    return buffer.getvalue()


def breast_cancer_files() -> dict[str, bytes]:
    """format -> the same data in that format."""
    frame = breast_cancer_frame()
    return {"csv": as_csv(frame), "parquet": as_parquet(frame),
            "npz": as_npz(*breast_cancer_arrays())}
