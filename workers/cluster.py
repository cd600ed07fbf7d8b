"""Joining Ray: the one place that calls `ray.init` for the service process.

Without `ray_address` the service starts a local Ray of its own, private to this machine: its
node address is the loopback one, so every Ray server (GCS, raylet, workers, agents) listens on
127.0.0.1 only, and the token file Ray may write for it (`~/.ray/auth_token`, created 0644) is
narrowed to 0600. `ray.init(_node_ip_address="127.0.0.1")` alone is not enough: Ray replaces a
loopback address by the machine's external one unless its "single-machine" switch
(`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`, the default on macOS and Windows) is set. The
processes of that local Ray are recorded in the data directory so that the next start can reap
any that a `kill -9` of the service left behind (`sweepd_workers.local_ray`).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import ray
from ray._private import ray_constants

from sweepd import private
from sweepd.settings import Settings

_lock = threading.Lock()
LOOPBACK = "127.0.0.1"


def connect(settings: Settings) -> None:
    """Join `settings.ray_address`, or start a local Ray when it is unset (idempotent)."""
    with _lock:
        if ray.is_initialized():
            return
        local = settings.ray_address is None
        options = {"_node_ip_address": LOOPBACK, "dashboard_host": LOOPBACK} if local else {}
        if local:
            _single_machine()
        ray.init(address=settings.ray_address, include_dashboard=False,
                 logging_level=logging.WARNING, log_to_driver=False,
                 configure_logging=False, **options)
        if local:
            private.narrow(auth_token_path())


def _single_machine() -> None:
    """Keep a new local Ray on loopback: this process reads the constant, the Ray processes
    it starts read the variable."""
    os.environ[ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False


def connected() -> bool:
    return ray.is_initialized()


def started_local() -> bool:
    """Whether this process started the Ray it is connected to (the embedded default)."""
    node = getattr(ray._private.worker, "_global_node", None)
    return ray.is_initialized() and node is not None and node.head


def shutdown() -> None:
    """Leave Ray; a local Ray this process started stops with it."""
    if ray.is_initialized():
        ray.shutdown()


def auth_token_path() -> Path:
    """Where Ray keeps its auth token (as Ray itself resolves it)."""
    explicit = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(explicit) if explicit else Path.home() / ".ray" / "auth_token"
