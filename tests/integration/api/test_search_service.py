"""Search sweeps through the service (issue 20, item 1): the first points at submission, the
next ones as earlier points end, the same points for the same seed, bad spaces refused."""

from __future__ import annotations

import json

import pytest

from sweepd.search_driver import advance_searches, points_of
from sweepd.spec import SweepSpec
from tests.integration.api.api_support import finish_trials, small_spec

SEARCH = {"sampler": "random", "points": 6, "in_flight": 2, "seed": 3,
          "space": {"training.learning_rate": {"low": 0.05, "high": 2.0, "log": True}}}


def _searched(client, store, name: str, **search) -> tuple[int, list[dict]]:
    created = client.post("/api/v1/sweeps", json=small_spec(name, search={**SEARCH, **search}))
    assert created.status_code == 201, created.text
    sweep_id = created.json()["id"]
    assert created.json()["n_trials"] == 6 * 3 * 2  # points × seeds × initializers
    listed = client.get(f"/api/v1/sweeps/{sweep_id}/trials", params={"limit": 100}).json()
    assert listed["total"] == 2 * 6  # the first in_flight points only
    rounds = 0
    while client.get(f"/api/v1/sweeps/{sweep_id}").json()["state"] != "completed":
        finish_trials(store)
        advance_searches(store)
        rounds += 1
        assert rounds < 20, "the search did not end"
    sweep = store.get_sweep(store.find_user("alice").id, sweep_id)
    spec = SweepSpec.model_validate(sweep.spec)
    return sweep_id, [p for p, _ in points_of(spec, store.search_trials(sweep_id))]


def test_search_samples_every_point_as_earlier_ones_end_and_then_completes(client, store):
    sweep_id, points = _searched(client, store, "search-a")
    assert len(points) == 6 and len({json.dumps(p) for p in points}) == 6
    assert all(0.05 <= p["training.learning_rate"] <= 2.0 for p in points)
    trials = client.get(f"/api/v1/sweeps/{sweep_id}/trials", params={"limit": 100}).json()
    assert trials["total"] == 36 and {t["state"] for t in trials["items"]} == {"completed"}
    assert {json.dumps(t["params"]) for t in trials["items"]} == {json.dumps(p) for p in points}


def test_the_same_seed_samples_the_same_points_and_another_seed_others(client, store):
    _, first = _searched(client, store, "search-b")
    _, again = _searched(client, store, "search-c")
    _, other = _searched(client, store, "search-d", seed=4)
    assert first == again and first != other


def test_advancing_twice_adds_a_point_once(client, store):
    created = client.post("/api/v1/sweeps", json=small_spec("search-e", search=SEARCH)).json()
    finish_trials(store)
    assert advance_searches(store) == 2  # both points ended: two more may be in flight
    assert advance_searches(store) == 0
    total = client.get(f"/api/v1/sweeps/{created['id']}/trials").json()["total"]
    assert total == 4 * 6


@pytest.mark.parametrize("space, said", [
    ({"training.learning_rate": {"low": 2.0, "high": 0.1}}, "must be below high"),
    ({"training.learning_rate": {"low": 0.0, "high": 1.0, "log": True}}, "needs low > 0"),
    ({"training.nonsense": {"low": 0.1, "high": 1.0}}, "unknown field 'training.nonsense'"),
    ({"model.activation": {"low": 0.1, "high": 1.0}}, "'model.activation' cannot be searched"),
    ({"training.steps": {"low": 1.5, "high": 10}}, "takes whole numbers"),
    ({"model.activation": {"choices": ["tanh", "nope"]}}, "search choices 'model.activation'"),
])
def test_a_space_that_cannot_be_searched_is_a_422_naming_the_field(client, counts, space, said):
    before = counts()
    resp = client.post("/api/v1/sweeps", json=small_spec("bad", search={**SEARCH, "space": space}))
    assert resp.status_code == 422, resp.text
    assert said in json.dumps(resp.json())
    assert counts() == before
