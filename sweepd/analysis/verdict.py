"""The verdict: "is it OK that the weights differ, and which initializer should I use?" answered
first, in a few sentences, from a sweep's comparison (issue 11).

Per grid point, three parts:

1. Is it OK? Over the initializers that work: *same solution* (aligned distances within the
   tolerance: the weights differ only by the network's symmetry), *equally good solutions*
   (what alignment leaves computes the same function: disagreement below the test set's noise),
   *some seeds land in worse solutions* (outliers, named with their seeds), or *cannot tell yet*
   (the runs are still moving, or the worse runs have not settled).
2. Which initializer? Tiers: *failed* (a structural failure in most runs, with the reason),
   *worse* (Mann–Whitney against the best, Holm-adjusted, and a shift beyond the ROPE),
   *equivalent* (TOST: the 90 % Hodges–Lehmann interval of the shift inside ±ROPE),
   *undecided*.
   Runs are unpaired: a seed draws different initial weights under each initializer, and with
   full-batch training there is no data order to share, so seeds pair nothing.
3. How many more seeds? Per undecided comparison, the seeds the test that was used needs at
   the observed effect (Noether for Mann–Whitney; the TOST width for equivalence).

Everything ranks on the accuracy averaged over the last steps (`TrialResult.tail`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sweepd.analysis import inference as inf
from sweepd.analysis.models import Comparison, Group
from sweepd.analysis.point_answer import point_answer
from sweepd.analysis.stats import binomial_se
from sweepd.analysis.verdict_arms import (
    CONVERGED_TAIL_CHANGE,
    Arm,
    find_outliers,
    make_arm,
    pp,
)
from sweepd.analysis.verdict_models import (
    TIER_ORDER,
    ChoiceAnswer,
    MoreSeedsAnswer,
    PointVerdict,
    Ranked,
    SeedsNeeded,
    SolutionsAnswer,
    Verdict,
    WeightEvidence,
)
from sweepd.analysis.verdict_text import (
    point_text,
    solutions_sentence,
    sweep_text,
    variance_sentence,
)

__all__ = ["CONVERGED_TAIL_CHANGE", "build_verdict"]

STILL_LEARNING = 1e-2  # ... above this the runs are still learning: nothing can be told yet
ROPE_MIN = 0.001  # 0.1 percentage points
NOISE_BAND = 2.0  # same function: disagreement within 2 binomial SE (the test set's 95 % band)
# The frameworks' defaults, the last tie-break: Keras (glorot_uniform), then PyTorch.
DEFAULTS = ("glorot_uniform", "torch_default")
DEFAULT_NAMES = {"glorot_uniform": "Keras's default", "torch_default": "PyTorch's default"}


@dataclass(frozen=True)
class GrowHint:
    """How the sweep behind a comparison can get more seeds, for the verdict's command."""

    sweep_id: int
    how: str  # "add" (POST /seeds, `sweepd seeds add`), "adaptive" or "resubmit"


def build_verdict(comparison: Comparison, *, rope: float | None = None,
                  alpha: float = inf.ALPHA, grow: GrowHint | None = None) -> Verdict:
    """The verdict of a comparison, per grid point.

    Args:
        comparison: `compare_sweep`'s result (groups with per-trial diagnostics).
        rope: region of practical equivalence (default: the larger of the evaluation set's
            binomial SE at the best accuracy and 0.1 percentage points).
        alpha: the tests' level.
        grow: how the sweep can grow (the "more seeds" line names that command); None: the
            spec submitted again with more seeds.

    Returns:
        The Verdict; its `text` leads with the answer in at most about eight sentences.

    Raises:
        ValueError: rope ≤ 0 or alpha outside (0, 1).
    """
    if rope is not None and not (math.isfinite(rope) and rope > 0):
        raise ValueError("rope must be a positive number")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    points: dict[str, list[Group]] = {}
    for group in comparison.groups:
        points.setdefault(json.dumps(group.params, sort_keys=True), []).append(group)
    verdicts = [_point(groups, comparison, rope, alpha, grow) for groups in points.values()]
    best = point_answer(comparison.groups, verdicts, alpha=alpha) if len(verdicts) > 1 else None
    text = sweep_text(verdicts, comparison.partial)
    if comparison.variance is not None:  # the sweep crosses random factors (issue 16)
        text = f"{text}\n\n{variance_sentence(comparison.variance)}"
    return Verdict(text=f"{best.sentence}\n\n{text}" if best else text, best_point=best,
                   points=verdicts, partial=comparison.partial)


