"""Fixtures for the reliability tier: a real store, the session's Ray, a dispatcher in-process."""

from __future__ import annotations

import pytest

from sweepd.settings import load_settings
from tests.integration.conftest import pg_admin_url, pg_database_factory  # noqa: F401  (fixtures)


@pytest.fixture
def store(tmp_path):
    from sweepd.storage import open_store

    s = open_store(f"sqlite:///{tmp_path / 'sweepd.db'}", auto_migrate=True)
    yield s
    s.dispose()


@pytest.fixture
def owner(store) -> int:
    return store.create_user("alice").id


@pytest.fixture
def fault_dir(tmp_path):
    path = tmp_path / "faults"
    path.mkdir()
    return path


@pytest.fixture
def dispatcher_factory(store, ray_connected, fault_dir):
    from sweepd_workers.dispatcher import Dispatcher

    made: list[Dispatcher] = []

    def make(**overrides) -> Dispatcher:
        options = {"lease_seconds": 4.0, "reap_interval_seconds": 0.5, "poll_seconds": 0.05,
                   **overrides}
        settings = load_settings(ray_address=ray_connected, fault_dir=fault_dir, **options)
        d = Dispatcher(store, settings)
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()
