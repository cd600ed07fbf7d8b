"""Upload and parse time of a ~50 MB CSV (10⁶ rows × 4 features + a label; issue 17).

    .venv/bin/python bench/dataset_upload.py

Prints the parse alone (sniff, pyarrow read, checks, canonical encoding and sha256) and the
whole use case into a fresh SQLite store (`sweepd.dataset_upload.upload_dataset`), best of 3.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

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


def main() -> None:
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
