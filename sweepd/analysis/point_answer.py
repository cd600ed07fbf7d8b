"""Which grid (or search) point is best, and is it decidedly better than the runner-up?

A sweep with several points — grid values or a search's sampled values — asks one more
question than which initializer: which setting. Each point's value is the IQM of the ranked
metric (the tail-averaged test accuracy) over all its runs that did not fail, every initializer
that works there included, so a point is not credited for one lucky initializer. The best point
is compared with the runner-up by a two-sided Mann–Whitney test on those runs (unpaired: the
points' runs share seeds but not a training path), and the difference must also clear the
ROPE (the verdict's region of practical equivalence at the best point) to count as decided.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from scipy.stats import mannwhitneyu, trim_mean

from sweepd.analysis.models import Group
from sweepd.analysis.verdict_models import PointAnswer, PointVerdict
from sweepd.analysis.verdict_text import point_name

ALPHA = 0.05
MIN_RUNS = 3  # per point, for a test to mean anything


def point_answer(groups: Sequence[Group], verdicts: Sequence[PointVerdict], *,
                 alpha: float = ALPHA) -> PointAnswer | None:
    """The best point and the runner-up, or None with fewer than two points with runs."""
    runs: dict[str, tuple[dict[str, Any], list[float]]] = {}
    failed_tier = {(point_name(v.params), r.initializer) for v in verdicts
                   for r in v.which_initializer.ranking if r.tier == "failed"}
    for group in groups:
        where = point_name(group.params)
        entry = runs.setdefault(where, (group.params, []))
        if (where, group.initializer) in failed_tier:
            continue
        entry[1].extend(t.value for t in group.trials if t.value is not None
                        and math.isfinite(t.value))
    scored = sorted(((float(trim_mean(v, 0.25)), p, v) for p, v in runs.values()
                     if len(v) >= MIN_RUNS), key=lambda s: -s[0])
    if len(scored) < 2:
        return None
    (best, best_params, best_runs), (second, second_params, second_runs) = scored[:2]
    rope = next((v.which_initializer.rope for v in verdicts if v.params == best_params), 0.0)
    p = float(mannwhitneyu(best_runs, second_runs, alternative="two-sided").pvalue)
    decided = p < alpha and best - second > rope
    name, other = point_name(best_params), point_name(second_params)
    head = (f"Best point: {name} (IQM {100 * best:.2f} % over {len(best_runs)} runs of its "
            f"working initializers, of {len(scored)} points)")
    if decided:
        tail = (f"; decidedly better than the runner-up {other} ({100 * second:.2f} %, "
                f"Mann–Whitney p = {p:.2g}, beyond the ROPE of ±{100 * rope:.2g} pp).")
    else:
        why = (f"Mann–Whitney p = {p:.2g}" if p >= alpha else
               f"a difference of {100 * (best - second):.2g} pp, inside the ROPE of "
               f"±{100 * rope:.2g} pp")
        tail = (f"; not decidedly better than the runner-up {other} ({100 * second:.2f} %, "
                f"{why}): either would do, or more seeds would tell them apart.")
    return PointAnswer(best=best_params, best_value=best, runner_up=second_params,
                       runner_up_value=second, n_points=len(scored), p_value=p, rope=rope,
                       decided=decided, sentence=head + tail)
