"""Event streams under load (issue 14, items 3, 12, 16; issue 13, item 11): one store poller per
sweep however many streams follow it, a per-user cap on open streams, streams that close when
their token is revoked or the service stops, a 400 for a forged Last-Event-ID, and no
"socket.send() raised exception." flood when a client drops mid-stream."""

from __future__ import annotations

import json
import logging
import socket
import statistics
import struct
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack

import httpx
import pytest
from fastapi import FastAPI

from tests.integration.api.api_support import finish_trials, open_client, parse_sse, serve_app, small_spec

SWEEPS = "/api/v1/sweeps"
FAST = {"sse_poll_seconds": 0.1, "trusted_hosts": "testserver,127.0.0.1"}


def serve(app: FastAPI):
    """The app on a free loopback port; its lifespan runs around it."""
    return serve_app(app)


@pytest.fixture
def counted(store, monkeypatch) -> list[float]:
    """The times of every `get_sweep` call: the query each stream used to repeat."""
    calls: list[float] = []
    real = store.get_sweep
    monkeypatch.setattr(store, "get_sweep", lambda *a, **k: calls.append(time.monotonic())
                        or real(*a, **k))
    return calls


def open_streams(stack: ExitStack, http: httpx.Client, sweep_id: int, n: int) -> list:
    responses = []
    for _ in range(n):
        response = stack.enter_context(http.stream("GET", f"{SWEEPS}/{sweep_id}/events"))
        assert response.status_code == 200
        responses.append(response)
    return responses


def polls_in(calls: list[float], seconds: float) -> int:
    start = len(calls)
    time.sleep(seconds)
    return len(calls) - start


def test_many_streams_on_a_large_pending_sweep_share_one_poller(make_app, alice, bob, counted):
    app = make_app({**FAST, "sse_max_streams_per_user": 100})
    with serve(app) as url, httpx.Client(base_url=url, headers=alice.headers, timeout=30) as http:
        sweep_id = http.post(SWEEPS, json=small_spec(seeds=500)).json()["id"]  # 1000 pending
        with ExitStack() as one:
            open_streams(one, http, sweep_id, 1)
            time.sleep(0.3)
            alone = polls_in(counted, 1.5)
        with ExitStack() as many:
            open_streams(many, http, sweep_id, 40)
            time.sleep(0.3)
            shared = polls_in(counted, 1.5)
            assert app.state.event_hub.pollers() == 1
            # Another user's reads stay fast while the streams are open.
            with httpx.Client(base_url=url, headers=bob.headers, timeout=30) as other:
                own = other.post(SWEEPS, json=small_spec()).json()["id"]
                latencies = []
                for _ in range(20):
                    started = time.perf_counter()
                    assert other.get(f"{SWEEPS}/{own}").status_code == 200
                    latencies.append(time.perf_counter() - started)
    assert alone >= 5, "the poller did not poll"
    # One stream per query loop would make this 40 times `alone`.
    assert shared <= 2 * alone + 2, (alone, shared)
    assert statistics.quantiles(latencies, n=20)[18] < 2.0


def test_streams_over_the_per_user_cap_get_429_and_a_slot_frees_on_close(make_app, alice, bob):
    app = make_app({**FAST, "sse_max_streams_per_user": 3})
    with serve(app) as url, httpx.Client(base_url=url, headers=alice.headers, timeout=30) as http:
        sweep_id = http.post(SWEEPS, json=small_spec()).json()["id"]
        with ExitStack() as stack:
            first = open_streams(stack, http, sweep_id, 3)
            refused = http.get(f"{SWEEPS}/{sweep_id}/events")
            assert refused.status_code == 429
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert int(refused.headers["retry-after"]) >= 1
            assert "event streams" in refused.json()["detail"]
            with httpx.Client(base_url=url, headers=bob.headers, timeout=30) as other:
                own = other.post(SWEEPS, json=small_spec()).json()["id"]
                with other.stream("GET", f"{SWEEPS}/{own}/events") as response:
                    assert response.status_code == 200  # the cap is per user
            first[0].close()
            wait_for(lambda: app.state.event_hub.streams.in_use(alice.id) == 2, "slot freed")
            with http.stream("GET", f"{SWEEPS}/{sweep_id}/events") as again:
                assert again.status_code == 200


