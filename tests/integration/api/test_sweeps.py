"""The core REST API over HTTP against the real app, on SQLite and on PostgreSQL.

Submit, list, get, cancel, trials (paging and filters), one trial, weights (safetensors and
JSON), idempotency. Trials are completed by claiming them and recording hand-built results,
as the dispatcher would.
"""

from __future__ import annotations

import hashlib

import pytest
from safetensors.numpy import load as load_safetensors

from sweepd import weights
from tests.integration.api.api_support import BACKENDS, finish_trials, small_spec

pytestmark = pytest.mark.parametrize("db_url", BACKENDS, indirect=True)


def submit(client, spec=None, **headers):
    response = client.post("/api/v1/sweeps", json=spec or small_spec(), headers=headers)
    assert response.status_code in (200, 201), response.text
    return response


def test_submit_sweep_stores_sweep_and_trials(client, store, alice):
    response = submit(client)
    body = response.json()
    assert response.status_code == 201
    assert response.headers["location"] == f"/api/v1/sweeps/{body['id']}"
    assert body["n_trials"] == 6 and body["state"] == "pending"
    assert body["counts"]["pending"] == 6 and body["progress"] == 0.0
    assert body["spec"]["initializers"] == [{"name": "glorot_uniform"}, {"name": "he_normal"}]
    assert store.get_sweep(alice.id, body["id"]).n_trials == 6


def test_list_sweeps_pages_newest_first(client):
    ids = [submit(client, small_spec(f"s{i}", seeds=1)).json()["id"] for i in range(5)]
    first = client.get("/api/v1/sweeps", params={"limit": 2}).json()
    second = client.get("/api/v1/sweeps", params={"limit": 2, "offset": 2}).json()
    last = client.get("/api/v1/sweeps", params={"limit": 2, "offset": 4}).json()
    assert first["total"] == 5 and (first["limit"], first["offset"]) == (2, 0)
    seen = [s["id"] for page in (first, second, last) for s in page["items"]]
    assert seen == sorted(ids, reverse=True)


def test_list_sweeps_default_page_is_fifty(client):
    submit(client)
    page = client.get("/api/v1/sweeps").json()
    assert (page["limit"], page["offset"], page["total"]) == (50, 0, 1)


def test_get_sweep_reports_counts_and_progress(client, store):
    sweep_id = submit(client).json()["id"]
    finish_trials(store, max_trials=2)
    body = client.get(f"/api/v1/sweeps/{sweep_id}").json()
    assert body["state"] == "running"
    assert body["counts"] == {"pending": 4, "running": 0, "completed": 2, "failed": 0,
                              "cancelled": 0}
    assert body["progress"] == pytest.approx(2 / 6)
    assert body["created_at"] and body["updated_at"] and body["finished_at"] is None


def test_get_sweep_completed_when_every_trial_is(client, store):
    sweep_id = submit(client).json()["id"]
    finish_trials(store)
    body = client.get(f"/api/v1/sweeps/{sweep_id}").json()
    assert body["state"] == "completed" and body["progress"] == 1.0
    assert body["finished_at"] is not None


def test_cancel_sweep_cancels_open_trials(client, store):
    sweep_id = submit(client).json()["id"]
    finish_trials(store, max_trials=1)
    response = client.post(f"/api/v1/sweeps/{sweep_id}/cancel")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "cancelled"
    assert body["counts"]["cancelled"] == 5 and body["counts"]["completed"] == 1
    assert client.get(f"/api/v1/sweeps/{sweep_id}").json()["state"] == "cancelled"


def test_list_trials_pages_in_id_order(client):
    sweep_id = submit(client, small_spec(seeds=5)).json()["id"]
    pages = [client.get(f"/api/v1/sweeps/{sweep_id}/trials",
                        params={"limit": 4, "offset": offset}).json() for offset in (0, 4, 8)]
    ids = [t["id"] for page in pages for t in page["items"]]
    assert pages[0]["total"] == 10 and len(ids) == 10 and ids == sorted(ids)
    assert [len(p["items"]) for p in pages] == [4, 4, 2]


