"""The verdict's view of one initializer at one grid point (an "arm"): its runs' ranked values,
whether it fails structurally and why, its outliers (black swans), and whether its runs still
move. `sweepd.analysis.verdict` ranks the arms and words the answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sweepd.analysis import inference as inf
from sweepd.analysis.models import Group, TrialDiagnostics
from sweepd.analysis.verdict_models import Outlier

CONVERGED_TAIL_CHANGE = 1e-4  # relative cost change over the curve's tail: "stopped moving"
OUTLIER_IQRS = 3.0  # below median − max(3 IQR, 2 ROPE): a black swan
OUTLIER_ROPES = 2.0
FAILED_SHARE = 0.5  # a structural failure in more than half the runs fails the initializer


@dataclass
class Arm:
    """One initializer at one grid point, with what the ranking needs."""

    group: Group
    metric: str  # the ranked metric's key in group.stats
    values: np.ndarray  # ranked metric of its runs with a finite value
    failure: str | None
    outliers: list[Outlier]
    still_moving: bool
    change: float | None

    @property
    def label(self) -> str:
        return self.group.initializer

    @property
    def iqm(self) -> float | None:
        return inf.iqm(self.values) if self.values.size else None


def make_arm(group: Group, metric: str) -> Arm:
    runs = [d for d in group.trials if d.value is not None and not d.diverged]
    changes = [d.tail_change for d in group.trials if d.tail_change is not None]
    change = float(np.median(changes)) if changes else None
    return Arm(group=group, metric=metric, values=np.array([d.value for d in runs], dtype=np.float64),
                failure=_failure(group), outliers=[],
                still_moving=change is not None and change > CONVERGED_TAIL_CHANGE,
                change=change)


def _failure(group: Group) -> str | None:
    """The reason an initializer fails, in words, or None when it works."""
    done, f = group.trials, group.failures
    width = _hidden_width(group)
    if group.n_trials and not done:
        return "no run finished (every trial failed)"
    if not done:
        return None
    share = FAILED_SHARE * len(done)
    units = _typical_units(done)
    if f.symmetry_never_broken > share:
        if units == 0:
            return ("no hidden unit gets a gradient: a constant predictor, cost "
                    f"{_cost(group)}{_ln2(group)}")
        return f"all hidden units stay identical: {_units(units)} of {width}"
    if f.dead_units > share:
        dead = int(np.median([d.dead_units for d in done]))
        return f"{dead} of {width} hidden units never move: {_units(units)}"
    if f.diverged > share:
        return f"{f.diverged} of {len(done)} runs diverged"
    if f.stuck_at_chance > share:
        return (f"{f.stuck_at_chance} of {len(done)} runs are stuck at chance accuracy (no "
                "better than always predicting the majority class)")
    return None


def _hidden_width(group: Group) -> int:
    """Units of the first hidden layer."""
    return group.hidden[0] if group.hidden else 0


def _typical_units(done: Sequence[TrialDiagnostics]) -> int:
    counts = [d.effective_units[0] for d in done if d.effective_units]
    return int(np.median(counts)) if counts else 0


def _units(n: int) -> str:
    return f"{n} effective unit{'s' if n != 1 else ''}"


def _ln2(group: Group) -> str:
    s = group.stats.get("train_cost_tail")
    return " = ln 2" if s is not None and s.mean is not None and abs(s.mean - math.log(2)) < 5e-3 \
        else ""


def _cost(group: Group) -> str:
    s = group.stats.get("train_cost_tail")
    return "–" if s is None or s.mean is None else f"{s.mean:.3f}"


def find_outliers(arm: Arm, rope: float) -> list[Outlier]:
    """Runs far below the median (black swans) and runs that diverged or sit at chance."""
    out: list[Outlier] = []
    if arm.values.size >= 3:
        q1, median, q3 = np.percentile(arm.values, [25, 50, 75])
        cut = median - max(OUTLIER_IQRS * (q3 - q1), OUTLIER_ROPES * rope)
        out += [Outlier(trial_id=d.trial_id, seed=d.seed, value=d.value,
                        why=f"{pp(median - d.value)} below the median")
                for d in arm.group.trials
                if d.value is not None and not d.diverged and d.value < cut]
    seen = {o.trial_id for o in out}
    for d in arm.group.trials:
        if d.trial_id not in seen and (d.diverged or d.stuck_at_chance):
            out.append(Outlier(trial_id=d.trial_id, seed=d.seed,
                               value=None if d.diverged else d.value,
                               why="diverged" if d.diverged else "stuck at chance"))
    return sorted(out, key=lambda o: o.seed)


def pp(value: float, *, signed: bool = False) -> str:
    """A difference of accuracies in percentage points."""
    return f"{value * 100:+.2f} pp" if signed else f"{abs(value) * 100:.2f} pp"