def _point(groups: list[Group], comparison: Comparison, rope: float | None,
           alpha: float, grow: GrowHint | None) -> PointVerdict:
    arms = [make_arm(g, comparison.ranked_metric) for g in groups]
    working = [a for a in arms if a.failure is None and a.values.size]
    best = max(working, key=lambda a: (a.values.size >= 2, a.iqm), default=None)
    width, width_reason = _rope(best, comparison.n_eval, comparison.accuracy_on, rope,
                                regression="_r2" in comparison.ranked_metric)
    for arm in working:
        arm.outliers = find_outliers(arm, width)
    ranking = _rank(arms, best, width, alpha)
    choice = _choice(ranking, arms, best, width, width_reason, comparison, alpha)
    sample = comparison.sample  # a large sweep's comparison uses a random sample of its seeds
    scale = sample.n_keys / sample.n_keys_sampled if sample and sample.n_keys_sampled else None
    needed = _seeds_needed(ranking, arms, best, width, alpha, grow, scale)
    more = MoreSeedsAnswer(sentence=_more_sentence(needed, choice), needed=needed)
    solutions = _solutions(working, comparison)
    params = dict(groups[0].params)
    return PointVerdict(params=params, is_it_ok=solutions, which_initializer=choice,
                        more_seeds=more, text=point_text(params, solutions, choice, more))


REGRESSION_ROPE = 0.01  # R² differences within this count as equivalent (issue 17)


def _rope(best: Arm | None, n_eval: int, on: str, rope: float | None, *,
          regression: bool = False) -> tuple[float, str]:
    if rope is not None:
        return rope, f"±{pp(rope)}, as asked"
    if regression:  # R² has no binomial noise to size the band by
        return REGRESSION_ROPE, (f"±{pp(REGRESSION_ROPE)} of R² (the default for a regression "
                                 "target; pass rope= to change it)")
    mean = float(best.values.mean()) if best is not None else 0.5
    se = binomial_se(min(1.0, max(0.0, mean)), n_eval)
    if se >= ROPE_MIN:
        return se, (f"±{pp(se)}: the binomial standard error of {mean:.2%} accuracy on "
                    f"{n_eval} {on} points")
    return ROPE_MIN, "±0.1 pp (the floor; the test set's binomial SE is smaller)"


# -- part 2: which initializer -------------------------------------------------------------


def _rank(arms: list[Arm], best: Arm | None, rope: float, alpha: float) -> list[Ranked]:
    rivals = [a for a in arms if a is not best and a.failure is None and a.values.size]
    testable = [a for a in rivals if best is not None and best.values.size and a.values.size]
    raw_p = [inf.mann_whitney_p(best.values, a.values) for a in testable] if best else []
    holm = dict(zip((a.label for a in testable), inf.holm(raw_p))) if raw_p else {}
    rows = [_row(a, best, rope, alpha, holm.get(a.label)) for a in arms]
    return sorted(rows, key=lambda r: (TIER_ORDER.index(r.tier),
                                       -(r.iqm if r.iqm is not None else -math.inf)))


