"""sweepd: seed × initializer sweeps of neural networks, stored and compared.

The package root is the light client: it imports without torch, Ray or a database driver.

    >>> import sweepd
    >>> client = sweepd.Client()                     # URL and token from env or the token file
    >>> sweep = client.submit("moons.yaml")
    >>> sweep.wait()
    >>> sweep.compare().to_pandas()
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sweepd.errors import SweepdError
from sweepd.results import TrialResult
from sweepd.spec import SweepSpec, TrialSpec

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Sweep",
    "SweepSpec",
    "SweepdError",
    "Trial",
    "TrialResult",
    "TrialSpec",
    "__version__",
]

_LAZY = {"Client": "sweepd.client", "Sweep": "sweepd.client", "Trial": "sweepd.client"}

if TYPE_CHECKING:
    from sweepd.client import Client, Sweep, Trial


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sweepd' has no attribute {name!r}")
