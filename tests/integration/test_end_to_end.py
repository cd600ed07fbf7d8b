"""End to end: a live `sweepd serve` process on the session's Ray cluster, driven by the SDK."""

from __future__ import annotations

import threading
import time

import pytest
from safetensors.numpy import load as load_safetensors

from sweepd import weights as wts

pytestmark = pytest.mark.ray


def small_spec(steps: int = 300, seeds: int = 3, name: str = "e2e") -> dict:
    return {
        "name": name,
        "dataset": {"name": "moons", "n_samples": 400, "noise": 0.2, "seed": 0},
        "model": {"hidden": [4], "activation": "tanh"},
        "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": steps},
        "seeds": {"start": 0, "count": seeds},
        "initializers": ["glorot_uniform", {"name": "random_normal", "stddev": 0.01}],
        "store": {"curve_every": 50},
    }


def test_run_sweep_end_to_end_with_sdk_and_sse(live_server_factory):
    server = live_server_factory().start()
    client = server.client()
    sweep = client.submit(small_spec())
    assert sweep.n_trials == 6

    events: list[tuple[str, dict]] = []
    reader = threading.Thread(target=lambda: events.extend(client.events(sweep.id)), daemon=True)
    reader.start()
    sweep.wait(progress=False, timeout=240)
    reader.join(timeout=30)

    assert sweep.state == "completed"
    assert sweep.counts["completed"] == 6
    kinds = [e for e, _ in events]
    assert "progress" in kinds and kinds[-1] == "end"
    assert any(e == "trial" for e in kinds)

    trials = sweep.trials()
    assert len(trials) == 6 and all(t.result is not None for t in trials)
    assert {t.result.steps for t in trials} == {300}
    assert all(t.node and t.device == "cpu" for t in trials)
    first = trials[0]
    raw = client.weights_bytes(sweep.id, first.id)
    assert wts.sha256(raw) == first.result.final_sha256
    loaded = load_safetensors(raw)
    assert loaded["layers.0.kernel"].shape == (2, 4)
    frame = sweep.trials_frame()
    assert len(frame) == 6 and frame["test_accuracy"].between(0.5, 1.0).all()


def test_resume_sweep_after_service_killed(live_server_factory, monkeypatch):
    from sweepd import client as sdk

    server = live_server_factory().start()
    client = server.client()
    sweep = client.submit(small_spec(steps=60_000, seeds=3, name="restart"))

    deadline = time.monotonic() + 120
    while client.get(sweep.id).counts["running"] == 0:
        assert time.monotonic() < deadline, "no trial started"
        time.sleep(0.3)
    # A client already waiting when the service dies keeps waiting across the restart.
    backoffs: list[str] = []
    real_back_off = sdk._Reconnect.back_off
    monkeypatch.setattr(sdk._Reconnect, "back_off",
                        lambda self, exc: backoffs.append(type(exc).__name__)
                        or real_back_off(self, exc))
    waited: list = []
    waiter = threading.Thread(target=lambda: waited.append(
        client.wait(sweep.id, progress=False, timeout=400, reconnect_for=180)), daemon=True)
    waiter.start()  # whether it is on the stream or still reading the sweep, the kill cuts it off
    server.kill()  # SIGKILL mid-sweep: the Ray tasks die with their owner
    assert server.proc.returncode == -9

    server.start()
    client = server.client()
    done = client.wait(sweep.id, progress=False, timeout=400)
    assert done.state == "completed"
    waiter.join(timeout=120)
    assert waited and waited[0].state == "completed"
    assert backoffs, "the waiting client never saw the service go away"
    trials = client.trials(sweep.id)
    assert len(trials) == 6
    assert all(t.state == "completed" and t.result is not None for t in trials)
    # every trial was claimed before the kill or after it; those that ran before it ran again
    assert max(t.attempt for t in trials) >= 2
    assert len({t.cell_key for t in trials}) == 6
