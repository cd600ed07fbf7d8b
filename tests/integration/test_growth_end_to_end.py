"""Growing sweeps through the real service on Ray (issue 15): a sweep of 4 seeds grown by 4 is
bitwise a sweep of 8, and adaptive sweeps add blocks until decided and say why they stopped."""

from __future__ import annotations

from typing import Any

BASE: dict[str, Any] = {
    "dataset": {"name": "moons", "n_samples": 400, "noise": 0.2, "test_fraction": 0.25, "seed": 0},
    "model": {"hidden": [4], "activation": "tanh", "output": "sigmoid"},
    "training": {"optimizer": "gd", "learning_rate": 1.2, "steps": 1000, "loss": "bce"},
}


def spec(name: str, seeds: Any, initializers: list[str], steps: int = 1000) -> dict[str, Any]:
    training = {**BASE["training"], "steps": steps}
    return {**BASE, "training": training, "name": name, "seeds": seeds,
            "initializers": initializers}


def by_cell(sweep) -> dict[str, tuple[str, str | None]]:
    return {t.cell_key: (t.result.final_sha256, t.result.initial_sha256)
            for t in sweep.trials() if t.result is not None}


def test_four_seeds_grown_by_four_are_bitwise_a_sweep_of_eight(live_server_factory):
    server = live_server_factory().start()
    inits = ["glorot_uniform", "he_normal"]
    with server.client() as client:
        grown = client.submit(spec("grown", {"start": 0, "count": 4}, inits, steps=300))
        grown.wait(progress=False, timeout=600)
        assert grown.state == "completed"
        grown.add_seeds(4)
        assert grown.state == "running" and grown.n_trials == 16
        grown.wait(progress=False, timeout=600)
        whole = client.submit(spec("whole", {"start": 0, "count": 8}, inits, steps=300))
        whole.wait(progress=False, timeout=600)
        assert grown.state == whole.state == "completed"
        a, b = by_cell(grown), by_cell(whole)
    assert len(a) == 16 and a == b  # the same cells, bitwise the same initial and final weights


def test_adaptive_sweeps_stop_when_decided_and_say_why(live_server_factory):
    server = live_server_factory().start()
    with server.client() as client:
        # zeros fails (no hidden unit gets a gradient): decided after the first block.
        failing = client.submit(spec("adaptive-zeros", {"adaptive": {
            "initial": 5, "step": 5, "max": 20}}, ["zeros", "glorot_uniform"]))
        # Two working initializers: five seeds cannot decide at α = 0.05, so blocks are added.
        close = client.submit(spec("adaptive-close", {"adaptive": {
            "initial": 4, "step": 4, "max": 12}}, ["glorot_uniform", "he_normal"]))
        failing.wait(progress=False, timeout=600)
        close.wait(progress=False, timeout=900)
        first, second = client.growths(failing.id), client.growths(close.id)
    assert failing.state == "completed" and failing.public.stop_reason == "decided"
    assert failing.n_trials == 10  # the first block only
    (last,) = first
    assert last.n_trials == 0 and last.decision["stop"] == "decided"
    point = last.decision["points"][0]
    assert point["best"] == "glorot_uniform" and point["failed"] == ["zeros"]

    assert close.state == "completed"
    assert close.public.stop_reason in ("decided", "equivalent", "max_seeds")
    blocks = [g for g in second if g.n_trials > 0]
    assert blocks and all(g.source == "adaptive" for g in second)
    assert second[-1].n_trials == 0 and second[-1].decision["stop"] == close.public.stop_reason
    assert 8 < close.n_trials <= 24  # grew, and never past max = 12 seeds per initializer
    seeds = second[-1].decision["points"][0]["seeds"]
    assert max(seeds.values()) <= 12