def _row(arm: Arm, best: Arm | None, rope: float, alpha: float,
         p_holm: float | None) -> Ranked:
    summary = arm.group.stats.get(arm.metric)
    base = dict(initializer=arm.label, n=int(arm.values.size), iqm=arm.iqm,
                mean=float(arm.values.mean()) if arm.values.size else None,
                std=float(arm.values.std(ddof=1)) if arm.values.size > 1 else None,
                worst=float(arm.values.min()) if arm.values.size else None,
                n_outliers=len(arm.outliers), n_failed=arm.group.failures.any,
                n_runs=_ended(arm.group),
                **dict(zip(("failed_ci_low", "failed_ci_high"),
                           inf.clopper_pearson(arm.group.failures.any, _ended(arm.group)))),
                effective_units=_units_key(arm.group), still_moving=arm.still_moving,
                ci_low=summary.iqm_ci_low if summary else None,
                ci_high=summary.iqm_ci_high if summary else None)
    if arm.failure is not None:
        return Ranked(tier="failed", reason=arm.failure, **base, **_no_test())
    if arm is best:
        return Ranked(tier="best", reason="the highest interquartile mean", **base, **_no_test())
    if best is None or best.values.size < 2 or arm.values.size < 2:
        return Ranked(tier="undecided", reason="fewer than two runs to compare", **base,
                      **_no_test())
    test = _test(best, arm, rope, p_holm)
    tier, reason = _tier(test, rope, alpha)
    return Ranked(tier=tier, reason=reason, **base, **test)


def _ended(group: Group) -> int:
    """Trials that have ended: with a result, or failed without one."""
    return group.n_finished + group.failures.failed


def _no_test() -> dict[str, None]:
    return dict(p_best_beats=None, p_ci_low=None, p_ci_high=None, p_holm=None,
                difference=None, difference_low=None, difference_high=None)


def _test(best: Arm, arm: Arm, rope: float, p_holm: float | None) -> dict[str, float | None]:
    p = inf.probability_of_improvement(best.values, arm.values)
    low, high = inf.newcombe_interval(p, best.values.size, arm.values.size)
    diff = inf.hodges_lehmann(best.values, arm.values, level=1 - 2 * inf.ALPHA)
    return dict(p_best_beats=p, p_ci_low=low, p_ci_high=high, p_holm=p_holm,
                difference=diff.estimate, difference_low=diff.low, difference_high=diff.high)


def _tier(test: dict[str, float | None], rope: float, alpha: float) -> tuple[str, str]:
    diff, low, high, p = (test["difference"], test["difference_low"], test["difference_high"],
                          test["p_holm"])
    assert diff is not None and low is not None and high is not None
    if -rope < low and high < rope:
        return "equivalent", (f"within ±{pp(rope)} of the best (90 % interval of the "
                              f"shift {pp(low, signed=True)} to {pp(high, signed=True)})")
    if p is not None and p < alpha and diff > rope:
        return "worse", (f"{pp(diff)} below the best (Mann–Whitney, Holm-adjusted "
                         f"p = {p:.2g}; P(best > it) = {test['p_best_beats']:.2f})")
    return "undecided", (f"{pp(diff, signed=True)} from the best; neither a difference "
                         f"beyond ±{pp(rope)} nor equivalence is shown yet")


def _units_key(group: Group) -> str | None:
    if group.solutions is not None and group.solutions.effective_units:
        return next(iter(group.solutions.effective_units))
    counts = [d.effective_units for d in group.trials if d.effective_units]
    return "-".join(map(str, counts[0])) if counts else None


def _choice(ranking: list[Ranked], arms: list[Arm], best: Arm | None, rope: float,
            rope_reason: str, comparison: Comparison, alpha: float) -> ChoiceAnswer:
    top = [r for r in ranking if r.tier in ("best", "equivalent")]
    pick = min(top, key=lambda r: _robustness(r, top, rope)) if top else None
    warnings = _warnings(ranking, arms, best)
    recommendation = _recommend(pick, top, ranking) if pick else None
    metric = comparison.ranked_metric
    return ChoiceAnswer(
        metric=metric, larger_is_better=True, rope=rope, rope_reason=rope_reason,
        method=("Mann–Whitney U against the best, Holm-adjusted over the comparisons "
                f"(α = {alpha:g}); P(best > other) = U/(n·m) with Newcombe's score interval; "
                "equivalence by two one-sided tests (90 % Hodges–Lehmann interval of the shift "
                "inside the ROPE)"),
        design="unpaired",
        design_reason=("a seed draws different initial weights under each initializer and "
                       "shares no data draw, so seeds do not pair runs across initializers"),
        ranking=ranking, recommendation=recommendation,
        recommended=[pick.initializer] if pick else [],
        sentence=_tiers_sentence(ranking, rope) + _failures_sentence(ranking),
        warnings=warnings,
    )


