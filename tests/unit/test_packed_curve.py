"""Packed cost curves (issue 19, item 4): lossless, float32 where that is exact, and small."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sweepd.storage.packed import pack_curve, unpack_curve


def test_a_float32_curve_packs_to_four_bytes_a_point_and_back_exactly() -> None:
    curve = [float(v) for v in np.linspace(0.7, 0.1, 256, dtype=np.float32)]
    packed = pack_curve(curve)
    assert packed[:2] == b"c4" and len(packed) == 2 + 4 * 256
    assert unpack_curve(packed) == curve
    assert len(json.dumps(curve)) > 4 * len(packed)  # what JSON text spent


def test_a_float64_curve_keeps_every_bit() -> None:
    curve = [0.7, 0.6, 1 / 3]
    packed = pack_curve(curve)
    assert packed[:2] == b"c8" and unpack_curve(packed) == curve


def test_missing_points_come_back_as_none() -> None:
    assert unpack_curve(pack_curve([0.5, None, 0.25])) == [0.5, None, 0.25]
    assert unpack_curve(pack_curve([])) == []


def test_bytes_that_are_not_a_curve_are_refused() -> None:
    with pytest.raises(ValueError):
        unpack_curve(b"c4abc")
    with pytest.raises(ValueError):
        unpack_curve(b"[0.5]")
