"""What "seeds until decided" costs, simulated: the anytime-valid rule of
`sweepd.analysis.sequential` on unit-normal outcome streams with a known P(A > B), blocks of
10 seeds from 10 up to a cap of 200, α = 0.05. Prints, per ROPE (in units of the seed spread
σ), the false-winner rate under no difference and the seeds per arm to a decision, next to a
fixed-design test's figures (/work/shared/LIBRARIES.md); writes nothing.

    .venv/bin/python bench/sequential_rule.py [--runs 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import stats

from sweepd.analysis import sequential as sq

ALPHA, INITIAL, STEP, MAX_SEEDS = 0.05, 10, 10, 200
TRUTHS = (0.95, 0.85, 0.75, 0.65, 0.5)  # P(A > B); 0.5 is no difference
FIXED_DESIGN = {0.95: 7, 0.85: 16, 0.75: 29, 0.65: 72, 0.5: 49}  # LIBRARIES.md, fixed design
ROPES = (0.1, 0.5)  # × σ


def simulate(p: float, rope: float, runs: int, alpha: float,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The state at each run's stop and the seeds per arm it used."""
    mu = math.sqrt(2) * float(stats.norm.ppf(p))
    a, b = rng.normal(mu, 1, (runs, MAX_SEEDS)), rng.normal(0, 1, (runs, MAX_SEEDS))
    sizes = sq.block_sizes(MAX_SEEDS, initial=INITIAL, step=STEP, max_seeds=MAX_SEEDS)
    codes = sq.look_states(a, b, rope=rope, alpha=alpha, sizes=sizes)
    decided = codes != sq.UNDECIDED
    first = np.where(decided.any(1), decided.argmax(1), codes.shape[1] - 1)
    return codes[np.arange(runs), first], np.cumsum(sizes)[first]


def row(p: float, rope: float, runs: int, alpha: float, rng: np.random.Generator) -> str:
    state, seeds = simulate(p, rope, runs, alpha, rng)
    share = {code: float(np.mean(state == code)) for code in
             (sq.A_BETTER, sq.B_BETTER, sq.EQUIVALENT, sq.UNDECIDED)}
    truth = "equal" if p == 0.5 else f"{p:.2f}"
    return (f"{truth:>6} {np.median(seeds):>7.0f} {np.percentile(seeds, 90):>5.0f} "
            f"{FIXED_DESIGN[p]:>6} {share[sq.A_BETTER]:>8.1%} {share[sq.B_BETTER]:>8.1%} "
            f"{share[sq.EQUIVALENT]:>7.1%} {share[sq.UNDECIDED]:>7.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"# {args.runs} runs per row; blocks {INITIAL} + {STEP}·j up to {MAX_SEEDS} seeds per "
          f"arm; outcomes N(μ, 1) vs N(0, 1)")
    for arms in (2, 16):
        pairs = arms * (arms - 1) // 2
        level = ALPHA / pairs
        for rope in ROPES:
            print(f"\n## ROPE {rope}σ, {arms} arms: each pair at α = {ALPHA}/{pairs} = {level:.2g}")
            print(" P(A>B)  median   p90  fixed  A better B better  equiv.  at max")
            for p in TRUTHS if arms == 2 else (0.95, 0.75, 0.5):
                print(row(p, rope, args.runs, level, rng))
    for rope in (1e-9, ROPES[0]):  # 1e-9σ: a winner as soon as the sequence excludes 0
        state, _ = simulate(0.5, rope, args.runs, ALPHA, rng)
        wrong = np.isin(state, (sq.A_BETTER, sq.B_BETTER))
        high = stats.binomtest(int(wrong.sum()), args.runs).proportion_ci().high
        print(f"false-winner rate, equal arms, ROPE {rope:g}σ, α = {ALPHA}: {wrong.mean():.2%} of "
              f"{args.runs} runs (Clopper–Pearson 95 % upper bound {high:.2%})")

if __name__ == "__main__":
    main()
