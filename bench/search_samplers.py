"""Points a sampler needs to reach the optimum region of a noisy synthetic objective.

The objective (tests/unit/test_search.py): a point's IQM over 5 seeds of an accuracy that is
best at learning rate 10^-0.3 and momentum 0.9, with seed noise of sd 0.004; the optimum region
is 1 % of the space. Each repeat runs a search with its own `search.seed` until a point lands in
the region (at most 150 points).

    .venv/bin/python bench/search_samplers.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.test_search import points_to_optimum  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"points to the optimum region (1 % of the space), {args.repeats} repeats, cap 150")
    for sampler in ("random", "qmc", "tpe", "cmaes"):
        start = time.perf_counter()
        found = [points_to_optimum(sampler, r) for r in range(args.repeats)]
        print(f"{sampler:>7}: median {statistics.median(found):5.1f}  quartiles "
              f"{statistics.quantiles(found, n=4)[0]:5.1f}–{statistics.quantiles(found, n=4)[2]:5.1f}"
              f"  never {sum(f == 150 for f in found):2d}  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