def test_streams_resuming_at_different_cursors_each_get_exactly_their_trials(make_app, alice,
                                                                              store):
    app = make_app(FAST)
    with serve(app) as url, httpx.Client(base_url=url, headers=alice.headers, timeout=30) as http:
        sweep_id = http.post(SWEEPS, json=small_spec()).json()["id"]
        finish_trials(store, max_trials=3)
        early = read_until_trials(http, sweep_id, 3)
        mid_id = early[1][1]
        results: dict[str, list[int]] = {}

        def follow(name: str, headers: dict[str, str]) -> None:
            with http.stream("GET", f"{SWEEPS}/{sweep_id}/events", headers=headers) as r:
                results[name] = [json.loads(d)["id"] for e, _, d in parse_sse(r.iter_lines())
                                 if e == "trial"]

        threads = [threading.Thread(target=follow, args=("fresh", {})),
                   threading.Thread(target=follow, args=("resumed", {"Last-Event-ID": mid_id}))]
        for t in threads:
            t.start()
        time.sleep(0.5)
        finish_trials(store)
        for t in threads:
            t.join(timeout=30)
    every = [t for _, _, t in early]
    assert len(results["fresh"]) == 6 and results["fresh"][:3] == every
    assert results["resumed"] == results["fresh"][2:]


def read_until_trials(http: httpx.Client, sweep_id: int, n: int) -> list[tuple[str, str, int]]:
    out = []
    with http.stream("GET", f"{SWEEPS}/{sweep_id}/events") as response:
        for event, event_id, data in parse_sse(response.iter_lines()):
            if event == "trial":
                out.append((event, event_id, json.loads(data)["id"]))
                if len(out) == n:
                    return out
    return out


def test_revoking_the_token_closes_an_open_stream(make_app, alice, store):
    app = make_app({**FAST, "sse_auth_recheck_seconds": 0.3})
    with serve(app) as url, httpx.Client(base_url=url, headers=alice.headers, timeout=30) as http:
        sweep_id = http.post(SWEEPS, json=small_spec()).json()["id"]
        with http.stream("GET", f"{SWEEPS}/{sweep_id}/events") as response:
            events = parse_sse(response.iter_lines())
            assert next(events)[0] == "progress"
            store.revoke_token(alice.token_id)
            started = time.monotonic()
            rest = list(events)  # ends when the server closes the stream
            closed_after = time.monotonic() - started
        assert http.get(f"{SWEEPS}/{sweep_id}").status_code == 401
    assert [e for e, _, _ in rest] == [] and closed_after < 10
    assert app.state.event_hub.streams.in_use() == 0


def test_closing_the_hub_ends_streams_and_refuses_new_ones(make_app, alice):
    app = make_app(FAST)
    with serve(app) as url, httpx.Client(base_url=url, headers=alice.headers, timeout=30) as http:
        sweep_id = http.post(SWEEPS, json=small_spec()).json()["id"]
        with http.stream("GET", f"{SWEEPS}/{sweep_id}/events") as response:
            events = parse_sse(response.iter_lines())
            assert next(events)[0] == "progress"
            app.state.event_hub.close_threadsafe()  # what the server's SIGTERM handler calls
            assert list(events) == []
        refused = http.get(f"{SWEEPS}/{sweep_id}/events")
        assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1


@pytest.mark.parametrize("last_event_id", [
    "|99999999999999999999999",
    "2026-01-01T00:00:00+00:00|99999999999999999999999",
    "2026-01-01T00:00:00+00:00|9223372036854775808",
    "2026-01-01T00:00:00|5",  # no zone
    "2026-01-01T00:00:00+00:00|1_000",
])
def test_forged_last_event_id_is_a_400_before_the_stream(client, last_event_id):
    sweep_id = client.post(SWEEPS, json=small_spec(seeds=1)).json()["id"]
    response = client.get(f"{SWEEPS}/{sweep_id}/events", headers={"Last-Event-ID": last_event_id})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "Bad request"


