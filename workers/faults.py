"""Deterministic fault injection for the reliability tests; inert unless a fault dir is set.

Marker files in `settings.fault_dir` arm one fault each (the worker-side markers are handled in
`sweepd_workers.tasks`). Here: `die-on-result-commit` kills the dispatcher's process at the moment
the database is about to commit a batch of results, and is renamed to `fired-…` first, so a
test can assert that the fault really fired and that the transaction left nothing half-written.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event

_armed = threading.local()
DIE_ON_RESULT_COMMIT = "die-on-result-commit"


def install(engine: Any, fault_dir: Path | None) -> None:
    """Hook the engine's commits when a fault dir is configured."""
    if fault_dir is None:
        return

    def before_commit(conn: Any) -> None:
        if getattr(_armed, "on", False):
            marker = fault_dir / DIE_ON_RESULT_COMMIT
            if marker.exists():
                marker.rename(fault_dir / f"fired-{DIE_ON_RESULT_COMMIT}")
                os._exit(137)

    event.listen(engine, "commit", before_commit)


@contextlib.contextmanager
def writing_results() -> Iterator[None]:
    """Mark this thread as committing results (the only commits the fault above may kill)."""
    _armed.on = True
    try:
        yield
    finally:
        _armed.on = False
