"""Open the service's store and create the first admin token: what `serve`, the dispatcher and
the token commands share. Domain only: no API, no executor.
"""

from __future__ import annotations

import logging

from sweepd import tokenfile
from sweepd.settings import Settings
from sweepd.storage.store import Store

log = logging.getLogger("sweepd.bootstrap")


def open_service_store(settings: Settings) -> Store:
    """Open the store; the embedded SQLite default migrates its own file, others must be at head."""
    from sweepd.storage.schema import open_store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    auto = settings.auto_migrate if settings.auto_migrate is not None else settings.is_embedded_sqlite
    return open_store(settings.resolved_database_url, auto_migrate=auto)


def bootstrap_admin(store: Store, settings: Settings) -> str | None:
    """On an empty database, create the admin user and token, save it and return it (once)."""
    if store.count_users() > 0:
        return None
    user = store.create_user("admin", is_admin=True)
    _, raw = store.create_token(user.id, "default")
    path = tokenfile.save(settings.url, raw, settings.resolved_token_file)
    log.info("created the admin token and saved it to %s", path)
    return raw
