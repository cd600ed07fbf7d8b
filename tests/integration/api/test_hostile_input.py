"""Hostile input (issue 6): each gets its 4xx with a problem body, stores nothing, and the
server keeps answering.

Row counts of every table are compared before and after each request; the messages must name
the field at fault and never echo a huge input back.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.api.api_support import small_spec

SWEEPS = "/api/v1/sweeps"
PROBLEM = "application/problem+json"


def spec_json(**changes) -> bytes:
    return json.dumps(small_spec(**changes)).encode()


def with_training(**training) -> bytes:
    return spec_json(training={"optimizer": "gd", "steps": 10, **training})


def raw_learning_rate(literal: str) -> bytes:
    return spec_json().replace(b'"learning_rate": 0.5', f'"learning_rate": {literal}'.encode())


DEEP = 10_000
HOSTILE_BODIES = {
    # name: (body, expected status, the loc that must be named, or None)
    "invalid_json": (b'{"name": "x", "dataset": {', 422, ["body"]),
    "truncated_json": (spec_json()[:57], 422, ["body"]),
    "not_utf8": (b'{"name": "\xff\xfe"}', 422, ["body"]),
    "empty_body": (b"", 422, ["body"]),
    "array_not_object": (b"[1, 2, 3]", 422, ["body"]),
    "unknown_field": (spec_json(priority="high"), 422, ["body", "priority"]),
    "unknown_nested_field": (with_training(learning_rate=0.1, warp=9), 422,
                             ["body", "training", "warp"]),
    "unknown_initializer": (spec_json(initializers=["glorot_uniformz"]), 422,
                            ["body", "initializers", 0]),
    "initializer_code": (spec_json(initializers=["__import__('os').system('true')"]), 422,
                         ["body", "initializers", 0]),
    "initializer_path": (spec_json(initializers=["../../x"]), 422, ["body", "initializers", 0]),
    "nan_learning_rate": (raw_learning_rate("NaN"), 422, ["body"]),
    "infinite_learning_rate": (raw_learning_rate("Infinity"), 422, ["body"]),
    "minus_infinite_learning_rate": (raw_learning_rate("-Infinity"), 422, ["body"]),
    "overflowing_learning_rate": (raw_learning_rate("1e999"), 422, ["body"]),
    "negative_learning_rate": (with_training(learning_rate=-0.1), 422,
                               ["body", "training", "learning_rate"]),
    "zero_learning_rate": (with_training(learning_rate=0), 422,
                           ["body", "training", "learning_rate"]),
    "seed_over_int64": (spec_json(seeds=[2**63]), 422, ["body", "seeds", "list", 0]),
    "seed_range_over_int64": (spec_json(seeds={"start": 2**63 - 1, "count": 2}), 422,
                              ["body", "seeds", "range"]),
    "negative_seed": (spec_json(seeds=[-1]), 422, ["body", "seeds", "list", 0]),
    "seed_with_5000_digits": (spec_json().replace(b'"start": 0', b'"start": ' + b"9" * 5000),
                              422, ["body"]),
    "empty_seeds": (spec_json(seeds=[]), 422, ["body", "seeds", "list"]),
    "name_with_nul": (spec_json(name="sweep\u0000name"), 422, ["body", "name"]),
    "name_over_255": (spec_json(name="x" * 256), 422, ["body", "name"]),
    "name_lone_surrogate": (spec_json(name="X").replace(b'"X"', rb'"\ud800"'), 422,
                            ["body", "name"]),
    "key_lone_surrogate": (spec_json(X=1).replace(b'"X"', rb'"\udfff"'), 422, ["body"]),
    "over_trial_limit": (spec_json(seeds={"start": 0, "count": 501}), 422, ["body"]),
    "seeds_list_over_limit": (spec_json(seeds=list(range(100_001))), 422,
                              ["body", "seeds", "list"]),
    "grid_over_trial_limit": (spec_json(grid={"training.learning_rate": [
        round(0.001 * (i + 1), 3) for i in range(200)]}), 422, ["body"]),
    "duplicate_key": (b'{"name": "a", "name": "b"}', 422, ["body"]),
    "deep_nesting_top": (b"[" * DEEP + b"]" * DEEP, 422, ["body"]),
    "deep_nesting_field": (b'{"name": ' + b"[" * DEEP + b"]" * DEEP + b"}", 422, ["body"]),
    "deep_objects": (b'{"a":' * DEEP + b"1" + b"}" * DEEP, 422, ["body"]),
}


@pytest.fixture
def assert_harmless(client, counts):
    """Check a response is the stated problem, nothing was stored and the server still answers."""
    before = counts()

    def check(response: httpx.Response, status: int, loc: list | None = None) -> dict:
        assert response.status_code == status, response.text[:500]
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["status"] == status and body["title"] and body["detail"]
        if loc is not None:
            assert loc in [e["loc"] for e in body["errors"]], body["errors"]
        assert counts() == before
        assert client.get("/healthz").status_code == 200
        assert client.get(SWEEPS).status_code == 200
        return body

    return check


@pytest.mark.parametrize("case", sorted(HOSTILE_BODIES))
def test_submit_sweep_hostile_body_rejected_without_storing(client, assert_harmless, case):
    body, status, loc = HOSTILE_BODIES[case]
    response = client.post(SWEEPS, content=body, headers={"Content-Type": "application/json"})
    assert_harmless(response, status, loc)


def test_submit_sweep_error_names_the_field(client, assert_harmless):
    response = client.post(SWEEPS, content=with_training(learning_rate=-1),
                           headers={"Content-Type": "application/json"})
    body = assert_harmless(response, 422, ["body", "training", "learning_rate"])
    assert "training.learning_rate" in body["detail"]
    assert body["errors"][0]["type"] == "greater_than"


def test_submit_sweep_huge_value_not_echoed(client, assert_harmless):
    huge = "A" * 500_000
    response = client.post(SWEEPS, json=small_spec(initializers=[huge]))
    assert_harmless(response, 422, ["body", "initializers", 0])
    assert len(response.content) < 10_000 and "A" * 1000 not in response.text


def test_submit_sweep_many_unknown_fields_reports_a_few(client, assert_harmless):
    spec = small_spec(**{f"extra_{i}": i for i in range(5000)})
    response = client.post(SWEEPS, json=spec)
    body = assert_harmless(response, 422)
    assert len(body["errors"]) == 20 and "more" in body["detail"]


def test_submit_sweep_nan_message_says_why(client, assert_harmless):
    response = client.post(SWEEPS, content=raw_learning_rate("NaN"),
                           headers={"Content-Type": "application/json"})
    body = assert_harmless(response, 422, ["body"])
    assert "NaN" in body["detail"]


def test_submit_sweep_body_over_cap_with_length_is_413(client, assert_harmless):
    body = b'{"name": "' + b"x" * (1 << 20) + b'"}'
    response = client.post(SWEEPS, content=body, headers={"Content-Type": "application/json"})
    assert_harmless(response, 413)


def test_submit_sweep_body_over_cap_chunked_is_413(live_url, alice, assert_harmless):
    def chunks():
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = httpx.post(f"{live_url}{SWEEPS}", content=chunks(), timeout=30,
                          headers={**alice.headers, "Content-Type": "application/json"})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert_harmless(response, 413)


def test_submit_sweep_under_cap_chunked_is_accepted(live_url, alice, counts):
    body = json.dumps(small_spec()).encode()
    response = httpx.post(f"{live_url}{SWEEPS}", content=iter([body[:50], body[50:]]),
                          headers={**alice.headers, "Content-Type": "application/json"})
    assert response.status_code == 201
    assert counts()["sweeps"] == 1


def test_submit_sweep_long_idempotency_key_is_400(client, assert_harmless):
    response = client.post(SWEEPS, json=small_spec(), headers={"Idempotency-Key": "k" * 256})
    assert_harmless(response, 400)


def test_submit_sweep_blank_idempotency_key_is_400(client, assert_harmless):
    response = client.post(SWEEPS, json=small_spec(), headers={"Idempotency-Key": "  "})
    assert_harmless(response, 400)


def test_submit_sweep_idempotency_key_of_255_is_accepted(client):
    response = client.post(SWEEPS, json=small_spec(), headers={"Idempotency-Key": "k" * 255})
    assert response.status_code == 201
    assert response.json()["idempotency_key"] == "k" * 255


def test_submit_sweep_form_body_is_415(client, assert_harmless):
    response = client.post(SWEEPS, content=b"name=x", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert_harmless(response, 415)


@pytest.mark.parametrize("path", [
    "/api/v1/sweeps/0", "/api/v1/sweeps/-1", "/api/v1/sweeps/abc", "/api/v1/sweeps/2147483648",
    "/api/v1/sweeps/1/trials/9223372036854775808", "/api/v1/sweeps?limit=0",
    "/api/v1/sweeps?limit=201", "/api/v1/sweeps?offset=-1",
    "/api/v1/sweeps/1/trials?seed=9223372036854775808",
    "/api/v1/sweeps/1/trials?initializer=" + "x" * 300,
    "/api/v1/sweeps/1/trials/1/weights?which=middle",
])
def test_read_with_invalid_parameter_is_422(client, assert_harmless, path):
    body = assert_harmless(client.get(path), 422)
    assert body["errors"] and body["errors"][0]["loc"][0] in ("path", "query")


def test_get_unknown_route_is_problem_404(client, assert_harmless):
    assert_harmless(client.get("/api/v1/nothing-here"), 404)


def test_delete_sweeps_is_problem_405(client, assert_harmless):
    response = client.delete(SWEEPS)
    assert_harmless(response, 405)
    assert response.headers["allow"]
