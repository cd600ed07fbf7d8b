"""bench/service_vs_tune.py in a tiny configuration, so that the benchmark cannot rot.

It joins the session's Ray cluster (no head of its own), runs 1- to 4-trial sweeps through a real
`sweepd serve`, the plain-loop and engine contenders, and Ray Tune on one trial when
`ray[tune]` is installed. Nothing here is timed: speed is measured by hand (bench/RESULTS.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--cores", "2", "--initializers", "1", "--moons-steps", "20", "--moons-seeds", "1",
        "--overhead-trials", "4", "--compare-seeds", "2", "--compare-steps", "5",
        "--tune-workloads", "overhead", "--tune-variants", "default",
        "--tune-overhead-trials", "1",
        "--ideal-moons-trials", "1", "--ideal-overhead-trials", "2"]


def _tune_installed() -> bool:
    try:
        import ray.tune  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.ray
def test_run_bench_service_vs_tune_tiny_configuration(ray_address: str, tmp_path: Path):
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "service_vs_tune.py"), *TINY,
         "--ray-address", ray_address, "--json", str(figures)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    data = json.loads(figures.read_text())
    rows = {(r["workload"], r["contender"]): r for r in data["rows"]}
    tune = {"tune"} if _tune_installed() else set()
    engines = {"engine", "engine×n"}  # one process per core at once, and one alone × cores
    assert {c for w, c in rows if w == "moons"} == {"ideal", *engines, "service"}
    assert {c for w, c in rows if w == "overhead"} == {"ideal", *engines, "service", *tune}
    # The engine that runs its processes at once is timed beside each service run, its pair.
    for workload in ("moons", "overhead"):
        assert rows[(workload, "engine")]["pair"] == rows[(workload, "service")]["pair"] == 0
        assert "2 processes at once" in rows[(workload, "engine")]["note"]
    assert "service/engine     x" in done.stdout and "median of 1" in done.stdout
    assert rows[("moons", "service")]["trials"] == 1
    assert rows[("overhead", "service")]["trials"] == 4
    assert all(r["trials_per_s"] > 0 for r in data["rows"])
    # Every service trial was stored with its weights (warm-up 2 + moons 1 + overhead 4 +
    # compare 2), and the comparison answered on both sweeps.
    assert data["storage"]["trials_stored"] == 9
    assert all(s["stored_with_weights"] == s["n_trials"] for s in data["sweeps"].values())
    assert data["compare"]["large"]["trials"] == 2
    assert "service/ideal" in done.stdout and "trials/s" in done.stdout


@pytest.mark.ray
@pytest.mark.postgres
def test_run_bench_scale_small_mode(ray_address: str, tmp_path: Path):
    """bench/scale.py at 10³ and 10⁴ one-step trials on both databases (no timing asserts)."""
    figures = tmp_path / "scale.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale.py"), "--sizes", "1000", "10000",
         "--databases", "sqlite", "postgresql", "--ray-address", ray_address,
         "--json", str(figures)],
        cwd=ROOT / "bench", capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(figures.read_text())
    assert set(data) == {"sqlite", "postgresql"}
    for by_size in data.values():
        assert set(by_size) == {"1000", "10000"}
        for row in by_size.values():
            assert row["trials/s"] > 0 and row["bytes/trial"] > 0 and row["peak RSS MB"] > 0
            assert 0 < row["web first screen s"] <= row["web all drawn s"]
    assert "| submit s |" in done.stdout and "k 1000→10000" in done.stdout


def test_run_bench_compare_scale_over_the_sampling_threshold(tmp_path: Path):
    """bench/compare_scale.py on a 5 000-trial store (sampled): no Ray, no timing asserts."""
    figures = tmp_path / "compare.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare_scale.py"), "--n", "5000",
         "--dir", str(tmp_path), "--repeats", "2", "--json", str(figures)],
        cwd=ROOT / "bench", capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(figures.read_text())
    assert data["identical"] == 1.0 and data["compare cold s"] > 0
    assert "note: sampled sweep: 5000 trials" in done.stdout
