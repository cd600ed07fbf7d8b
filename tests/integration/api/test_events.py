"""Server-Sent Events: progress while a sweep runs, trial completions, the end, and resuming."""

from __future__ import annotations

import json
import threading
import time

import httpx

from sweepd_api.routers import events
from tests.integration.api.api_support import (
    finish_trials,
    open_client,
    parse_sse,
    serve_app,
    small_spec,
)

SWEEPS = "/api/v1/sweeps"


def read_events(client, sweep_id, **headers):
    response = client.get(f"{SWEEPS}/{sweep_id}/events", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    return [(e, i, json.loads(d)) for e, i, d in parse_sse(iter(response.text.splitlines()))]


def test_stream_events_of_finished_sweep_sends_trials_progress_and_end(client, store):
    sweep_id = client.post(SWEEPS, json=small_spec()).json()["id"]
    done = finish_trials(store)
    events = read_events(client, sweep_id)
    kinds = [e for e, _, _ in events]
    assert kinds == ["trial"] * 6 + ["progress", "end"]
    assert sorted(d["id"] for e, _, d in events if e == "trial") == sorted(done)
    assert all(d["result"]["test_accuracy"] is not None and "curve" not in d["result"]
               for e, _, d in events if e == "trial")
    assert events[-1][2]["state"] == "completed"
    assert events[-1][2]["counts"]["completed"] == 6


def test_stream_events_resumes_after_last_event_id(client, store):
    sweep_id = client.post(SWEEPS, json=small_spec()).json()["id"]
    finish_trials(store)
    first = [(i, d["id"]) for e, i, d in read_events(client, sweep_id) if e == "trial"]
    resumed = read_events(client, sweep_id, **{"Last-Event-ID": first[1][0]})
    assert [d["id"] for e, _, d in resumed if e == "trial"] == [t for _, t in first[2:]]


def test_stream_events_refuses_malformed_last_event_id(client, store):
    sweep_id = client.post(SWEEPS, json=small_spec(seeds=1)).json()["id"]
    finish_trials(store)
    response = client.get(f"{SWEEPS}/{sweep_id}/events", headers={"Last-Event-ID": "not|a-cursor"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Last-Event-ID" in response.json()["detail"]


def test_stream_events_of_cancelled_sweep_ends(client):
    sweep_id = client.post(SWEEPS, json=small_spec()).json()["id"]
    client.post(f"{SWEEPS}/{sweep_id}/cancel")
    events = read_events(client, sweep_id)
    assert events[-1][0] == "end" and events[-1][2]["state"] == "cancelled"


def test_stream_events_delivers_progress_while_sweep_runs(live_url, alice, store):
    """Over a real socket: the stream reports trials finishing after it opened, then ends."""
    with httpx.Client(base_url=live_url, headers=alice.headers, timeout=30) as http:
        sweep_id = http.post(SWEEPS, json=small_spec()).json()["id"]
        seen: list[tuple[str, dict]] = []
        with http.stream("GET", f"{SWEEPS}/{sweep_id}/events") as response:
            assert response.status_code == 200
            for event, _, data in parse_sse(response.iter_lines()):
                seen.append((event, json.loads(data)))
                if len(seen) == 1:  # the stream is open: now trials finish, in two steps
                    finish_trials(store, max_trials=2)
                    threading.Timer(1.0, finish_trials, args=(store,)).start()
    kinds = [e for e, _ in seen]
    progress = [d for e, d in seen if e == "progress"]
    assert progress[0]["counts"]["pending"] == 6 and progress[0]["state"] == "pending"
    assert any(0 < p["counts"]["completed"] < 6 for p in progress)
    assert progress[-1]["counts"]["completed"] == 6
    assert kinds.count("trial") == 6 and kinds[-1] == "end"


def test_stream_events_stops_polling_when_client_disconnects(live_url, alice, store,
                                                             monkeypatch):
    polls = []
    real_get_sweep = store.get_sweep
    monkeypatch.setattr(store, "get_sweep", lambda *a, **k: polls.append(1) or
                        real_get_sweep(*a, **k))
    stopped = threading.Event()  # set when the server's stream generator has ended
    real_chunks = events.SweepStream.chunks

    async def tracked(self):
        try:
            async for chunk in real_chunks(self):
                yield chunk
        finally:
            stopped.set()

    monkeypatch.setattr(events.SweepStream, "chunks", tracked)
    with httpx.Client(base_url=live_url, headers=alice.headers, timeout=30) as http:
        sweep_id = http.post(SWEEPS, json=small_spec()).json()["id"]
        with http.stream("GET", f"{SWEEPS}/{sweep_id}/events") as response:
            stream = parse_sse(response.iter_lines())  # held: dropping it would close the stream
            assert next(stream)[0] == "progress"
            open_polls = len(polls)
            while len(polls) < open_polls + 3:  # the stream keeps polling the running sweep
                time.sleep(0.05)
        after_close = len(polls)
        assert stopped.wait(timeout=30), "the stream kept running after the client left"
        # At most the poll in progress when the client left.
        assert len(polls) - after_close <= 2
        assert http.get(f"{SWEEPS}/{sweep_id}").status_code == 200


def test_stream_events_sends_keepalive_comments(live_url, alice, store, monkeypatch):
    # The stream pings after this many seconds without an event (15 by default).
    monkeypatch.setattr(events, "PING_SECONDS", 0.2)
    with httpx.Client(base_url=live_url, headers=alice.headers, timeout=30) as http:
        sweep_id = http.post(SWEEPS, json=small_spec()).json()["id"]
        with http.stream("GET", f"{SWEEPS}/{sweep_id}/events") as response:
            lines = response.iter_lines()
            assert ": ping" in lines
            finish_trials(store)
            assert "event: end" in lines


def test_stream_writes_the_trials_of_one_poll_as_one_chunk(make_app, alice, store):
    # A write per trial event was the service's largest cost at a thousand trials a second
    # (issue 19): the trials one poll found go out together, CHUNK events per write.
    writes: list[bytes] = []
    app = make_app()

    class Recorder:
        def __init__(self, inner):
            self.inner = inner

        async def __call__(self, scope, receive, send):
            async def record(message):
                if message["type"] == "http.response.body" and scope["path"].endswith("/events"):
                    writes.append(message.get("body", b""))
                await send(message)
            await self.inner(scope, receive, record)

    app.add_middleware(Recorder)
    with open_client(app, alice) as client:
        sweep_id = client.post(SWEEPS, json=small_spec(seeds=5)).json()["id"]
        done = finish_trials(store)
        kinds = [e for e, _, _ in read_events(client, sweep_id)]
    assert kinds.count("trial") == len(done) == 10
    with_trials = [w for w in writes if b"event: trial" in w]
    assert len(with_trials) == 1 and with_trials[0].count(b"event: trial") == 10


def test_stream_splits_a_long_poll_into_chunks(make_app, alice, store, monkeypatch):
    monkeypatch.setattr(events, "CHUNK", 4)
    with open_client(make_app(), alice) as client:
        sweep_id = client.post(SWEEPS, json=small_spec(seeds=5)).json()["id"]
        done = finish_trials(store)
        trials = [d["id"] for e, _, d in read_events(client, sweep_id) if e == "trial"]
        resumed = read_events(client, sweep_id, **{"Last-Event-ID": _id_of(client, sweep_id, 2)})
    assert sorted(trials) == sorted(done)
    assert [d["id"] for e, _, d in resumed if e == "trial"] == trials[3:]


def _id_of(client, sweep_id, index):
    return [i for e, i, _ in read_events(client, sweep_id) if e == "trial"][index]


def test_stream_pings_while_polls_bring_nothing_new(make_app, alice, monkeypatch):
    # A pending sweep's poller posts an update every 0.1 s that changes nothing: the ping is
    # due after PING_SECONDS without a byte written, not after PING_SECONDS without an update.
    monkeypatch.setattr(events, "PING_SECONDS", 0.6)
    app = make_app({"sse_poll_seconds": 0.1, "trusted_hosts": "testserver,127.0.0.1"})
    with serve_app(app) as url, httpx.Client(base_url=url, headers=alice.headers,
                                             timeout=30) as http:
        sweep_id = http.post(SWEEPS, json=small_spec()).json()["id"]
        with http.stream("GET", f"{SWEEPS}/{sweep_id}/events") as response:
            assert ": ping" in response.iter_lines()
