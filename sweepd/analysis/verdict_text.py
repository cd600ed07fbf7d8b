"""The verdict in words: a few sentences per grid point, the answer first (issue 11)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any, Protocol

from sweepd.analysis.verdict_models import (
    ChoiceAnswer,
    MoreSeedsAnswer,
    Outlier,
    PointVerdict,
    SolutionsAnswer,
    WeightEvidence,
)


class _Arm(Protocol):
    """What the words need of an initializer's runs (`sweepd.analysis.verdict_arms.Arm`)."""

    label: str
    values: Any  # numpy array of the ranked metric
    outliers: list[Outlier]
    still_moving: bool
    change: float | None
    group: Any

MAX_POINTS_IN_TEXT = 4


def point_name(params: dict[str, Any]) -> str:
    """"learning_rate=0.1, hidden=[8]" for a grid point; "" without a grid. A search's
    floats are shown to 4 significant digits (learning_rate=0.05329, not 0.0532949132...)."""
    return ", ".join(f"{k.split('.')[-1]}={_short(v)}" for k, v in sorted(params.items()))


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def sweep_text(points: Sequence[PointVerdict], partial: bool) -> str:
    """The whole sweep's verdict: one paragraph per grid point (the first few)."""
    head = ("Partial result: some trials are still running, so this may change. "
            if partial else "")
    if len(points) == 1:
        return head + points[0].text
    shown = [f"At {point_name(p.params)}: {p.text}" for p in points[:MAX_POINTS_IN_TEXT]]
    if len(points) > MAX_POINTS_IN_TEXT:
        shown.append(f"And {len(points) - MAX_POINTS_IN_TEXT} more grid points: see each "
                     "point's verdict.")
    return head + "\n\n".join(shown)


def point_text(params: dict[str, Any], solutions: SolutionsAnswer, choice: ChoiceAnswer,
               more: MoreSeedsAnswer) -> str:
    """At most about eight sentences: is it OK, which initializer, warnings, seeds."""
    parts = [solutions.sentence]
    if choice.metric.startswith("train_"):
        parts.append("This sweep has no test set, so initializers are ranked on training "
                     "accuracy.")
    if choice.recommendation:
        parts.append(choice.recommendation)
    parts.append(choice.sentence)
    if choice.warnings:
        extra = len(choice.warnings) - 1
        parts.append("Warning: " + choice.warnings[0] + (
            f" (and {extra} more warning{'s' if extra != 1 else ''})." if extra else "."))
    parts.append(more.sentence)
    return " ".join(parts)


def solutions_sentence(kind: str, working: Sequence[_Arm],
                       evidence: Sequence[WeightEvidence]) -> str:
    """Part 1 in words, from the evidence of every working initializer."""
    if kind == "cannot_tell_yet":
        return _cannot_tell(working)
    symmetry = _symmetry_clause(evidence)
    if kind == "same_solution":
        return (f"Yes, it is OK: each initializer's runs reach the same solution, and the "
                f"weights differ only by the network's symmetry ({symmetry}).")
    function = _function_clause(evidence)
    count = _count_clause(evidence, working)
    if kind == "some_seeds_worse":
        bad = [(a.label, o) for a in working for o in a.outliers]
        named = ", ".join(f"{label} seed {o.seed} ({_value(o.value)}, {o.why})"
                          for label, o in bad[:4])
        more = f" and {len(bad) - 4} more" if len(bad) > 4 else ""
        runs = sum(a.values.size for a in working)
        return (f"Mostly, but not always: {len(bad)} of {runs} runs land in worse solutions "
                f"(black swans: {named}{more}). The others differ mostly by the network's "
                f"symmetry ({symmetry}); {function}.")
    return (f"Yes, it is OK: the weights differ mostly by the network's symmetry ({symmetry}); "
            f"what is left are equally good solutions ({function}){count}.")


def _symmetry_clause(evidence: Sequence[WeightEvidence]) -> str:
    removes = [e.alignment_removes for e in evidence if e.alignment_removes is not None]
    if not removes:
        return "one run per initializer, nothing to align"
    return (f"aligning hidden units (or channels) modulo symmetry removes "
            f"{statistics.median(removes):.0%} of the distance between runs")


