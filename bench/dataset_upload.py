"""Upload and parse time of a ~50 MB CSV (10⁶ rows × 4 features + a label), and the sweep
throughput on an uploaded data set against the same data built in (issue 17).

    .venv/bin/python bench/dataset_upload.py [parse] [sweep] [rows=N] [trials=N]

`parse` (default with no argument): the parse alone (sniff, pyarrow read, checks, canonical
encoding and sha256) and the whole use case into a fresh SQLite store
(`sweepd.dataset_upload.upload_dataset`), best of 3.

`sweep`: one `sweepd serve` on a local Ray head (bench/_service.py). The built-in moons data set
with `rows` points is built, written to a CSV and uploaded; then the same sweep (`trials`
trials of 2-8-1 tanh, sgd batch 64, 300 steps, 20 % test) runs on the built-in spec and on the
uploaded copy, alternately, twice each. The two train on the same points (the uploaded sweep
names them by sha256 and the dispatcher hands them to the workers through Ray's object store),
so the ratio is the cost of bringing your own data.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_service.py

from sweepd.dataset_parse import DatasetLimits, parse_dataset, sniff_format
from sweepd.dataset_upload import upload_dataset
from sweepd.settings import Settings
from sweepd.storage.schema import open_store
from sweepd.uploaded import encode


def make_csv(rows: int = 1_000_000) -> bytes:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((rows, 4)).round(8), columns=list("abcd"))
    frame["label"] = rng.integers(0, 2, rows)
    return frame.to_csv(index=False).encode()


def _arg(name: str, default: int) -> int:
    return next((int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith(f"{name}=")),
                default)


def sweep_throughput(rows: int, trials: int) -> None:
    from _service import RayHead, Service

    from sweepd.datasets import load
    from sweepd.spec import DatasetSpec, SweepSpec

    built = DatasetSpec(name="moons", n_samples=rows, noise=0.2, seed=0, test_fraction=0.0)
    data = load(built)
    frame = pd.DataFrame(data.x_train, columns=["x0", "x1"])
    frame["label"] = data.y_train
    csv = frame.to_csv(index=False).encode()
    base = {"model": {"hidden": [8], "activation": "tanh"},
            "training": {"optimizer": "sgd", "batch_size": 64, "learning_rate": 0.1,
                         "steps": 300},
            "seeds": {"count": trials // 2}, "initializers": ["glorot_uniform", "he_normal"]}
    head = RayHead(2).start()
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(head.address, Path(tmp) / "data").start()
        try:
            record = service.client.upload_dataset(path=_write(Path(tmp), csv),
                                                   target="label")
            specs = {
                "built-in": SweepSpec.model_validate({
                    **base, "name": "built", "dataset": {
                        "name": "moons", "n_samples": rows, "noise": 0.2, "seed": 0,
                        "test_fraction": 0.2}}),
                "uploaded": SweepSpec.model_validate({
                    **base, "name": "uploaded", "dataset": {
                        "name": "uploaded", "id": record.sha256, "seed": 0,
                        "test_fraction": 0.2}})}
            rates: dict[str, list[float]] = {k: [] for k in specs}
            for _ in range(2):
                for label, spec in specs.items():
                    run = service.run_sweep(spec)
                    rates[label].append(run.n_trials / run.server_seconds)
        finally:
            service.stop()
            head.stop()
    best = {k: max(v) for k, v in rates.items()}
    print(f"Sweep on {rows:,} rows (CSV {len(csv) / 1e6:.1f} MB), {trials} trials × 300 sgd "
          f"steps, best of 2: built-in {best['built-in']:.2f} trials/s, uploaded "
          f"{best['uploaded']:.2f} trials/s ({best['uploaded'] / best['built-in']:.2f}×)")


def _write(folder: Path, csv: bytes) -> Path:
    path = folder / "moons.csv"
    path.write_bytes(csv)
    return path


def main() -> None:
    modes = {a for a in sys.argv[1:] if "=" not in a} or {"parse"}
    if "parse" in modes:
        parse_speed()
    if "sweep" in modes:
        sweep_throughput(_arg("rows", 100_000), _arg("trials", 16))


def parse_speed() -> None:
    data = make_csv()
    settings = Settings(max_dataset_bytes=64 << 20)
    parse_times, upload_times = [], []
    for i in range(3):
        start = time.perf_counter()
        parsed = parse_dataset(data, fmt=sniff_format(data), target="label",
                               limits=DatasetLimits.from_settings(settings))
        encode(parsed.x, parsed.y)
        parse_times.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(f"sqlite:///{Path(tmp) / 'b.db'}", auto_migrate=True)
            owner = store.create_user(f"u{i}").id
            start = time.perf_counter()
            upload_dataset(store, settings, owner, data, target="label", filename="big.csv")
            upload_times.append(time.perf_counter() - start)
            store.dispose()
    print(f"CSV {len(data) / 1e6:.1f} MB, {parsed.x.shape[0]:,} rows × {parsed.x.shape[1]} "
          f"features: parse+encode {min(parse_times):.2f} s, upload into SQLite "
          f"{min(upload_times):.2f} s (best of 3)")


if __name__ == "__main__":
    main()
