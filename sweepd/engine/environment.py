"""Deterministic torch settings for a batch, and the environment fingerprint stored with it.

docs/science.md §5: deterministic algorithms, a fixed thread count on CPU (ATen splits reductions
by thread), and on CUDA a cuBLAS workspace config set before CUDA starts, cudnn benchmark off
and TF32 off. The fingerprint records what a bitwise replay depends on, so that a mismatch can
be explained: torch version, device, dtype, CPU kernel capability, these settings and the code
path (`ENGINE_ID`), which changes whenever the arithmetic of a trial changes.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

ENGINE_ID = "sweepd.batched/1"
CPU_THREADS = 1
CUBLAS_WORKSPACE = ":4096:8"


def ensure_cublas_workspace() -> None:
    """Set CUBLAS_WORKSPACE_CONFIG unless the user has; it only works before CUDA starts."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)


@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Apply the deterministic settings for `device`; restore the previous ones on exit.

    These are process-wide torch settings: run one batch at a time per process.
    """
    saved = _snapshot()
    torch.use_deterministic_algorithms(True)
    if device.type == "cpu":
        torch.set_num_threads(CPU_THREADS)
    else:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        _restore(saved)


def _snapshot() -> dict[str, Any]:
    return {
        "threads": torch.get_num_threads(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "benchmark": torch.backends.cudnn.benchmark,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "matmul_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
    }


def _restore(saved: dict[str, Any]) -> None:
    if torch.get_num_threads() != saved["threads"]:
        torch.set_num_threads(saved["threads"])
    torch.use_deterministic_algorithms(saved["deterministic"], warn_only=saved["warn_only"])
    torch.backends.cudnn.benchmark = saved["benchmark"]
    torch.backends.cudnn.deterministic = saved["cudnn_deterministic"]
    torch.backends.cuda.matmul.allow_tf32 = saved["matmul_tf32"]
    torch.backends.cudnn.allow_tf32 = saved["cudnn_tf32"]


def fingerprint(device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    """What a trial's arithmetic depends on, taken inside `deterministic(device)`.

    Args:
        device: the device the batch trains on.
        dtype: the training dtype.

    Returns:
        A JSON-serialisable dict.
    """
    info: dict[str, Any] = {
        "engine": ENGINE_ID,
        # Plain str: torch's version is a str subclass whose pickle imports torch wherever a
        # result is read (the service, whose heap it tripled: issue 19).
        "torch": str(torch.__version__),
        "numpy": str(np.__version__),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "device": describe_device(device),
        "dtype": str(dtype).removeprefix("torch."),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "num_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    if device.type == "cuda":
        info.update({
            "cuda": torch.version.cuda,
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "tf32": torch.backends.cuda.matmul.allow_tf32,
            "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        })
    return info


def describe_device(device: torch.device) -> str:
    """"cpu", or "cuda:0 (NVIDIA H100 80GB HBM3)"."""
    if device.type != "cuda":
        return device.type
    index = device.index if device.index is not None else torch.cuda.current_device()
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
