"""Best unit permutation for many pairs of one-hidden-layer nets: scoring all H! permutations
at once against one `scipy.optimize.linear_sum_assignment` call per pair, for H = 2 … 6.
`sweepd.analysis.distances.ENUMERATE_MAX_H` is the largest H where enumeration wins.

    .venv/bin/python bench/assignment_speed.py [--pairs 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sweepd.analysis import distances


def _best_of(repeats: int, gain: np.ndarray, limit: int) -> float:
    saved = distances.ENUMERATE_MAX_H
    distances.ENUMERATE_MAX_H = limit
    try:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            distances._best_permutations(gain)
            times.append(time.perf_counter() - start)
        return min(times)
    finally:
        distances.ENUMERATE_MAX_H = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{args.pairs} pairs, best of {args.repeats}; ratio = enumerate / assignment")
    for h in range(2, 7):
        gain = np.abs(rng.normal(size=(args.pairs, h, h)))
        enumerate_s = _best_of(args.repeats, gain, limit=10)
        assign_s = _best_of(args.repeats, gain, limit=0)
        print(f"H={h}: enumerate {enumerate_s:.4f} s, linear_sum_assignment {assign_s:.4f} s, "
              f"ratio {enumerate_s / assign_s:.2f}")


if __name__ == "__main__":
    main()