def test_client_dropping_mid_stream_logs_no_socket_send_errors(make_app, alice, store, caplog):
    """Reproduces 1634 "socket.send() raised exception." lines with the old hand-written stream
    (5 clients reset while 1000 trials finish); none with FastAPI's stream."""
    caplog.set_level(logging.WARNING)
    app = make_app(FAST)
    with serve(app) as url, httpx.Client(base_url=url, headers=alice.headers, timeout=30) as http:
        sweep_id = http.post(SWEEPS, json=small_spec(seeds=500)).json()["id"]
        port = int(url.rsplit(":", 1)[1])
        sockets = [raw_stream(port, sweep_id, alice.token) for _ in range(5)]
        polls_before = app.state.event_hub.polls
        finisher = threading.Thread(target=lambda: [finish_trials(store, max_trials=100)
                                                    for _ in range(10)])
        finisher.start()
        time.sleep(0.5)
        for sock in sockets:  # a reset, as from a killed client: no orderly close
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        finisher.join()
        wait_for(lambda: app.state.event_hub.streams.in_use() == 0, "streams ended")
        assert app.state.event_hub.polls > polls_before  # trials were flowing when they left
    flood = [r for r in caplog.records if "socket.send() raised" in r.getMessage()]
    assert flood == []


def raw_stream(port: int, sweep_id: int, token: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.sendall(f"GET {SWEEPS}/{sweep_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"Authorization: Bearer {token}\r\n\r\n".encode())
    assert sock.recv(64).startswith(b"HTTP/1.1 200")
    return sock


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.05)


def test_a_stream_of_another_users_sweep_is_a_404_before_it_opens(make_app, alice, bob):
    app = make_app(FAST)
    with open_client(app, alice) as client, open_client(app, bob) as other:
        sweep_id = client.post(SWEEPS, json=small_spec()).json()["id"]
        response = other.get(f"{SWEEPS}/{sweep_id}/events")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert app.state.event_hub.streams.in_use() == 0


def test_an_app_started_twice_still_streams_and_compares(app, alice, store):
    """A lifespan's end closes the event hub and the comparisons' pool; the next start of the
    same app opens them again (TestClient and schemathesis start one app many times)."""
    from tests.integration.api.api_support import finish_trials, open_client, small_spec

    with open_client(app, alice) as first:
        sweep_id = first.post("/api/v1/sweeps", json=small_spec("twice")).json()["id"]
    finish_trials(store)
    with open_client(app, alice) as second:
        stream = second.get(f"/api/v1/sweeps/{sweep_id}/events")
        assert stream.status_code == 200 and "event: end" in stream.text
        assert second.get(f"/api/v1/sweeps/{sweep_id}/compare").status_code == 200


def test_a_nudge_after_stored_results_ends_the_stream_before_the_next_poll(make_app, alice,
                                                                           store):
    """The dispatcher nudges the hub once it has stored results (`on_results`); a stream then
    sees its sweep end at once, not at the next poll, here 5 s away."""
    app = make_app({**FAST, "sse_poll_seconds": 5.0})
    hub = app.state.event_hub
    with serve(app) as url, httpx.Client(base_url=url, headers=alice.headers, timeout=30) as http:
        sweep_id = http.post(SWEEPS, json=small_spec()).json()["id"]
        with http.stream("GET", f"{SWEEPS}/{sweep_id}/events") as response:
            events = parse_sse(response.iter_lines())
            assert next(events)[0] == "progress"  # the first poll has been read
            finish_trials(store)
            hub.nudge()  # from this (another) thread, as from the dispatcher's
            started = time.monotonic()
            names = [e for e, _, _ in events]
            ended_after = time.monotonic() - started
    assert names[-1] == "end" and names.count("trial") == 6
    assert ended_after < 2.5, f"the stream ended {ended_after:.2f} s later: the nudge was lost"


def test_the_service_wires_the_dispatchers_stored_results_to_the_hubs_nudge(tmp_path):
    from sweepd.settings import load_settings
    from sweepd.storage import open_store
    from sweepd_service.server import build_app

    store = open_store(f"sqlite:///{tmp_path / 'sweepd.db'}", auto_migrate=True)
    try:
        app, dispatcher = build_app(load_settings(data_dir=tmp_path), store)
        assert dispatcher.on_results == app.state.event_hub.nudge
    finally:
        store.dispose()
