"""Joining Ray: the one place that calls `ray.init` for the service process."""

from __future__ import annotations

import logging
import threading

import ray

from sweepd.settings import Settings

_lock = threading.Lock()


def connect(settings: Settings) -> None:
    """Join `settings.ray_address`, or start a local Ray when it is unset (idempotent)."""
    with _lock:
        if not ray.is_initialized():
            ray.init(address=settings.ray_address, include_dashboard=False,
                     logging_level=logging.WARNING, log_to_driver=False,
                     configure_logging=False)
