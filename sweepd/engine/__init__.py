"""The training engine: K trials of one batch trained together, reproducibly.

    run_batch(trials, device=None, progress=None) -> list[TrialResult]

See `sweepd.engine.batch` for the contract and `layout` for why K-invariance holds.
"""

from __future__ import annotations

from sweepd.engine.environment import ENGINE_ID, ensure_cublas_workspace

# cuBLAS reads its workspace config once, when CUDA initialises: set it before anything can.
ensure_cublas_workspace()

from sweepd.engine.batch import run_batch  # noqa: E402

__all__ = ["ENGINE_ID", "run_batch"]
