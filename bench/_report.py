"""The benchmark's printed table: every row, then the ratios against the issue's targets."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from typing import Any

TARGETS: dict[tuple[str, str], float] = {
    ("moons", "tune"): 4.0, ("moons", "ideal"): 0.8, ("overhead", "tune"): 300.0,
    ("moons", "engine"): 0.9, ("overhead", "engine"): 0.6,  # issue 19
}
OVERHEAD_MIN_RATE = 100.0  # trials/s end to end (issue 8)
COMPARE_MAX_S = 2.0  # GET /compare of a 1 500-trial sweep (issue 8)


def header(extra: dict[str, Any]) -> list[str]:
    import ray
    import torch

    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [f"# {now}  {platform.machine()} {platform.system()}, {os.cpu_count()} cores, "
             f"python {platform.python_version()}, torch {torch.__version__}, "
             f"ray {ray.__version__}; load average {extra['started_load']} at start, "
             f"{extra.get('finished_load')} at end"]
    if "startup" in extra:
        s = extra["startup"]
        head = f"{s['ray_head_s']:.1f} s" if s["ray_head_s"] else "(joined a running one)"
        lines.append(f"# start-up (not in the figures below): Ray head {head}, "
                     f"sweepd serve ready {s['service_ready_s']:.1f} s, warm-up sweep "
                     f"{s['warmup_sweep_s']:.1f} s, its first compare {s['first_compare_s']:.1f} s")
    return lines


def rows_table(rows: list[dict[str, Any]]) -> list[str]:
    out = [f"{'workload':<9} {'contender':<11} {'trials':>6} {'wall s':>9} {'trials/s':>10} "
           f"{'load':>10}  note"]
    for r in rows:
        before = "-" if r["load_before"] is None else f"{r['load_before']:.1f}"
        out.append(f"{r['workload']:<9} {r['contender']:<11} {r['trials']:>6} "
                   f"{r['seconds']:>9.2f} {r['trials_per_s']:>10.2f} "
                   f"{before + '→' + format(r['load_after'], '.1f'):>10}  {r['note']}")
    return out


def rate(rows: list[dict[str, Any]], workload: str, contender: str) -> list[float]:
    return [r["trials_per_s"] for r in rows
            if r["workload"] == workload and r["contender"] == contender]


def ratios_table(rows: list[dict[str, Any]]) -> list[str]:
    """service/tune and service/ideal per workload, from the median service run."""
    out = []
    for workload in dict.fromkeys(r["workload"] for r in rows):
        service = rate(rows, workload, "service")
        if not service:
            continue
        mid = statistics.median(service)
        spread = f" (runs {min(service):.1f}–{max(service):.1f})" if len(service) > 1 else ""
        out.append(f"{workload:<9} service {mid:10.2f} trials/s{spread}"
                   + _min_rate(workload, mid))
        for other in ("tune", "tune+reuse", "ideal", "engine", "engine×n"):
            ratio, note = _ratio(rows, workload, other, mid)
            if ratio is not None:
                out.append(f"{workload:<9} service/{other:<10} x{ratio:9.2f}{note}"
                           + _verdict(ratio, TARGETS.get((workload, other))))
    return out


def _ratio(rows: list[dict[str, Any]], workload: str, other: str, service: float
           ) -> tuple[float | None, str]:
    """service/other: the median of the pairs timed together where there are pairs, else the
    median service run against the contender's first."""
    theirs = [r for r in rows if r["workload"] == workload and r["contender"] == other]
    if not theirs:
        return None, ""
    ours = {r.get("pair"): r["trials_per_s"] for r in rows
            if r["workload"] == workload and r["contender"] == "service"}
    pairs = [ours[r["pair"]] / r["trials_per_s"] for r in theirs
             if r.get("pair") is not None and r["pair"] in ours]
    if not pairs:
        return service / theirs[0]["trials_per_s"], ""
    spread = f" (pairs {min(pairs):.2f}–{max(pairs):.2f})" if len(pairs) > 1 else ""
    return statistics.median(pairs), f" median of {len(pairs)}{spread}"


def _min_rate(workload: str, value: float) -> str:
    if workload != "overhead":
        return ""
    return _verdict(value, OVERHEAD_MIN_RATE, unit=" trials/s")


def _verdict(value: float, target: float | None, unit: str = "") -> str:
    if target is None:
        return ""
    return f"   target ≥ {target:g}{unit}: {'met' if value >= target else 'MISSED'}"


def storage_lines(extra: dict[str, Any]) -> list[str]:
    storage, out = extra.get("storage"), []
    if not storage:
        return out
    n = storage["trials_stored"]
    tables = storage["tables"]
    results = sum(v for k, v in tables.items() if "result" in k)
    out.append(f"storage: database {storage['file_bytes'] / 1e6:.2f} MB (file + WAL) for {n} "
               f"stored trials = {storage['file_bytes'] / max(n, 1) / 1e3:.2f} kB per trial; "
               f"results table + indexes {results / max(n, 1) / 1e3:.2f} kB per trial")
    for name, p in storage["per_sweep"].items():
        out.append(f"  {name:<11} per result row: final weights {p['final_weights']:.0f} B, "
                   f"initial {p['initial_weights']:.0f} B, curve {p['curve']:.0f} B, "
                   f"environment {p['environment_json']:.0f} B")
    return out


def compare_lines(extra: dict[str, Any]) -> list[str]:
    out = []
    for name, c in extra.get("compare", {}).items():
        cached = statistics.median(c["cached_s"]) if c["cached_s"] else float("nan")
        verdict = ""
        if name == "large":
            verdict = f"   target < {COMPARE_MAX_S:g} s: " + (
                "met" if c["first_s"] < COMPARE_MAX_S else "MISSED")
        out.append(f"compare: GET /compare on the {name} sweep ({c['trials']} trials): "
                   f"{c['first_s']:.3f} s computed, {cached:.3f} s cached{verdict}")
    return out


def render(rows: list[dict[str, Any]], extra: dict[str, Any]) -> str:
    """The whole report as printed."""
    parts = [*header(extra), "", *rows_table(rows), "", *ratios_table(rows), "",
             *storage_lines(extra), *compare_lines(extra)]
    return "\n".join(parts)
