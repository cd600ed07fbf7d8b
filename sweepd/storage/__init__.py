"""Storage: the SQL store (SQLAlchemy 2.x) and its Alembic migrations.

    from sweepd.storage import open_store
    store = open_store("sqlite:///sweepd.db", auto_migrate=True)

The records the store returns live in `sweepd.records` and import no SQLAlchemy; the
rest is imported lazily, so that reading records never needs the server's dependencies.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["Store", "create_engine", "head_revision", "migrate", "open_store", "verify_schema"]

_LAZY = {
    "Store": "sweepd.storage.store",
    "create_engine": "sweepd.storage.database",
    "head_revision": "sweepd.storage.schema",
    "migrate": "sweepd.storage.schema",
    "open_store": "sweepd.storage.schema",
    "verify_schema": "sweepd.storage.schema",
}

if TYPE_CHECKING:
    from sweepd.storage.database import create_engine
    from sweepd.storage.schema import head_revision, migrate, open_store, verify_schema
    from sweepd.storage.store import Store


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sweepd.storage' has no attribute {name!r}")
