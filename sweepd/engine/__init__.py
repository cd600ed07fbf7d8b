"""The training engine: K trials of one batch trained together, reproducibly.

    run_batch(trials, device=None, progress=None) -> list[TrialResult]

See `sweepd.engine.batch` for the contract and `layout` for why K-invariance holds.
"""

from __future__ import annotations

from sweepd.engine.environment import ENGINE_ID, ensure_cublas_workspace

# cuBLAS reads its workspace config once, when CUDA initialises: set it before anything can.
ensure_cublas_workspace()

from sweepd.engine.batch import run_batch as run_fast_batch  # noqa: E402


def run_batch(trials, device=None, progress=None):  # type: ignore[no-untyped-def]
    """The fast engine for the built-in MLP; the generic one (`sweepd.engine.generic`) for any
    other model plugin (issue 18)."""
    from sweepd.models_registry import MLP

    if trials and trials[0].model.plugin != MLP:
        from sweepd.engine.generic import run_batch as run_generic_batch

        return run_generic_batch(trials, device=device, progress=progress)
    return run_fast_batch(trials, device=device, progress=progress)


__all__ = ["ENGINE_ID", "run_batch", "run_fast_batch"]