def test_list_trials_filters_by_state_initializer_and_seed(client, store):
    sweep_id = submit(client).json()["id"]
    done = set(finish_trials(store, max_trials=2))
    url = f"/api/v1/sweeps/{sweep_id}/trials"
    completed = client.get(url, params={"state": "completed"}).json()
    assert {t["id"] for t in completed["items"]} == done and completed["total"] == 2
    he = client.get(url, params={"initializer": "he_normal"}).json()
    assert he["total"] == 3 and {t["initializer_label"] for t in he["items"]} == {"he_normal"}
    seed = client.get(url, params={"seed": 2, "initializer": "glorot_uniform"}).json()
    assert seed["total"] == 1 and seed["items"][0]["seed"] == 2


def test_list_trials_rejects_unknown_state(client):
    sweep_id = submit(client).json()["id"]
    response = client.get(f"/api/v1/sweeps/{sweep_id}/trials", params={"state": "exploded"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "state"]


def test_get_trial_returns_metrics_curve_and_environment(client, store):
    sweep_id = submit(client).json()["id"]
    trial_id = finish_trials(store, max_trials=1)[0]
    body = client.get(f"/api/v1/sweeps/{sweep_id}/trials/{trial_id}").json()
    assert body["state"] == "completed" and body["attempt"] == 1
    assert (body["node"], body["device"]) == ("node-a", "cpu")
    result = body["result"]
    assert result["test_accuracy"] == pytest.approx(0.85)
    assert result["curve"] == pytest.approx([0.69, 0.45, 0.31]) and result["curve_every"] == 5
    assert result["environment"]["torch"] == "test"


def test_get_trial_pending_has_no_result(client):
    sweep_id = submit(client).json()["id"]
    trial = client.get(f"/api/v1/sweeps/{sweep_id}/trials").json()["items"][0]
    body = client.get(f"/api/v1/sweeps/{sweep_id}/trials/{trial['id']}").json()
    assert body["state"] == "pending" and body["result"] is None


def test_download_weights_matches_stored_sha256(client, store):
    sweep_id = submit(client).json()["id"]
    trial_id = finish_trials(store, max_trials=1)[0]
    stored = client.get(f"/api/v1/sweeps/{sweep_id}/trials/{trial_id}").json()["result"]
    response = client.get(f"/api/v1/sweeps/{sweep_id}/trials/{trial_id}/weights")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert hashlib.sha256(response.content).hexdigest() == stored["final_sha256"]
    assert response.headers["x-content-sha256"] == stored["final_sha256"]
    assert response.headers["etag"] == f'"{stored["final_sha256"]}"'
    assert response.headers["content-disposition"] == (
        f'attachment; filename="sweep-{sweep_id}-trial-{trial_id}-final.safetensors"')
    tensors = load_safetensors(response.content)
    assert tensors["layers.0.kernel"].shape == (2, 4) and tensors["layers.1.bias"].shape == (1,)


def test_download_initial_weights_differs_from_final(client, store):
    sweep_id = submit(client).json()["id"]
    trial_id = finish_trials(store, max_trials=1)[0]
    url = f"/api/v1/sweeps/{sweep_id}/trials/{trial_id}/weights"
    initial = client.get(url, params={"which": "initial"})
    stored = client.get(f"/api/v1/sweeps/{sweep_id}/trials/{trial_id}").json()["result"]
    assert weights.sha256(initial.content) == stored["initial_sha256"]
    assert stored["initial_sha256"] != stored["final_sha256"]


def test_download_weights_not_modified_for_matching_etag(client, store):
    sweep_id = submit(client).json()["id"]
    trial_id = finish_trials(store, max_trials=1)[0]
    url = f"/api/v1/sweeps/{sweep_id}/trials/{trial_id}/weights"
    etag = client.get(url).headers["etag"]
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b""


def test_download_weights_as_json_gives_nested_lists(client, store):
    sweep_id = submit(client).json()["id"]
    trial_id = finish_trials(store, max_trials=1)[0]
    url = f"/api/v1/sweeps/{sweep_id}/trials/{trial_id}/weights"
    raw = load_safetensors(client.get(url).content)
    body = client.get(url, params={"format": "json"}).json()
    assert body["sha256"] == client.get(url).headers["x-content-sha256"]
    assert set(body) == {"sha256", *raw}
    assert body["layers.0.kernel"] == raw["layers.0.kernel"].tolist()


def test_download_weights_of_pending_trial_is_404(client):
    sweep_id = submit(client).json()["id"]
    trial_id = client.get(f"/api/v1/sweeps/{sweep_id}/trials").json()["items"][0]["id"]
    response = client.get(f"/api/v1/sweeps/{sweep_id}/trials/{trial_id}/weights")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_submit_sweep_same_key_and_body_returns_same_sweep(client, counts):
    first = submit(client, small_spec(), **{"Idempotency-Key": "run-1"})
    before = counts()
    # The same spec spelt differently (key order, long form of an initializer) is the same body.
    again = small_spec(initializers=({"name": "glorot_uniform"}, "he_normal"))
    second = submit(client, dict(reversed(list(again.items()))), **{"Idempotency-Key": "run-1"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert counts() == before


def test_submit_sweep_same_key_other_body_conflicts(client, counts):
    submit(client, small_spec(), **{"Idempotency-Key": "run-1"})
    before = counts()
    response = client.post("/api/v1/sweeps", json=small_spec(seeds=4),
                           headers={"Idempotency-Key": "run-1"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in response.json()["detail"]
    assert counts() == before


def test_submit_sweep_without_key_stores_each_time(client, counts):
    submit(client)
    submit(client)
    assert counts()["sweeps"] == 2 and counts()["trials"] == 12


def test_get_sweep_unknown_id_is_404(client):
    for path in ("/api/v1/sweeps/999999", "/api/v1/sweeps/2147483647",
                 "/api/v1/sweeps/999999/trials", "/api/v1/sweeps/999999/trials/1",
                 "/api/v1/sweeps/999999/trials/1/weights", "/api/v1/sweeps/999999/events"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["status"] == 404
    assert client.post("/api/v1/sweeps/999999/cancel").status_code == 404


def test_get_trial_of_other_sweep_is_404(client):
    first = submit(client).json()["id"]
    second = submit(client).json()["id"]
    trial_id = client.get(f"/api/v1/sweeps/{first}/trials").json()["items"][0]["id"]
    assert client.get(f"/api/v1/sweeps/{second}/trials/{trial_id}").status_code == 404


def test_submit_sweep_with_one_key_finds_one_sweep_through_store_api_and_sdk(client, store,
                                                                            alice, live_url,
                                                                            settings):
    from sweepd import Client, SweepSpec, submission
    from sweepd.spec import spec_hash

    raw = small_spec()
    spec = SweepSpec.model_validate(raw)
    shuffled = SweepSpec.model_validate(dict(reversed(list(raw.items()))))
    assert spec_hash(spec) == spec_hash(shuffled)  # one hash, whatever the key order
    record, created = store.submit_sweep(alice.id, spec, idempotency_key="one-hash")
    assert created
    via_api = submit(client, dict(reversed(list(raw.items()))), **{"Idempotency-Key": "one-hash"})
    assert via_api.status_code == 200 and via_api.json()["id"] == record.id
    with Client(url=live_url, token=alice.token) as sdk:
        assert sdk.submit(spec, idempotency_key="one-hash").id == record.id
    again, created = submission.submit_sweep(store, settings, alice.id, spec,
                                             idempotency_key="one-hash")
    assert not created and again.id == record.id
    assert store.list_sweeps(alice.id, limit=10, offset=0)[1] == 1


def test_keyset_pages_return_every_trial_once_while_trials_change_state(client, store):
    sweep = submit(client, small_spec(seeds=25)).json()  # 50 trials
    seen: list[int] = []
    page = client.get(f"/api/v1/sweeps/{sweep['id']}/trials", params={"limit": 7}).json()
    while True:
        seen += [t["id"] for t in page["items"]]
        finish_trials(store, max_trials=5)  # trials move between pages being read
        if page["next_after"] is None:
            break
        page = client.get(f"/api/v1/sweeps/{sweep['id']}/trials",
                          params={"limit": 7, "after": page["next_after"]}).json()
    assert len(seen) == 50 and len(set(seen)) == 50 and seen == sorted(seen)
    both = client.get(f"/api/v1/sweeps/{sweep['id']}/trials", params={"after": 1, "offset": 2})
    assert both.status_code == 422 and "after or offset" in both.text