def _function_clause(evidence: Sequence[WeightEvidence]) -> str:
    with_pairs = [e for e in evidence if e.disagreement is not None]
    shifts = [e.mean_abs_dp for e in evidence if e.mean_abs_dp is not None]
    if not with_pairs and shifts:  # a regression target: no classes to disagree on (issue 17)
        barriers = [e.barrier_aligned for e in evidence if e.barrier_aligned is not None]
        text = (f"their predictions differ by {statistics.median(shifts):.2g} of the target's "
                "standard deviation on average")
        return text + (f", aligned loss barrier {statistics.median(barriers):.2g}"
                       if barriers else "")
    if not with_pairs:
        return "there are too few runs to compare what they compute"
    dis = statistics.median(e.disagreement for e in with_pairs)
    floors = [e.noise_floor for e in with_pairs if e.noise_floor is not None]
    floor = statistics.median(floors) if floors else None
    barriers = [e.barrier_aligned for e in with_pairs if e.barrier_aligned is not None]
    relation = "within" if all(e.same_function for e in with_pairs) else "beyond"
    text = f"runs disagree on {dis:.2%} of the points"
    if floor is not None:
        text += f", {relation} the test set's noise of ±{2 * floor:.2%}"
    if barriers:
        text += f", aligned loss barrier {statistics.median(barriers):.2g}"
    return text


def _count_clause(evidence: Sequence[WeightEvidence], working: Sequence[_Arm]) -> str:
    moving = [a for a in working if a.still_moving]
    if moving:
        change = statistics.median(a.change for a in moving if a.change is not None)
        return (f". Distinct solutions cannot be counted yet: the runs still move (relative "
                f"cost change {change:.1e} over the last 5 % of steps)")
    counted = [e for e in evidence if e.n_solutions is not None]
    if not counted:
        return ". The aligned distances show no clear groups of solutions"
    counts = sorted(e.n_solutions for e in counted if e.n_solutions is not None)
    span = str(counts[0]) if counts[0] == counts[-1] else f"{counts[0]}–{counts[-1]}"
    within = max(e.largest_within or 0 for e in counted)
    between = [e.smallest_between for e in counted if e.smallest_between is not None]
    gap = (f"; aligned distance within groups ≤ {within:.2g}, between ≥ {min(between):.2g}"
           if between else "")
    same = all(e.same_function for e in counted)
    noun = "sets of weights" if same else "distinct solutions"
    what = " that compute the same function" if same else ""
    return (f". The converged runs form {span} {noun} per initializer modulo symmetry{what} "
            f"({len(counted)} initializer{'s' if len(counted) != 1 else ''}{gap})")


def _cannot_tell(working: Sequence[_Arm]) -> str:
    lagging = [a for a in working if a.outliers and a.still_moving]
    moving = [a for a in working if a.still_moving]
    change = statistics.median(a.change for a in moving if a.change is not None) if moving \
        else None
    steps = max((a.group.steps or 0) for a in working) if working else 0
    if lagging:
        n = sum(len(a.outliers) for a in lagging)
        return (f"Cannot tell yet: {n} runs lag far behind the others while their cost still "
                f"moves, so they may be slow rather than worse; train longer than {steps} "
                "steps and compare again.")
    moved = f" (median relative cost change {change:.1e} over the last 5 % of steps)" \
        if change is not None else ""
    return (f"Cannot tell yet: the runs have not converged{moved}, so their weights are "
            f"still drifting; train longer than {steps} steps and compare again.")


def _value(value: float | None) -> str:
    return "diverged" if value is None else f"{value:.2%}"



_FACTOR_WORDS = {"init": "the initialization", "order": "the data order",
                 "data": "the data draw", "residual": "the trial's own noise (the interaction "
                 "of all factors)"}


def variance_sentence(decomposition: Any) -> str:
    """ "Most of the spread comes from X": the largest variance component, with its σ and CI,
    and the runner-up (issue 16). `decomposition` is a `VarianceDecomposition`."""
    parts = sorted(decomposition.components, key=lambda c: c.variance, reverse=True)
    if decomposition.largest is None or not parts:
        return "The runs do not spread at all over the crossed factors."
    scale, unit = (100.0, " pp") if "accuracy" in decomposition.metric else (1.0, "")
    first = parts[0]
    name = _factor_words(first.name)
    text = (f"Most of the spread comes from {name}: σ {first.sd * scale:.2g}{unit} "
            f"({round(100 * (first.share or 0))} % of the variance; "
            f"{round(100 * decomposition.level)} % CI {first.sd_ci_low * scale:.2g}–"
            f"{first.sd_ci_high * scale:.2g}{unit})")
    if len(parts) > 1:
        second = parts[1]
        text += (f", then {_factor_words(second.name)} (σ {second.sd * scale:.2g}{unit}, "
                 f"CI {second.sd_ci_low * scale:.2g}–{second.sd_ci_high * scale:.2g}{unit})")
        if first.ci_low < second.ci_high:
            text += "; their intervals overlap, so the order of the two is not settled"
    return text + "."


def _factor_words(name: str) -> str:
    if name in _FACTOR_WORDS:
        return _FACTOR_WORDS[name]
    return "the interaction of " + " and ".join(
        _FACTOR_WORDS.get(f.strip(), f.strip()) for f in name.split("×"))
