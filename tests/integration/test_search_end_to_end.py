"""A search through the real service (issue 20, item 1): a 6-point random search over the
learning rate × 3 seeds on moons is submitted over REST, trained on Ray point after point by
the dispatcher's search loop, and its verdict names the best point."""

from __future__ import annotations

import json

from sweepd.analysis.verdict_text import point_name

SPEC = {
    "name": "search-moons",
    "dataset": {"name": "moons", "n_samples": 400, "noise": 0.2, "test_fraction": 0.25, "seed": 0},
    "model": {"hidden": [4], "activation": "tanh", "output": "sigmoid"},
    "training": {"optimizer": "gd", "learning_rate": 1.0, "steps": 400, "loss": "bce"},
    "seeds": {"start": 0, "count": 3},
    "initializers": ["glorot_uniform"],
    "search": {"sampler": "random", "points": 6, "in_flight": 3, "seed": 11,
               "space": {"training.learning_rate": {"low": 0.01, "high": 3.0, "log": True}}},
}


def test_random_search_over_the_learning_rate_completes_and_names_the_best_point(
        live_server_factory):
    server = live_server_factory().start()
    with server.client() as client:
        sweep = client.submit(SPEC)
        assert sweep.n_trials == 18 and len(sweep.trials()) == 9  # 3 points in flight at first
        sweep.wait(progress=False, timeout=600)
        assert sweep.state == "completed", sweep.counts
        trials = sweep.trials()
        points = {json.dumps(t.params, sort_keys=True) for t in trials}
        assert len(trials) == 18 and len(points) == 6
        verdict = sweep.compare().model.verdict
    best = verdict.best_point
    assert best is not None and best.n_points == 6
    assert verdict.text.startswith(f"Best point: {point_name(best.best)} (IQM ")
    assert json.dumps(best.best, sort_keys=True) in points
