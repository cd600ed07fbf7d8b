"""Parsing uploads (issue 17): the canonical form, bitwise round trips, limits read from
metadata before the data, and the shape checks on an uploaded data set."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from sweepd import uploaded
from sweepd.dataset_parse import DatasetLimits, parse_dataset, sniff_format
from sweepd.errors import InvalidSpec
from sweepd.shapes import dataset_shape
from sweepd.spec import DatasetSpec

RNG = np.random.default_rng(0)
X = RNG.standard_normal((50, 3)) * 1e3
Y = np.array(["spam", "ham"] * 25)


def parse(data: bytes, target: str | None = "label", **limits: int):
    return parse_dataset(data, fmt=sniff_format(data), target=target,
                         limits=DatasetLimits(**limits))


def test_encode_dataset_round_trips_and_hashes_content_only():
    blob, sha = uploaded.encode(X, np.arange(50) % 2)
    x, y = uploaded.decode(blob)
    assert np.array_equal(x, X) and y.tolist() == (np.arange(50) % 2).tolist()
    assert uploaded.encode(X.astype(np.float64).copy(order="F"), y)[1] == sha
    assert uploaded.encode(X + 1e-12, y)[1] != sha
    with pytest.raises(ValueError):
        uploaded.decode(blob[:-1])


def test_parse_csv_reads_floats_back_bitwise_and_sorts_text_labels():
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=Y)
    parsed = parse(frame.to_csv(index=False).encode())
    assert np.array_equal(parsed.x, X)  # bitwise: pyarrow's reader rounds correctly
    assert parsed.class_names == ["ham", "spam"] and parsed.y[0] == 1
    assert parsed.feature_names == ["a", "b", "c"] and parsed.class_counts == [25, 25]


def test_parse_parquet_refuses_rows_over_limit_from_its_metadata():
    buffer = io.BytesIO()
    pd.DataFrame({"a": np.zeros(100), "label": [0, 1] * 50}).to_parquet(buffer)
    with pytest.raises(InvalidSpec, match="100 rows, over the limit of 10"):
        parse(buffer.getvalue(), max_rows=10)


def test_parse_npz_refuses_cells_over_limit_from_its_header():
    buffer = io.BytesIO()
    np.savez(buffer, x=np.zeros((100, 5)), y=np.arange(100) % 2)
    with pytest.raises(InvalidSpec, match="100 × 5 values"):
        parse(buffer.getvalue(), target=None, max_cells=400)
    assert parse(buffer.getvalue(), target=None).feature_names == ["x0", "x1", "x2", "x3", "x4"]


def test_sniff_format_refuses_a_declared_format_the_bytes_lack():
    assert sniff_format(b"a,b\n1,2\n") == "csv"
    with pytest.raises(InvalidSpec, match="not npz"):
        sniff_format(b"a,b\n1,2\n", "npz")


def test_dataset_shape_of_uploaded_comes_from_its_record():
    sha = "ab" * 32
    spec = DatasetSpec(name="uploaded", id=sha, test_fraction=0.25)
    shape = dataset_shape(spec, {sha: (569, 30, 2)})
    assert (shape.n_features, shape.n_classes, shape.n_train, shape.n_test) == (30, 2, 427, 142)
    with pytest.raises(InvalidSpec, match="not found"):
        dataset_shape(spec)
