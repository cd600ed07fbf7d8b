"""Seeds until decided: the loop that grows an adaptive sweep block by block (issue 15, item 3).

When every trial of an adaptive sweep has ended, the rule looks: it computes the sweep's
comparison (the verdict's arms, failed tier and ROPE, as `GET /compare` does) and, at each
grid point, `sweepd.analysis.sequential.plan_block` decides from an anytime-valid confidence
sequence (a betting confidence sequence on the two-sample shift, Waudby-Smith & Ramdas 2024;
see that module) whether the best initializer against each other working one is decided. The
initializers of undecided pairs get `step` more seeds (never past `max`, never for failed
initializers); when no pair needs more, the sweep records why it stopped (`decided`,
`equivalent`, `max_seeds`) and closes. Every look is stored as a growth row with its decision
state, so the web page and `sweepd seeds history` show each block.

A look reads only ended trials and writes its block only if the sweep still has the trials it
looked at (`add_block(after_trials=...)`): a dispatcher that dies between deciding and writing
decides again, from the same results, the same block. Looks run on one background thread, so
a long comparison never stalls the dispatcher's loop.
"""

from __future__ import annotations

import json
import logging
import math
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from sweepd.analysis import sequential
from sweepd.analysis.verdict import ROPE_MIN
from sweepd.records import SweepRecord, TrialRecord
from sweepd.spec import SweepSpec, initializer_label
from sweepd.spec_seeds import AdaptiveSeeds

log = logging.getLogger("sweepd.adaptive")


class AdaptivePort(Protocol):
    """What the rule needs of the store (the comparison reads through the same store)."""

    def adaptive_sweeps_between_blocks(self) -> list[SweepRecord]: ...

    def list_trials(self, owner_id: int, sweep_id: int, *, limit: int, offset: int,
                    **filters: Any) -> tuple[list[TrialRecord], int]: ...

    def count_in_flight(self, owner_id: int) -> int: ...

    def add_block(self, sweep_id: int, rows: list[dict[str, Any]], added: dict[str, Any],
                  decision: dict[str, Any], *, after_trials: int) -> int: ...

    def stop_adaptive(self, sweep_id: int, reason: str, decision: dict[str, Any], *,
                      after_trials: int) -> bool: ...


class AdaptiveLooker:
    """Runs `advance_adaptive` on one background thread, at most one look at a time."""

    def __init__(self, store: Any, *, max_in_flight: int | None = None,
                 limits: Any = None) -> None:
        from sweepd.comparisons import NO_LIMITS, ComparisonCache

        self.store = store
        self.max_in_flight = max_in_flight
        # A look compares under the service's comparison limits, as GET /compare does.
        self.cache = ComparisonCache(size=8, limits=limits or NO_LIMITS)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweepd-adaptive")
        self._running: Future[int] | None = None

    def tick(self) -> None:
        """Start a look over every adaptive sweep between blocks, unless one still runs."""
        if self._running is not None and not self._running.done():
            return
        self._running = self._pool.submit(advance_adaptive, self.store,
                                          max_in_flight=self.max_in_flight, cache=self.cache)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def advance_adaptive(store: AdaptivePort, *, max_in_flight: int | None = None,
                     cache: Any = None) -> int:
    """Look at every adaptive sweep whose block has ended: add its next block or stop it.

    Returns:
        The trials added.
    """
    added = 0
    for sweep in store.adaptive_sweeps_between_blocks():
        try:
            added += look(store, sweep, max_in_flight=max_in_flight, cache=cache)
        except Exception:  # one sweep's trouble must not stop the others
            log.exception("adaptive sweep %d could not look at its block", sweep.id)
    return added


