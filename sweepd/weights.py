"""Weights as safetensors bytes: the one format stored, served and downloaded.

Tensor names follow the network's layers in Keras layout: `layers.{i}.kernel` has shape
(fan_in, fan_out) and `layers.{i}.bias` shape (fan_out,); the last layer is the output layer.
Only NumPy is needed here, so the light client can read downloads.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
from safetensors.numpy import load as _load
from safetensors.numpy import save as _save

_NAME = re.compile(r"^layers\.(\d+)\.(kernel|bias)$")


def pack(arrays: dict[str, np.ndarray]) -> tuple[bytes, str]:
    """Serialise named arrays to safetensors bytes; return them with their sha256."""
    data = _save({k: np.ascontiguousarray(v) for k, v in arrays.items()})
    return data, sha256(data)


def unpack(data: bytes) -> dict[str, np.ndarray]:
    """Load safetensors bytes into a dict of NumPy arrays."""
    return _load(data)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def layers(arrays: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (kernel, bias) pairs in layer order, from a dict in the stored naming scheme."""
    found: dict[int, dict[str, np.ndarray]] = {}
    for name, value in arrays.items():
        match = _NAME.match(name)
        if match is None:
            raise ValueError(f"unexpected tensor name {name!r} in weights")
        found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [(found[i]["kernel"], found[i]["bias"]) for i in sorted(found)]


def from_layers(pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """The inverse of `layers`."""
    out: dict[str, np.ndarray] = {}
    for i, (kernel, bias) in enumerate(pairs):
        out[f"layers.{i}.kernel"] = kernel
        out[f"layers.{i}.bias"] = bias
    return out