def _robustness(row: Ranked, top: list[Ranked], rope: float) -> tuple[float, ...]:
    """Fewest outliers, then the best worst case (worst cases within one ROPE of the best
    worst case tie: such differences are test-set noise), then a framework default, then the
    IQM."""
    default = DEFAULTS.index(row.initializer) if row.initializer in DEFAULTS else len(DEFAULTS)
    best_worst = max((r.worst for r in top if r.worst is not None), default=0.0)
    worst = row.worst if row.worst is not None else -math.inf
    return (row.n_outliers, math.floor((best_worst - worst) / rope), default,
            -(row.iqm or 0.0))


def _recommend(pick: Ranked, top: list[Ranked], ranking: list[Ranked]) -> str:
    why = [f"one of {len(top)} practically equivalent initializers" if len(top) > 1
           else "the best"]
    why.append("with no outlier seed" if pick.n_outliers == 0 else
               f"with {pick.n_outliers} outlier seed{'s' if pick.n_outliers != 1 else ''}")
    if pick.initializer in DEFAULT_NAMES:
        why.append(f"and {DEFAULT_NAMES[pick.initializer]}")
    elif len(top) > 1:
        why.append("and the best worst case")
    undecided = [r.initializer for r in ranking if r.tier == "undecided"]
    tail = f"; {_names(undecided)} not yet told apart from it" if undecided else ""
    return f"Use {pick.initializer} — {', '.join(why)}{tail}."


def _tiers_sentence(ranking: list[Ranked], rope: float) -> str:
    """"Practically equivalent (...): a, b; undecided: c; worse: d." — tier by tier."""
    by_tier = {t: [r.initializer for r in ranking if r.tier == t] for t in TIER_ORDER}
    top = by_tier["best"] + by_tier["equivalent"]
    working = len(ranking) - len(by_tier["failed"])
    parts = []
    if len(top) > 1:
        who = f"all {working} working initializers" if len(top) == working else _names(top)
        parts.append(f"Practically equivalent (within ±{pp(rope)} of the best): {who}")
    elif top:
        parts.append(f"Best: {top[0]}")
    if by_tier["undecided"]:
        parts.append(f"undecided: {_names(by_tier['undecided'])}")
    if by_tier["worse"]:
        parts.append(f"worse: {_names(by_tier['worse'])}")
    if not parts:
        return "Nothing to rank yet." if not by_tier["failed"] else ""
    return "; ".join(parts) + "."


def _failures_sentence(ranking: list[Ranked]) -> str:
    """" Failed: ones (<reason>); zeros and constant (<reason>)." — grouped by reason."""
    reasons: dict[str, list[str]] = {}
    for row in ranking:
        if row.tier == "failed":
            reasons.setdefault(row.reason, []).append(row.initializer)
    if not reasons:
        return ""
    parts = [f"{_names(labels, conjunction=True)} ({reason})" for reason, labels in reasons.items()]
    return " Failed: " + "; ".join(parts) + "."


def _warnings(ranking: list[Ranked], arms: list[Arm], best: Arm | None) -> list[str]:
    """Under-training first: a worse initializer whose runs still move may only be slow."""
    by_label = {a.label: a for a in arms}
    moving = [a for a in arms if a.failure is None and a.still_moving]
    out = []
    slow = [by_label[r.initializer] for r in ranking
            if r.tier == "worse" and by_label[r.initializer].still_moving]
    if slow:
        change = float(np.median([a.change for a in slow]))
        one = len(slow) == 1
        out.append(f"{_names([a.label for a in slow], conjunction=True)} may be under-trained "
                   f"rather than worse: {'its' if one else 'their'} cost still moves (median "
                   f"relative change {change:.1e} over the last 5 % of steps); try "
                   f"{_suggest_steps(slow[0], change)} steps")
    if len(moving) > 1:
        change = float(np.median([a.change for a in moving]))
        out.append(f"the runs of {len(moving)} working initializers are still moving (median "
                   f"relative cost change {change:.1e}): the ranking may change with "
                   f"{_suggest_steps(moving[0], change)} steps")
    elif best is not None and best.still_moving:
        out.append(f"the best, {best.label}, is still moving (relative cost change "
                   f"{best.change:.1e}): the ranking may change with {_suggest_steps(best)} "
                   "steps")
    return out


