"""Adding seeds to a sweep over HTTP, on SQLite and PostgreSQL: the same cells as a sweep that
asked for them at once, idempotent, owner-scoped, bounded, and nothing stored when refused."""

from __future__ import annotations

import pytest

from sweepd.spec import SweepSpec
from tests.integration.api.api_support import BACKENDS, finish_trials, small_spec

pytestmark = pytest.mark.parametrize("db_url", BACKENDS, indirect=True)


def submit(client, spec):
    response = client.post("/api/v1/sweeps", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def add(client, sweep_id, body, **headers):
    return client.post(f"/api/v1/sweeps/{sweep_id}/seeds", json=body, headers=headers)


def cells(client, sweep_id):
    items = client.get(f"/api/v1/sweeps/{sweep_id}/trials", params={"limit": 200}).json()["items"]
    return {(t["seed"], t["initializer_label"]): t["cell_key"] for t in items}


def test_grown_sweep_has_the_cells_of_one_that_asked_at_once(client):
    small = submit(client, small_spec("grown", seeds=4))
    response = add(client, small["id"], {"count": 4})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["growth"]["seeds"] == [4, 5, 6, 7] and body["growth"]["n_trials"] == 8
    assert body["sweep"]["n_trials"] == 16 and body["sweep"]["counts"]["pending"] == 16
    assert body["sweep"]["spec"]["seeds"] == {"start": 0, "count": 8}  # still a range
    whole = submit(client, small_spec("whole", seeds=8))
    assert cells(client, small["id"]) == cells(client, whole["id"])
    # The stored spec of the grown sweep expands to exactly its trials.
    spec = SweepSpec.stored(body["sweep"]["spec"])
    assert {t.cell_key for t in spec.trials()} == set(cells(client, small["id"]).values())


def test_a_finished_sweep_runs_again_and_finishes_again(client, store):
    sweep = submit(client, small_spec(seeds=2))
    finish_trials(store)
    assert client.get(f"/api/v1/sweeps/{sweep['id']}").json()["state"] == "completed"
    grown = add(client, sweep["id"], {"seeds": [10, 11]}).json()["sweep"]
    assert grown["state"] == "running" and grown["finished_at"] is None
    assert grown["counts"]["completed"] == 4 and grown["counts"]["pending"] == 4
    assert grown["spec"]["seeds"] == [0, 1, 10, 11]
    finish_trials(store)
    again = client.get(f"/api/v1/sweeps/{sweep['id']}").json()
    assert again["state"] == "completed" and again["counts"]["completed"] == 8


def test_same_idempotency_key_adds_once(client, counts):
    sweep = submit(client, small_spec(seeds=2))
    first = add(client, sweep["id"], {"count": 3}, **{"Idempotency-Key": "grow-1"})
    assert first.status_code == 201
    before = counts()
    again = add(client, sweep["id"], {"count": 3}, **{"Idempotency-Key": "grow-1"})
    assert again.status_code == 200
    assert again.json()["growth"]["id"] == first.json()["growth"]["id"]
    assert again.json()["sweep"]["n_trials"] == 10 and counts() == before
    other = add(client, sweep["id"], {"count": 4}, **{"Idempotency-Key": "grow-1"})
    assert other.status_code == 409 and "different request body" in other.json()["detail"]
    assert counts() == before
    history = client.get(f"/api/v1/sweeps/{sweep['id']}/growths").json()["items"]
    assert [g["idempotency_key"] for g in history] == ["grow-1"]


def test_some_initializers_only(client):
    sweep = submit(client, small_spec(seeds=2, initializers=["glorot_uniform", "zeros"]))
    body = add(client, sweep["id"], {"count": 2, "initializers": ["glorot_uniform"]}).json()
    assert body["growth"]["initializers"] == ["glorot_uniform"]
    assert body["sweep"]["n_trials"] == 6
    assert sorted(k for k in cells(client, sweep["id"]) if k[1] == "zeros") == [
        (0, "zeros"), (1, "zeros")]


def test_another_users_sweep_is_not_found(client, store, app, alice, bob):
    from tests.integration.api.api_support import open_client

    sweep = submit(client, small_spec(seeds=2))
    with open_client(app, bob) as as_bob:
        response = add(as_bob, sweep["id"], {"count": 2})
        assert response.status_code == 404
        assert as_bob.get(f"/api/v1/sweeps/{sweep['id']}/growths").status_code == 404
    assert store.get_sweep(alice.id, sweep["id"]).n_trials == 4


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"count": 600}, 422, "over the limit of 1000 trials per sweep"),  # 4 + 1200 > 1000
    ({"seeds": [1, 5]}, 422, "seed 1 is in the sweep already"),
    ({"count": 2, "initializers": ["orthogonal"]}, 422, "not in this sweep"),
    ({"count": 2, "seeds": [9]}, 422, "either count or seeds"),
    ({}, 422, "either count or seeds"),
    ({"count": 0}, 422, "count"),
    ({"seeds": [3, 3]}, 422, "unique"),
])
def test_refusals_store_nothing(client, counts, body, status, words):
    sweep = submit(client, small_spec(seeds=2))
    before = counts()
    response = add(client, sweep["id"], body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.text
    assert counts() == before


def test_quota_on_trials_in_flight_applies_to_the_growth(make_app, alice, counts):
    from tests.integration.api.api_support import open_client

    app = make_app({"max_trials_in_flight_per_user": 10})
    with open_client(app, alice) as client:
        sweep = submit(client, small_spec(seeds=2))  # 4 in flight
        before = counts()
        response = add(client, sweep["id"], {"count": 4})  # + 8 > 10
        assert response.status_code == 429 and "in flight" in response.json()["detail"]
        assert counts() == before
        assert add(client, sweep["id"], {"count": 3}).status_code == 201  # + 6 = 10


def test_cancelled_and_search_sweeps_cannot_grow(client, counts):
    sweep = submit(client, small_spec(seeds=2))
    client.post(f"/api/v1/sweeps/{sweep['id']}/cancel")
    before = counts()
    response = add(client, sweep["id"], {"count": 2})
    assert response.status_code == 409 and "cancelled" in response.json()["detail"]
    search = submit(client, small_spec("search", seeds=1, search={
        "points": 3, "space": {"training.learning_rate": {"low": 0.1, "high": 1.0}}}))
    before = counts()
    response = add(client, search["id"], {"count": 2})
    assert response.status_code == 409 and "search" in response.json()["detail"]
    assert counts() == before


def test_sdk_and_cli_add_seeds_and_show_the_history(live_url, alice, store):
    from typer.testing import CliRunner

    from sweepd import cli
    from sweepd.adaptive_driver import advance_adaptive
    from sweepd.client import Client

    with Client(url=live_url, token=alice.token) as sdk:
        sweep = sdk.submit(small_spec("sdk", seeds=2))
        assert sweep.add_seeds(2).n_trials == 8 and sweep.state == "pending"
        assert [g.seeds for g in sweep.growths] == [[2, 3]]
        adaptive = sdk.submit(small_spec("adaptive", seeds={"adaptive": {
            "initial": 4, "step": 4, "max": 4}}))
    finish_trials(store)
    advance_adaptive(store)  # four seeds, cap four: it stops at max_seeds
    login = ["--url", live_url, "--token", alice.token]
    runner = CliRunner()

    def said(*args: str) -> str:
        result = runner.invoke(cli.app, [*args, *login])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    assert said("seeds", "add", str(sweep.id), "3", "--initializers", "he_normal") == (
        f"Sweep {sweep.id} grew by 3 trials (3 more seeds for he_normal): 11 trials, running. "
        f"Follow it with: sweepd wait {sweep.id}")
    history = said("seeds", "history", str(sweep.id))
    assert history.startswith(f"Sweep {sweep.id} grew 2 times to 11 trials.")
    assert "request" in history and "4–6" in history
    stopped = said("seeds", "history", str(adaptive.id))
    assert stopped.startswith(f"Sweep {adaptive.id} stopped adding seeds: the cap on seeds "
                              "came first")
    assert "max_seeds" in said("status", str(adaptive.id))
    with Client(url=live_url, token=alice.token) as sdk:
        assert "stopped: max_seeds" in repr(sdk.get(adaptive.id))
