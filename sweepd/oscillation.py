"""Period-2 oscillation at the end of training, told from consecutive steps (issue 11).

Full-batch gradient descent at a large learning rate ends at the edge of stability (Cohen et
al. 2021): the top Hessian eigenvalue sits at 2/lr and the iterates hop between two phases
every step. A curve sampled every even number of steps sees one phase only, so the check
needs values of consecutive steps. For a 2-cycle the values two steps apart agree while
neighbours differ; for a smooth descent the two-step change is about twice the one-step one.

Pure Python: the engine (torch) and the analysis (NumPy) both use it.
"""

from __future__ import annotations

from collections.abc import Sequence

TWO_STEP_SHARE = 0.5  # a 2-cycle: mean |x_t − x_{t−2}| below half of mean |x_t − x_{t−1}|
RELATIVE_FLOOR = 1e-7  # one-step changes below this share of |mean| are float noise, not a cycle


def phase_gap(values: Sequence[float]) -> float:
    """|mean of the even positions − mean of the odd positions| (0 for fewer than 2 values)."""
    even, odd = values[0::2], values[1::2]
    if not even or not odd:
        return 0.0
    return abs(sum(even) / len(even) - sum(odd) / len(odd))


def is_period_two(values: Sequence[float]) -> bool:
    """True when consecutive values alternate between two phases.

    Args:
        values: one value per consecutive step (at least 4), e.g. the training cost after each
            of the last 8 steps.

    Returns:
        False for fewer than 4 values, for a flat sequence, or for a smooth trend.
    """
    if len(values) < 4:
        return False
    one = [abs(b - a) for a, b in zip(values, values[1:])]
    two = [abs(b - a) for a, b in zip(values, values[2:])]
    mean_one, mean_two = sum(one) / len(one), sum(two) / len(two)
    scale = abs(sum(values) / len(values))
    if mean_one <= RELATIVE_FLOOR * max(scale, 1e-12):
        return False
    return mean_two < TWO_STEP_SHARE * mean_one
