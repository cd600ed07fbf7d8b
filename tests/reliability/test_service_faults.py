"""The service process dies: mid-sweep, and in the middle of committing a batch of results."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest
import sqlalchemy as sa

from tests.reliability.helpers import service_spec, wait_until

pytestmark = pytest.mark.ray

LEASE, REAP = 6.0, 1.0


def _db(server) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{server.data_dir / 'sweepd.db'}")


def _trials(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT id, state, attempt FROM trials ORDER BY id")).all()


def test_reclaim_leases_after_service_killed(live_server_factory):
    server = live_server_factory(SWEEPD_LEASE_SECONDS=str(LEASE),
                                 SWEEPD_REAP_INTERVAL_SECONDS=str(REAP)).start()
    sweep = server.client().submit(service_spec(steps=80_000, seeds=2, name="killed"))
    engine = _db(server)
    wait_until(lambda: any(s == "running" for _, s, _ in _trials(engine)), 120, "a running trial")
    running = {i for i, s, _ in _trials(engine) if s == "running"}

    server.kill()
    assert server.proc.returncode == -9  # the fault fired: SIGKILL, no clean shutdown
    server.start()
    ready = time.monotonic()
    wait_until(lambda: all(a >= 2 for i, _, a in _trials(engine) if i in running),
               LEASE + REAP + 30, "the dead service's trials to be claimed again")
    reclaimed_after = time.monotonic() - ready
    print(f"\nstale leases reclaimed {reclaimed_after:.1f} s after the restarted service was "
          f"ready (lease {LEASE} s, reaper every {REAP} s)")

    done = server.client().wait(sweep.id, progress=False, timeout=600)
    assert done.state == "completed"
    with engine.connect() as conn:
        n_results = conn.execute(sa.text("SELECT COUNT(*) FROM results")).scalar_one()
    assert n_results == 4
    engine.dispose()


def test_keep_weights_whole_when_service_dies_while_writing_results(live_server_factory,
                                                                    tmp_path):
    faults = tmp_path / "faults"
    faults.mkdir()
    (faults / "die-on-result-commit").touch()
    server = live_server_factory(SWEEPD_FAULT_DIR=str(faults)).start()
    sweep = server.client().submit(service_spec(steps=300, seeds=2, name="integrity"))

    server.proc.wait(timeout=240)  # it dies when the first results are about to commit
    assert server.proc.returncode == 137
    assert (faults / "fired-die-on-result-commit").exists()
    engine = _db(server)
    with engine.connect() as conn:  # the interrupted transaction left nothing behind
        assert conn.execute(sa.text("SELECT COUNT(*) FROM results")).scalar_one() == 0

    server.start()
    client = server.client()
    assert client.wait(sweep.id, progress=False, timeout=300).state == "completed"
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT r.trial_id, w.data, r.final_sha256 FROM results r LEFT JOIN weight_blobs w"
            " ON w.sha256 = r.final_sha256")).all()
    assert len(rows) == 4
    for trial_id, blob, sha in rows:
        assert blob is not None and hashlib.sha256(blob).hexdigest() == sha
        download = httpx.get(f"{server.url}/api/v1/sweeps/{sweep.id}/trials/{trial_id}/weights",
                             headers={"Authorization": f"Bearer {server.token}"}, timeout=30)
        assert hashlib.sha256(download.content).hexdigest() == sha
    engine.dispose()
