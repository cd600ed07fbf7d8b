"""The routes that store new pending trials tell the dispatcher of this process (its `wake`),
so an idle one claims them at once instead of at its next poll (issue 19)."""

from __future__ import annotations

from tests.integration.api.api_support import open_client, small_spec

SWEEPS = "/api/v1/sweeps"


def test_submitting_adding_seeds_and_resuming_wake_the_dispatcher(make_app, alice):
    woken: list[int] = []
    app = make_app(new_trials=lambda: woken.append(1))
    with open_client(app, alice) as client:
        key = {"Idempotency-Key": "k1"}
        sweep_id = client.post(SWEEPS, json=small_spec(), headers=key).json()["id"]
        assert len(woken) == 1
        assert client.post(SWEEPS, json=small_spec(), headers=key).status_code == 200
        assert len(woken) == 1  # the stored sweep again: nothing new is pending
        assert client.post(f"{SWEEPS}/{sweep_id}/seeds", json={"count": 2}).status_code == 201
        assert len(woken) == 2
        assert client.post(f"{SWEEPS}/{sweep_id}/pause").status_code == 200
        assert len(woken) == 2
        assert client.post(f"{SWEEPS}/{sweep_id}/resume").status_code == 200
        assert len(woken) == 3
        bad = client.post(SWEEPS, json={**small_spec(), "seeds": {"start": 0, "count": 0}})
        assert bad.status_code == 422 and len(woken) == 3


def test_without_a_dispatcher_in_the_process_the_routes_work_as_before(client):
    assert client.post(SWEEPS, json=small_spec()).status_code == 201
