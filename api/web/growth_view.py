"""What the sweep page says about growth (issue 15): an adaptive sweep's "Seeds until decided"
panel (one sentence, then a small table per look) and the history of seeds added by requests.

Everything is read from the stored growth rows: each look of the adaptive rule is one row whose
`decision` holds, per grid point, the seeds of every initializer, the best, each pair's state
with its confidence-sequence bounds on Δ (the median of best − other, in accuracy) and the
seeds asked for next (`sweepd.adaptive_driver`). The text is made here, so the page's script
only lays it out and a plain test can read it.
"""

from __future__ import annotations

from typing import Any

from sweepd.records import GrowthRecord, SweepRecord
from sweepd.spec import SweepSpec
from sweepd_api.web.figures import point_label

STOPPED = {
    "equivalent": "every comparison that matters is practically equivalent",
    "max_seeds": "the cap on seeds was reached",
    "decided": "every comparison that matters is decided",
}
MAX_SEED_SPAN = 8  # seeds listed one by one in the history; longer non-ranges are counted


def growth_panel(sweep: SweepRecord, growths: list[GrowthRecord]) -> dict[str, Any]:
    """The page's growth section for one sweep.

    Args:
        sweep: the sweep.
        growths: its growths, oldest first (`Store.list_growths`).

    Returns:
        `adaptive`, `sentence` (None for a sweep that is not adaptive), `looks` (newest
        last: `block`, `at`, `added`, `stop`, `points` with their `rows`), `history` (the
        growths asked for by requests: `at`, `seeds`, `initializers`, `trials`) and `grown`
        (`from`, `to`, `requests`; None when the sweep never grew).
    """
    spec = SweepSpec.stored(sweep.spec)
    looks = [_look(g) for g in growths if g.source == "adaptive" and g.decision]
    requests = [g for g in growths if g.source == "request"]
    added = sum(g.n_trials for g in growths)
    return {
        "adaptive": spec.adaptive is not None,
        "sentence": sentence(sweep, spec, looks) if spec.adaptive is not None else None,
        "looks": looks,
        "history": [_request(g) for g in requests],
        "grown": {"from": sweep.n_trials - added, "to": sweep.n_trials,
                  "requests": len(requests)} if added else None,
    }


def sentence(sweep: SweepRecord, spec: SweepSpec, looks: list[dict[str, Any]]) -> str:
    """The panel's first line: where the adaptive rule stands, or why it stopped."""
    rule = spec.adaptive
    assert rule is not None
    if not looks:
        first = spec.n_trials
        if sweep.state == "cancelled":
            return "Cancelled before the first look: no block had ended."
        return (f"Block 1 is running: the rule looks when its {first} trials have ended "
                f"({rule.initial} seeds per initializer).")
    last = looks[-1]
    blocks = _blocks(last["block"])
    open_pairs, all_pairs = _undecided(last), _pairs(last)
    reason = sweep.stop_reason
    if reason == "decided":
        return f"Stopped after {blocks}: {_decided_words(last)}."
    if reason == "equivalent":
        return f"Stopped after {blocks}: {_equivalent_words(last)}."
    if reason == "max_seeds":
        return (f"Stopped at the cap of {rule.max} seeds after {blocks}: {open_pairs} of "
                f"{all_pairs} {_plural(all_pairs, 'pair')} still undecided.")
    if reason is not None:  # a reason this page does not know yet
        return f"Stopped after {blocks}: {STOPPED.get(reason, reason)}."
    counted = f"{open_pairs} of {all_pairs} {_plural(all_pairs, 'pair')} undecided"
    if sweep.state == "cancelled":
        return f"Cancelled after {blocks}: {counted} when it stopped."
    if sweep.state == "paused":
        return f"Paused after {blocks}: {counted}; resume to add the next block."
    return f"Still adding seeds: {counted} after block {last['block']}."


def _decided_words(look: dict[str, Any]) -> str:
    points = look["points"]
    if len(points) > 1:
        return ("at every grid point, the best initializer is decided against every other "
                "working one")
    point = points[0]
    best = point["best"]
    if best is None:
        return "fewer than two working initializers, so there is nothing to compare"
    rows = [r for r in point["rows"] if r["state"] not in ("best", "failed")]
    if not rows:
        return f"{best} is the only working initializer, so there is nothing left to compare"
    beaten = [r["initializer"] for r in rows if r["state"] == "winner" and r["best_won"]]
    same = [r["initializer"] for r in rows if r["state"] == "equivalent"]
    others = "other working" if any(r["state"] == "failed" for r in point["rows"]) else "other"
    if beaten and len(beaten) == len(rows):
        return f"{best} is decidedly better than every {others} initializer"
    parts = []
    if beaten:
        parts.append(f"decidedly better than {_join(beaten)}")
    if same:
        parts.append(f"practically equivalent to {_join(same)}")
    lost = [r["initializer"] for r in rows if r["state"] == "winner" and not r["best_won"]]
    text = f"{best} is {' and '.join(parts)}" if parts else f"{best} is decided"
    return text + (f"; {_join(lost)} decidedly better than it" if lost else "")


