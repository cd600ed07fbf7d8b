"""The app around the routes: health, readiness, metrics, OpenAPI, request ids, 500s, lifespan,
per-user limits and the optional replay route."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest
from fastapi.testclient import TestClient

from sweepd_api.logs import JsonFormatter, RequestIdFilter
from tests.integration.api.api_support import finish_trials, open_client, small_spec

SWEEPS = "/api/v1/sweeps"


# -- health ---------------------------------------------------------------------------------------


def test_get_healthz_without_token_answers(anonymous):
    for path in ("/healthz", "/api/v1/healthz"):
        response = anonymous.get(path)
        assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_get_readyz_components_up_is_ready(make_app, alice):
    app = make_app(readiness=lambda: {"dispatcher": "running", "ray": "connected"})
    with open_client(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {
        "database": "ok", "dispatcher": "running", "ray": "connected"}}


@pytest.mark.parametrize("report", [{"dispatcher": "down"}, {"ray": "error"}])
def test_get_readyz_component_down_is_503(make_app, report):
    with open_client(make_app(readiness=lambda: report)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"].items() >= report.items()


def test_get_readyz_check_raising_is_503(make_app):
    def broken() -> dict:
        raise RuntimeError("executor gone")

    with open_client(make_app(readiness=broken)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "components": "error"}


def test_get_readyz_database_down_is_503(make_app, store, monkeypatch):
    def refuse() -> int:
        raise ConnectionError("database unreachable at 10.0.0.7")

    monkeypatch.setattr(store, "count_users", refuse)
    with open_client(make_app()) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "down"}
    assert "10.0.0.7" not in response.text


# -- metrics --------------------------------------------------------------------------------------


def test_get_metrics_loopback_gives_prometheus_text(make_app, store, alice):
    app = make_app(dispatcher_stats=lambda: {"batches_submitted": 3, "batch_seconds_total": 1.5,
                                             "state": "running"})
    app.state.metrics.retries.inc(2)
    with open_client(app, alice) as client:
        client.post(SWEEPS, json=small_spec())
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "sweepd_queue_depth 6.0" in text
    assert "sweepd_trial_retries_total 2.0" in text
    assert 'sweepd_http_requests_total{method="POST",status="201"} 1.0' in text
    assert "sweepd_dispatcher_batches_submitted_total 3.0" in text
    assert "sweepd_dispatcher_batch_seconds_total 1.5" in text


def test_get_metrics_remote_client_is_403(app):
    with TestClient(app, client=("203.0.113.9", 4000)) as client:
        response = client.get("/metrics")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


def test_get_metrics_remote_client_when_public_answers(make_app):
    app = make_app({"metrics_public": True})
    with TestClient(app, client=("203.0.113.9", 4000)) as client:
        assert client.get("/metrics").status_code == 200


def test_create_app_metrics_registry_per_app(make_app):
    first, second = make_app(), make_app()
    first.state.metrics.retries.inc()
    assert first.state.metrics.registry is not second.state.metrics.registry
    assert b"sweepd_trial_retries_total 0.0" in second.state.metrics.render()


# -- OpenAPI --------------------------------------------------------------------------------------


def test_get_openapi_documents_spec_body_and_problems(anonymous):
    doc = anonymous.get("/openapi.json").json()
    post = doc["paths"]["/api/v1/sweeps"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/SweepSpec"}
    assert "SweepSpec" in doc["components"]["schemas"]
    assert set(post["responses"]) >= {"200", "201", "400", "401", "409", "413", "422", "429"}
    assert post["responses"]["422"]["content"] == {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_get_docs_serves_page(anonymous):
    response = anonymous.get("/docs")
    assert response.status_code == 200 and "swagger" in response.text.lower()


# -- request ids, logging, unexpected errors ------------------------------------------------------


def test_request_id_echoed_or_generated_when_missing(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers[
        "x-request-id"] == "abc-123"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    hostile = client.get("/healthz", headers={"X-Request-ID": "a b\tc"}).headers["x-request-id"]
    assert hostile != "a b\tc" and len(hostile) == 32


def test_responses_say_the_service_time_in_server_timing(client, store, monkeypatch):
    assert re.fullmatch(r"app;dur=\d+\.\d", client.get("/healthz").headers["server-timing"])
    real = store.get_sweep
    monkeypatch.setattr(store, "get_sweep", lambda *a, **k: time.sleep(0.05) or real(*a, **k))
    slow = client.get(f"{SWEEPS}/424242")  # a problem response says it too
    assert slow.status_code == 404
    assert float(slow.headers["server-timing"].partition("dur=")[2]) >= 50


def test_problem_body_has_request_id_and_instance(client):
    response = client.get(f"{SWEEPS}/424242", headers={"X-Request-ID": "req-42"})
    assert response.json()["request_id"] == "req-42"
    assert response.json()["instance"] == f"{SWEEPS}/424242"


def test_unexpected_error_gives_500_without_internals(client, store, monkeypatch, caplog):
    def explode(*_args, **_kwargs):
        raise RuntimeError("secret connection string postgres://admin:hunter2@db")

    monkeypatch.setattr(store, "list_sweeps", explode)
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        response = client.get(SWEEPS, headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "req-500"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert "req-500" in response.json()["detail"]
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and logged[0].exc_info[0] is RuntimeError
    assert client.get("/healthz").status_code == 200


def test_log_request_as_json_with_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="api.access"):
        client.get("/healthz", headers={"X-Request-ID": "req-log"})
    record = next(r for r in caplog.records if r.name == "api.access")
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-log" and line["status"] == 200
    assert line["path"] == "/healthz" and line["level"] == "info"


# -- lifespan and replay --------------------------------------------------------------------------


def test_run_lifespan_hooks_in_order(make_app):
    calls: list[str] = []
    hooks = [(lambda: calls.append("start a"), lambda: calls.append("stop a")),
             (lambda: calls.append("start b"), lambda: calls.append("stop b"))]
    with open_client(make_app(lifespan_hooks=hooks)) as client:
        assert calls == ["start a", "start b"]
        client.get("/healthz")
    assert calls == ["start a", "start b", "stop b", "stop a"]


def test_replay_trial_without_replayer_is_absent(client, store):
    sweep_id = client.post(SWEEPS, json=small_spec()).json()["id"]
    trial_id = finish_trials(store, max_trials=1)[0]
    response = client.post(f"{SWEEPS}/{sweep_id}/trials/{trial_id}/replay")
    assert response.status_code in (404, 405)
    assert "replay" not in json.dumps(client.get("/openapi.json").json()["paths"])


def test_replay_trial_calls_replayer_as_owner(make_app, store, alice):
    calls = []
    app = make_app(replay=lambda owner, sweep, trial: calls.append((owner, sweep, trial))
                   or {"matches": True})
    with open_client(app, alice) as client:
        sweep_id = client.post(SWEEPS, json=small_spec()).json()["id"]
        response = client.post(f"{SWEEPS}/{sweep_id}/trials/7/replay")
    assert response.status_code == 200 and response.json() == {"matches": True}
    assert calls == [(alice.id, sweep_id, 7)]


# -- per-user limits ------------------------------------------------------------------------------


@pytest.fixture
def limited(make_app, alice):
    with open_client(make_app({"max_trials_in_flight_per_user": 10}), alice) as client:
        yield client


def test_submit_sweep_over_in_flight_limit_is_429(limited, counts):
    assert limited.post(SWEEPS, json=small_spec(seeds=3)).status_code == 201
    before = counts()
    response = limited.post(SWEEPS, json=small_spec(seeds=3))
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert "6 trials pending or running" in response.json()["detail"]
    assert counts() == before


def test_submit_sweep_allowed_again_once_trials_finish(limited, store):
    limited.post(SWEEPS, json=small_spec(seeds=3))
    finish_trials(store)
    assert limited.post(SWEEPS, json=small_spec(seeds=3)).status_code == 201


def test_submit_sweep_idempotent_repeat_passes_in_flight_limit(limited):
    headers = {"Idempotency-Key": "again"}
    first = limited.post(SWEEPS, json=small_spec(seeds=5), headers=headers)
    repeat = limited.post(SWEEPS, json=small_spec(seeds=5), headers=headers)
    assert (first.status_code, repeat.status_code) == (201, 200)
    assert repeat.json()["id"] == first.json()["id"]


def test_submit_sweep_over_size_limit_is_422(make_app, alice, counts):
    with open_client(make_app({"max_trials_per_sweep": 4}), alice) as client:
        response = client.post(SWEEPS, json=small_spec(seeds=3))
    assert response.status_code == 422
    assert "over the limit of 4" in response.json()["detail"]
    assert counts()["sweeps"] == 0


def test_get_openapi_names_operations_declares_bearer_and_the_string_initializer(anonymous):
    doc = anonymous.get("/openapi.json").json()
    ids = [op["operationId"] for path in doc["paths"].values() for op in path.values()
           if isinstance(op, dict) and "operationId" in op]
    assert len(ids) == len(set(ids))
    assert {"submit_sweep", "list_sweeps", "get_sweep", "compare_sweep", "sweep_events"} <= set(ids)
    assert doc["components"]["securitySchemes"]["bearer"] == {
        **doc["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"}
    submit = doc["paths"]["/api/v1/sweeps"]["post"]
    assert {"bearer": []} in submit["security"]
    items = doc["components"]["schemas"]["SweepSpec"]["properties"]["initializers"]["items"]
    alternatives = items["anyOf"]
    names = [a for a in alternatives if a.get("type") == "string"]
    assert names and "glorot_uniform" in names[0]["enum"]  # the README's string form