def look(store: AdaptivePort, sweep: SweepRecord, *, max_in_flight: int | None = None,
         cache: Any = None) -> int:
    """One look at one adaptive sweep (every trial ended). Returns the trials added."""
    from sweepd.comparisons import compare_sweep
    from sweepd.storage.store_sweeps import cell_rows

    spec = SweepSpec.stored(sweep.spec)
    rule = spec.adaptive
    assert rule is not None and isinstance(spec.seeds, AdaptiveSeeds)
    trials, _ = store.list_trials(sweep.owner_id, sweep.id, limit=max(1, sweep.n_trials),
                                  offset=0)
    comparison = compare_sweep(store, sweep.owner_id, sweep.id,  # type: ignore[arg-type]
                               cache=cache)
    plans = plan_sweep(spec, trials, comparison)
    decision = {"look": _looks_so_far(trials, spec), "points": plans,
                "stop": _overall(plans)}
    if decision["stop"] is not None:
        store.stop_adaptive(sweep.id, decision["stop"], decision, after_trials=sweep.n_trials)
        log.info("adaptive sweep %d stops: %s", sweep.id, decision["stop"])
        return 0
    by_label = {initializer_label(i): i for i in spec.initializers}
    cells, arms = [], []
    for plan in plans:
        for label, more in plan["more"].items():
            first = spec.seeds.start + plan["seeds"][label]
            seeds = list(range(first, first + more))
            cells += spec.keyed_cells(seeds, [by_label[label]], [plan["params"]])
            arms.append({"params": plan["params"], "initializer": label, "seeds": seeds})
    in_flight = store.count_in_flight(sweep.owner_id) if max_in_flight is not None else 0
    if max_in_flight is not None and in_flight + len(cells) > max_in_flight:
        log.info("adaptive sweep %d waits: its next block would pass the quota on trials in "
                 "flight", sweep.id)
        return 0
    return store.add_block(sweep.id, cell_rows(cells), {"arms": arms}, decision,
                           after_trials=sweep.n_trials)


def plan_sweep(spec: SweepSpec, trials: list[TrialRecord], comparison: Any) -> list[dict[str, Any]]:
    """Each grid point's plan: its arms' seeds so far, the best, each pair's state, and the
    seeds each arm gets next (`more`), or why the point stops."""
    rule = spec.adaptive
    assert rule is not None
    verdicts = {_key(v.params): v for v in (comparison.verdict.points if comparison.verdict else [])}
    values = {(_key(g.params), g.initializer): {d.trial_id: d for d in g.trials}
              for g in comparison.groups}
    points = spec.grid_points()
    alpha = rule.alpha / max(1, len(points))  # Bonferroni over grid points, then over pairs
    out = []
    for params in points:
        key = _key(params)
        verdict = verdicts.get(key)
        arms: dict[str, list[float]] = {}
        for label in (initializer_label(i) for i in spec.initializers):
            diagnosed = values.get((key, label), {})
            mine = sorted((t for t in trials if t.initializer_label == label
                           and _key(t.params) == key), key=lambda t: t.seed)
            arms[label] = [_value(diagnosed.get(t.id)) for t in mine]
        failed = sorted(r.initializer for r in verdict.which_initializer.ranking
                        if r.tier == "failed") if verdict else []
        rope = rule.rope or (verdict.which_initializer.rope if verdict else ROPE_MIN)
        plan = sequential.plan_block(arms, rope=rope, alpha=alpha, initial=rule.initial,
                                     step=rule.step, max_seeds=rule.max, failed=failed)
        working = [k for k in arms if k not in failed]
        best = plan.best or (working[0] if len(working) == 1 else None)
        out.append({
            "params": params, "best": best, "rope": rope, "alpha": plan.alpha,
            "failed": failed, "seeds": {k: len(v) for k, v in arms.items()},
            "pairs": [_pair(other, d) for other, d in plan.decisions.items()],
            "more": plan.seeds, "stop": plan.stop,
        })
    return out


def _pair(other: str, d: sequential.PairDecision) -> dict[str, Any]:
    return {"other": other, "state": d.state, "winner": d.winner, "n": d.n,
            "low": _finite(d.low), "high": _finite(d.high), "p_best_beats": d.p_a_beats_b,
            "history": list(d.history)}


def _overall(plans: list[dict[str, Any]]) -> str | None:
    if any(p["stop"] is None for p in plans):
        return None
    reasons = {p["stop"] for p in plans}
    if reasons == {"equivalent"}:
        return "equivalent"
    return "max_seeds" if "max_seeds" in reasons else "decided"


def _looks_so_far(trials: list[TrialRecord], spec: SweepSpec) -> int:
    rule = spec.adaptive
    assert rule is not None
    most = max((sum(1 for t in trials if t.initializer_label == label) for label in
                {t.initializer_label for t in trials}), default=0) // max(1, spec.n_grid_points)
    return len(sequential.block_sizes(most, initial=rule.initial, step=rule.step,
                                      max_seeds=rule.max))


def _value(diagnostics: Any) -> float:
    """An ended trial's ranked value; NaN (the worst) when it diverged or has no result."""
    if diagnostics is None or diagnostics.diverged or diagnostics.value is None:
        return math.nan
    return float(diagnostics.value)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)