def _equivalent_words(look: dict[str, Any]) -> str:
    points = look["points"]
    if len(points) > 1:
        return ("at every grid point, every working initializer is practically equivalent to "
                "the best")
    point = points[0]
    return (f"every working initializer is practically equivalent to {point['best']} "
            f"(within {point['rope']})")


def _look(growth: GrowthRecord) -> dict[str, Any]:
    decision = growth.decision or {}
    points = decision.get("points", [])
    return {"block": int(decision.get("look") or 0), "at": growth.created_at.isoformat(),
            "added": growth.n_trials, "stop": decision.get("stop"),
            "points": [_point(p, many=len(points) > 1) for p in points]}


def _point(point: dict[str, Any], *, many: bool) -> dict[str, Any]:
    best = point.get("best")
    seeds: dict[str, int] = point.get("seeds", {})
    more: dict[str, int] = point.get("more", {})
    failed = set(point.get("failed", []))
    rope = point.get("rope")
    pairs = {p["other"]: p for p in point.get("pairs", [])}
    order = ([best] if best in seeds else []) + [k for k in pairs if k in seeds] + \
        [k for k in seeds if k != best and k not in pairs]
    rows = []
    for label in order:
        row = {"initializer": label, "seeds": seeds[label], "next": more.get(label, 0),
               "best_won": False}
        if label == best:
            row.update(state="best", text="the highest interquartile mean")
        elif label in failed:
            row.update(state="failed", text="gets no more seeds")
        elif label in pairs:
            row.update(_pair_words(pairs[label], best, label, rope))
        else:
            row.update(state="undecided", text="waits for its first block")
        rows.append(row)
    return {"label": point_label(point.get("params", {})) if many else "", "best": best,
            "rope": _rope(rope), "alpha": point.get("alpha"), "rows": rows}


def _pair_words(pair: dict[str, Any], best: str, other: str, rope: float | None
                ) -> dict[str, Any]:
    state, low, high = pair.get("state"), pair.get("low"), pair.get("high")
    bounds = (None if low is None or high is None
              else f"{_pp(low, signed=True)} to {_pp(high, signed=True)} pp")
    if state == "winner":
        won = pair.get("winner") == "a"
        if bounds is None:
            text = f"{best if won else other} decidedly better"
        elif won:
            text = f"{best} better by {_pp(low)} to {_pp(high)} pp"
        else:
            text = f"{other} better by {_pp(-high)} to {_pp(-low)} pp"
        return {"state": "winner", "text": text, "best_won": won}
    if state == "equivalent":
        return {"state": "equivalent",
                "text": f"the difference is {bounds}, inside {_rope(rope)}"}
    if bounds is None:
        return {"state": state or "undecided", "text": "too few seeds to bound the difference yet"}
    return {"state": state or "undecided", "text": f"the difference is {bounds}"}


def _request(growth: GrowthRecord) -> dict[str, Any]:
    return {"at": growth.created_at.isoformat(), "seeds": seed_span(growth.seeds),
            "initializers": ", ".join(growth.initializers) if growth.initializers else "all",
            "trials": growth.n_trials}


def seed_span(seeds: list[int]) -> str:
    """Seeds in a few characters: `8–15`, `100, 101`, or `12 seeds (3 … 977)`."""
    if not seeds:
        return "–"
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}–{seeds[-1]}"
    if len(seeds) <= MAX_SEED_SPAN:
        return ", ".join(map(str, seeds))
    return f"{len(seeds)} seeds ({min(seeds)} … {max(seeds)})"


def _undecided(look: dict[str, Any]) -> int:
    return sum(1 for p in look["points"] for r in p["rows"]
               if r["state"] in ("undecided", "max_seeds") and r["initializer"] != p["best"])


def _pairs(look: dict[str, Any]) -> int:
    return sum(1 for p in look["points"] for r in p["rows"]
               if r["state"] not in ("best", "failed"))


def _blocks(n: int) -> str:
    return f"{n} {_plural(n, 'block')}"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _pp(share: float, *, signed: bool = False) -> str:
    return f"{100 * share:+.1f}" if signed else f"{100 * share:.1f}"


def _rope(rope: float | None) -> str:
    return "the ROPE" if rope is None else f"±{100 * rope:.2g} pp"