def _suggest_steps(arm: Arm, change: float | None = None) -> str:
    """Five to ten times the steps: how far a cost change per tail falls is not predictable
    (a plateau can end suddenly), so the suggestion errs long."""
    steps = arm.group.steps or 0
    moved = change if change is not None else (arm.change or 0)
    factor = min(10.0, max(5.0, 1.5 * moved / CONVERGED_TAIL_CHANGE))
    return f"{_nice(steps * factor):,}".replace(",", " ")


def _nice(value: float) -> int:
    """Round up to 1, 2 or 5 times a power of ten."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= value))


# -- part 3: how many more seeds -----------------------------------------------------------


def _seeds_needed(ranking: list[Ranked], arms: list[Arm], best: Arm | None, rope: float,
                  alpha: float, grow: GrowHint | None = None,
                  scale: float | None = None) -> list[SeedsNeeded]:
    """Per undecided comparison, the seeds that would decide it. `scale`: the sweep's seeds
    per seed of the comparison's sample (None: no sample); the command then grows the sweep
    from what it holds, not from what the sample held."""
    if best is None:
        return []
    by_label = {a.label: a for a in arms}
    comparisons = max(1, sum(r.p_holm is not None for r in ranking))
    out = []
    for row in ranking:
        if row.tier != "undecided" or row.difference is None:
            continue
        arm = by_label[row.initializer]
        if abs(row.difference) < rope:
            needed = inf.equivalence_seeds(float(best.values.std(ddof=1)),
                                           float(arm.values.std(ddof=1)), row.difference, rope,
                                           alpha=alpha)
            decision, test = "equivalence", ("two one-sided tests on the Hodges–Lehmann "
                                             "shift (normal approximation at the observed "
                                             "spreads)")
        else:
            needed = inf.noether_seeds(row.p_best_beats or 0.5, alpha=alpha,
                                       comparisons=comparisons)
            decision, test = "difference", (f"Mann–Whitney, Noether's sample size at "
                                            f"P = {row.p_best_beats:.2f}, power "
                                            f"{inf.POWER:.0%}, Holm's first step")
        have = min(best.values.size, arm.values.size)
        in_sweep = None if scale is None else round(have * scale)
        out.append(SeedsNeeded(initializer_a=best.label, initializer_b=row.initializer,
                               decision=decision, test=test, have=have, needed=needed,
                               in_sweep=in_sweep,
                               command=_command(needed, in_sweep or have, grow, arms)))
    return out


def _command(needed: int, have: int, grow: GrowHint | None, arms: list[Arm]) -> str | None:
    """What to run for that many seeds: grow the sweep in place, leaving out the initializers
    that fail (they get no more seeds), or submit the spec again."""
    if needed > inf.MAX_SEEDS or needed <= have:
        return None
    if grow is None or grow.how == "resubmit":
        return f"submit the spec again with seeds: {{start: 0, count: {needed}}}"
    if grow.how == "adaptive":
        return f"submit it again with adaptive seeds up to max: {needed}"
    failed = [a.label for a in arms if a.failure is not None]
    only = "" if not failed else " --initializers " + ",".join(
        a.label for a in arms if a.failure is None)
    return f"sweepd seeds add {grow.sweep_id} {needed - have}{only}"


def _more_sentence(needed: list[SeedsNeeded], choice: ChoiceAnswer) -> str:
    if not needed:
        decided = any(r.tier in ("equivalent", "worse") for r in choice.ranking)
        return ("No more seeds needed: every comparison is decided." if decided else
                "No comparison to decide.")
    worst = max(needed, key=lambda s: s.needed)
    count = (f"more than {inf.MAX_SEEDS:,}".replace(",", " ") if worst.needed > inf.MAX_SEEDS
             else str(worst.needed))
    which = "the open comparison" if len(needed) == 1 else f"all {len(needed)} open comparisons"
    lead = (f"To decide {which} takes about {count} seeds per initializer ({worst.initializer_a} "
            f"vs {worst.initializer_b}, {worst.decision}); ")
    if worst.in_sweep is None:
        return lead + f"this sweep has {worst.have}" + (
            f": {worst.command}." if worst.command else ".")
    held = (f"this sweep has about {worst.in_sweep}, of which the comparison's random sample "
            f"used {worst.have}")
    if worst.command:
        return lead + f"{held}: {worst.command}."
    if worst.needed <= worst.in_sweep:
        return lead + f"{held}: the sweep holds enough, the sample is what is short."
    return lead + held + "."


# -- part 1: is it OK that the weights differ ----------------------------------------------


def _solutions(working: list[Arm], comparison: Comparison) -> SolutionsAnswer:
    evidence = [_weight_evidence(a) for a in working if a.group.solutions is not None]
    if not evidence:
        return SolutionsAnswer(kind="nothing_to_compare", evidence=[],
                               sentence="No initializer has working runs to compare yet.")
    kind = _kind(working, evidence)
    return SolutionsAnswer(kind=kind, evidence=evidence,
                           sentence=solutions_sentence(kind, working, evidence))


def _weight_evidence(arm: Arm) -> WeightEvidence:
    s, g = arm.group.solutions, arm.group
    assert s is not None
    removes = (1 - s.mean_aligned_relative / s.mean_raw_relative
               if s.mean_raw_relative and s.mean_aligned_relative is not None else None)
    fn = s.function
    floor = g.accuracy_noise_floor
    same = bool(fn is not None and fn.disagreement is not None and floor is not None
                and fn.disagreement <= NOISE_BAND * floor)
    return WeightEvidence(
        initializer=g.initializer, n_runs=s.n_trials, n_converged=s.n_converged,
        median_tail_change=s.median_tail_change, alignment_removes=removes,
        mean_aligned_relative=s.mean_aligned_relative, n_solutions=s.distinct,
        clear_groups=s.clear_groups, largest_within=s.largest_within,
        smallest_between=s.smallest_between, n_pairs=fn.n_pairs if fn else 0,
        disagreement=fn.disagreement if fn else None,
        mean_abs_dp=fn.mean_abs_dp if fn else None, noise_floor=floor,
        barrier_raw=fn.barrier_raw if fn else None,
        barrier_aligned=fn.barrier_aligned if fn else None, cka=fn.cka if fn else None,
        same_function=same, outliers=arm.outliers,
    )


def _kind(working: list[Arm], evidence: list[WeightEvidence]) -> str:
    outliers = [o for a in working for o in a.outliers]
    moving = sum(a.still_moving for a in working) > len(working) / 2
    learning = sum((a.change or 0) > STILL_LEARNING for a in working) > len(working) / 2
    if learning:
        return "cannot_tell_yet"
    if outliers:
        settled = all(not a.still_moving for a in working if a.outliers)
        return "some_seeds_worse" if settled else "cannot_tell_yet"
    if all(e.mean_aligned_relative is not None and e.largest_within is not None
           and e.n_solutions == 1 for e in evidence) or all(
            e.n_runs < 2 or (e.mean_aligned_relative or 0) == 0 for e in evidence):
        return "same_solution"
    if all(e.same_function for e in evidence if e.n_pairs):
        return "equally_good_solutions"
    return "cannot_tell_yet" if moving else "equally_good_solutions"



def _names(labels: Sequence[str], limit: int = 6, *, conjunction: bool = False) -> str:
    if len(labels) > limit:
        return f"{', '.join(labels[:limit])} and {len(labels) - limit} more"
    if conjunction and len(labels) > 1:
        return f"{', '.join(labels[:-1])} and {labels[-1]}"
    return ", ".join(labels)
