"""Pausing and resuming over REST, the SDK and the CLI (issue 15, item 2), on SQLite and
PostgreSQL: owner scope (404), ended sweeps (409 problem details), idempotency, cancelling a
paused sweep, the event stream and `Client.wait` while paused, and what the CLI says.

Trials are claimed and completed by hand (`finish_trials`); the dispatcher-level checks are in
tests/reliability/test_pause.py.
"""

from __future__ import annotations

import threading
import time

import pytest
from typer.testing import CliRunner

from sweepd import cli
from sweepd.client import Client
from tests.integration.api.api_support import BACKENDS, finish_trials, small_spec

pytestmark = pytest.mark.parametrize("db_url", BACKENDS, indirect=True)

SWEEPS = "/api/v1/sweeps"


def _submit(client) -> int:
    response = client.post(SWEEPS, json=small_spec())
    assert response.status_code == 201
    return response.json()["id"]


def test_pause_sweep_shows_paused_and_claims_nothing_until_resumed(client, store):
    sweep_id = _submit(client)
    finish_trials(store, max_trials=2)
    paused = client.post(f"{SWEEPS}/{sweep_id}/pause")
    assert paused.status_code == 200
    assert paused.json()["state"] == "paused" and paused.json()["counts"]["pending"] == 4
    assert finish_trials(store) == []  # a dispatcher's claim gets nothing of it
    shown = client.get(f"{SWEEPS}/{sweep_id}").json()
    assert shown["state"] == "paused" and shown["counts"]["completed"] == 2
    assert [s["state"] for s in client.get(SWEEPS).json()["items"]] == ["paused"]
    resumed = client.post(f"{SWEEPS}/{sweep_id}/resume")
    assert resumed.status_code == 200 and resumed.json()["state"] == "running"
    assert len(finish_trials(store)) == 4
    assert client.get(f"{SWEEPS}/{sweep_id}").json()["state"] == "completed"


def test_pause_and_resume_sweep_again_return_it_unchanged(client):
    sweep_id = _submit(client)
    first = client.post(f"{SWEEPS}/{sweep_id}/pause").json()
    assert client.post(f"{SWEEPS}/{sweep_id}/pause").json() == first
    resumed = client.post(f"{SWEEPS}/{sweep_id}/resume").json()
    assert resumed["state"] == "pending"  # no trial had started
    assert client.post(f"{SWEEPS}/{sweep_id}/resume").json() == resumed


def test_pause_and_resume_sweep_of_another_user_is_404(client, app, bob):
    sweep_id = _submit(client)
    for action in ("pause", "resume"):
        response = client.post(f"{SWEEPS}/{sweep_id}/{action}", headers=bob.headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"{SWEEPS}/{sweep_id}").json()["state"] == "pending"


@pytest.mark.parametrize("end", ["completed", "cancelled"])
def test_pause_and_resume_sweep_ended_is_409_problem(client, store, end):
    sweep_id = _submit(client)
    if end == "completed":
        finish_trials(store)
    else:
        client.post(f"{SWEEPS}/{sweep_id}/cancel")
    for action in ("pause", "resume"):
        response = client.post(f"{SWEEPS}/{sweep_id}/{action}")
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 409 and f"has ended ({end})" in body["detail"]
    assert client.get(f"{SWEEPS}/{sweep_id}").json()["state"] == end


def test_cancel_sweep_paused_is_cancelled(client):
    sweep_id = _submit(client)
    client.post(f"{SWEEPS}/{sweep_id}/pause")
    cancelled = client.post(f"{SWEEPS}/{sweep_id}/cancel").json()
    assert cancelled["state"] == "cancelled" and cancelled["counts"]["cancelled"] == 6


def test_openapi_documents_pause_and_resume(client):
    paths = client.get("/openapi.json").json()["paths"]
    for action in ("pause", "resume"):
        operation = paths[f"/api/v1/sweeps/{{sweep_id}}/{action}"]["post"]
        assert {"200", "404", "409", "422"} <= set(operation["responses"])
        assert action.capitalize() in operation["description"]


def test_event_stream_of_paused_sweep_says_paused_and_ends_only_after_resume(
        live_url, alice, store):
    seen: list[tuple[str, str | None]] = []
    with Client(url=live_url, token=alice.token) as sdk:
        sweep_id = sdk.submit(small_spec()).id
        for event, data in sdk.events(sweep_id, deadline=time.monotonic() + 60):
            seen.append((event, data.get("state")))
            if seen == [("progress", "pending")]:
                sdk.pause_sweep(sweep_id)
            elif (event, data.get("state")) == ("progress", "paused"):
                sdk.resume_sweep(sweep_id)
                finish_trials(store)
            elif event == "end":
                break
    paused = seen.index(("progress", "paused"))
    assert [e for e, _ in seen[:paused]] == ["progress"]  # no end while paused
    assert seen[-1] == ("end", "completed")


def test_wait_on_paused_sweep_shows_paused_and_returns_once_resumed_and_done(
        live_url, alice, store, capsys):
    with Client(url=live_url, token=alice.token) as sdk:
        sweep = sdk.submit(small_spec()).pause()
        assert sweep.state == "paused"

        def resume_later() -> None:
            time.sleep(1.5)
            sdk_resume = Client(url=live_url, token=alice.token)
            sdk_resume.resume_sweep(sweep.id)
            sdk_resume.close()
            finish_trials(store)

        helper = threading.Thread(target=resume_later)
        helper.start()
        done = sweep.wait(timeout=60)
        helper.join()
    assert done.state == "completed"
    assert f"sweep {sweep.id} paused" in capsys.readouterr().err  # the bar said so meanwhile


def test_cli_pause_and_resume_say_what_happened(live_url, alice, store):
    with Client(url=live_url, token=alice.token) as sdk:
        sweep_id = sdk.submit(small_spec()).id
    finish_trials(store, max_trials=2)
    store.claim_trials(holder="cli-test", max_trials=3, max_batch=3, lease_seconds=300)
    login = ["--url", live_url, "--token", alice.token]
    runner = CliRunner()

    def said(command: str) -> str:
        args = [command] if command == "list" else [command, str(sweep_id)]
        result = runner.invoke(cli.app, [*args, *login])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    assert said("pause") == (f"Sweep {sweep_id} is paused: no new trials start; 3 running "
                             f"trials finish. Resume with: sweepd resume {sweep_id}")
    assert said("pause").startswith(f"Sweep {sweep_id} was already paused:")
    assert "paused: no new trials start until `sweepd resume" in said("status")
    assert " paused " in said("list")
    assert said("resume") == (f"Sweep {sweep_id} is resumed (running): its 1 pending trial "
                              "starts as workers free up.")
    assert said("resume") == f"Sweep {sweep_id} was not paused (running): nothing to resume."
