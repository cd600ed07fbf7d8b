"""The search loop the dispatcher runs: sample a search sweep's next points as earlier ones end.

For each open search sweep, point k is added when fewer than `in_flight` points are unfinished
and every point before k − in_flight has ended (`sweepd.search.ready`), so each point is
sampled from exactly the results `sweepd.search.visible_history` names: the sequence does not
depend on which trials finished first. A point's value is its objective statistic over all its
runs (`sweepd.search.point_value`). Writing a point is idempotent (`add_search_trials`), so a
dispatcher that dies between sampling and writing samples the same point again.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from sweepd import search as sampling
from sweepd.records import SweepRecord
from sweepd.spec import SweepSpec

log = logging.getLogger("sweepd.search")
REPEATS = 10  # tries to find a point the search does not have yet, before it ends early


class SearchPort(Protocol):
    def open_search_sweeps(self) -> list[SweepRecord]: ...

    def search_trials(self, sweep_id: int) -> list[dict[str, Any]]: ...

    def add_search_trials(self, sweep_id: int, rows: list[dict[str, Any]]) -> int: ...

    def end_search(self, sweep_id: int) -> None: ...


def advance_searches(store: SearchPort) -> int:
    """Add every point that may be sampled now, over all open search sweeps.

    Returns:
        The points added.
    """
    added = 0
    for sweep in store.open_search_sweeps():
        try:
            added += advance(store, sweep.id, SweepSpec.stored(sweep.spec))
        except Exception:  # one sweep's trouble must not stop the others' searches
            log.exception("search of sweep %d could not advance", sweep.id)
    return added


def points_of(spec: SweepSpec, trials: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The search points in the order they were added, each with its trials."""
    assert spec.search is not None
    paths = list(spec.search.space)
    points: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for trial in trials:
        params = {p: trial["params"][p] for p in paths}
        points.setdefault(json.dumps(params, sort_keys=True), (params, []))[1].append(trial)
    return list(points.values())


def advance(store: SearchPort, sweep_id: int, spec: SweepSpec) -> int:
    """Add the points of one search sweep that may be sampled now; returns how many."""
    from sweepd.storage.store_sweeps import trial_rows

    search = spec.search
    assert search is not None
    points = points_of(spec, store.search_trials(sweep_id))
    finished = [all(t["ended"] for t in ts) for _, ts in points]
    history = [(params, _value(search, ts) if done else None)
               for (params, ts), done in zip(points, finished)]
    seen = {json.dumps(p, sort_keys=True) for p, _ in history}
    added = 0
    while (len(history) < search.points and finished.count(False) < search.in_flight
           and sampling.ready(search, len(history), finished)):
        k = len(history)
        point = next((p for a in range(REPEATS)
                      if json.dumps(p := sampling.propose(search, k, history, attempt=a),
                                    sort_keys=True) not in seen), None)
        if point is None:
            log.info("search of sweep %d found no new point after %d: it ends", sweep_id, k)
            store.end_search(sweep_id)
            return added
        store.add_search_trials(sweep_id, trial_rows(spec, [point]))
        seen.add(json.dumps(point, sort_keys=True))
        history.append((point, None))
        finished.append(False)
        added += 1
    return added


def _value(search: Any, trials: list[dict[str, Any]]) -> float | None:
    metric = search.objective.metric
    return sampling.point_value([t["metrics"].get(metric) for t in trials], search.objective)
