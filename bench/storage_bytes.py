"""Bytes per stored trial of the seed example (issue 19, item 4), by what a result row holds.

    .venv/bin/python bench/storage_bytes.py [steps=10000] [seeds=8]

Trains the seed example (moons 2-4-1 tanh, 16 initializers × `seeds` seeds, full-batch gd)
through `run_batch`, stores every result through the store's claim/record path into a fresh
SQLite database, and prints the database bytes per trial (file after a checkpoint and VACUUM,
less the same database without results) with the payload per row: final and initial weights,
the curve (as stored, and as the JSON text it was stored as before schema 0009), and how many
distinct weight files the trials have (degenerate initializers end identical across seeds) and
how many files the database keeps (each sha256 once, since schema 0010).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_workloads.py

from _workloads import moons_spec  # noqa: E402

from sweepd.engine import run_batch  # noqa: E402
from sweepd.records import ResultItem  # noqa: E402
from sweepd.storage.schema import open_store  # noqa: E402


def _arg(name: str, default: int) -> int:
    return next((int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith(f"{name}=")),
                default)


def _size(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
    return path.stat().st_size


def main() -> None:
    spec = moons_spec(steps=_arg("steps", 10_000), seeds=_arg("seeds", 8))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sweepd.db"
        store = open_store(f"sqlite:///{path}", auto_migrate=True)
        owner = store.create_user("bench").id
        sweep, _ = store.submit_sweep(owner, spec)
        store.dispose()
        empty = _size(path)
        store = open_store(f"sqlite:///{path}", auto_migrate=False)
        started, stored = time.perf_counter(), 0
        while batches := store.claim_trials(holder="bench", max_trials=256, max_batch=256,
                                            lease_seconds=600):
            for batch in batches:
                by_key = defaultdict(list)
                for claimed in batch.trials:
                    by_key[claimed.spec.batch_key].append(claimed)
                for claimed_list in by_key.values():
                    results = run_batch([c.spec for c in claimed_list])
                    store.record_results([
                        ResultItem(trial_id=c.trial_id, attempt=c.attempt, result=r,
                                   node="bench", device="cpu")
                        for c, r in zip(claimed_list, results)])
                    stored += len(results)
        seconds = time.perf_counter() - started
        trials, _ = store.list_trials(owner, sweep.id, limit=spec.n_trials, offset=0)
        store.dispose()
        with sqlite3.connect(path) as db:
            rows = db.execute(
                "SELECT length(f.data), coalesce(length(i.data), 0), length(r.curve),"
                " r.final_sha256 FROM results r JOIN weight_blobs f ON f.sha256 = r.final_sha256"
                " LEFT JOIN weight_blobs i ON i.sha256 = r.initial_sha256").fetchall()
            blobs, blob_bytes = db.execute(
                "SELECT count(*), sum(length(data)) FROM weight_blobs").fetchone()
        full = _size(path)
    n = len(rows)
    weights = sum(r[0] for r in rows) / n
    initial = sum(r[1] for r in rows) / n
    curve = sum(r[2] for r in rows) / n
    as_json = sum(len(json.dumps(t.result.curve)) for t in trials) / n
    distinct = len({r[3] for r in rows})
    print(f"{spec.name}: {n} trials trained and stored in {seconds:.1f} s")
    print(f"database: {(full - empty) / n:,.0f} bytes per trial ({full:,} bytes, "
          f"{empty:,} before any result)")
    print(f"per result row: final weights {weights:.0f} B, initial weights {initial:.0f} B, "
          f"curve {curve:.0f} B as stored ({as_json:.0f} B as JSON text), "
          f"{len(trials[0].result.curve)} points")
    print(f"distinct final weight files: {distinct} of {n} trials; weight files stored: "
          f"{blobs} ({blob_bytes / n:.0f} B per trial, against {weights + initial:.0f} B "
          "stored once per trial)")


if __name__ == "__main__":
    main()
