"""The SDK's view of a comparison: typed objects, DataFrames, plain words and rich tables."""

from __future__ import annotations

from typing import Any

from sweepd.analysis.models import Comparison
from sweepd.analysis.report import summary_text


class ComparisonView:
    """What `Sweep.compare()` returns.

    Attributes:
        model: the typed `Comparison` (groups, pairs, notes).
        raw: the JSON it was parsed from.
    """

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.model = Comparison.model_validate(raw)

    @property
    def groups(self) -> list[Any]:
        return list(self.model.groups)

    @property
    def pairs(self) -> list[Any]:
        return list(self.model.pairs)

    @property
    def summary(self) -> str:
        """The answer in plain words, one line per initializer, then the notes."""
        return summary_text(self.model)

    def to_pandas(self) -> dict[str, Any]:
        """Tables as DataFrames: groups, failures, solutions, clusters, pairs, trials."""
        return self.model.to_pandas()

    def print(self, console: Any, *, max_pairs: int = 40) -> None:
        """Print the outcome, solutions and pair tables and the plain-words answer (rich)."""
        console.print(_outcomes(self.model))
        console.print(_solutions(self.model))
        if len(self.model.pairs) <= max_pairs:
            console.print(_pairs(self.model))
        else:
            console.print(f"{len(self.model.pairs)} paired comparisons: see --json or "
                          "to_pandas()['pairs']")
        console.print(self.summary)

    def __repr__(self) -> str:
        return (f"<Comparison {len(self.model.groups)} groups, {len(self.model.pairs)} pairs"
                f"{', partial' if self.model.partial else ''}>")


def _name(group: Any) -> str:
    point = ", ".join(f"{k}={v}" for k, v in group.params.items())
    return f"{group.initializer} [{point}]" if point else group.initializer


def _outcomes(model: Comparison) -> Any:
    from rich.table import Table

    acc = "test_accuracy" if model.accuracy_on == "test" else "train_accuracy"
    table = Table(title=f"Outcomes over seeds ({acc.replace('_', ' ')}, 95 % bootstrap CI)")
    for column in ("initializer", "n", "mean", "CI", "min", "max", "noise floor",
                   "cost tail", "failures"):
        table.add_column(column, no_wrap=column == "initializer")
    for g in model.groups:
        s, c = g.stats.get(acc), g.stats.get("train_cost_tail")
        f = g.failures
        bad = f.failed + f.diverged + f.symmetry_never_broken + f.stuck_at_chance
        table.add_row(_name(g), str(g.n_finished), _cell(s and s.mean),
                      f"[{_cell(s and s.ci_low)}, {_cell(s and s.ci_high)}]",
                      _cell(s and s.min), _cell(s and s.max), _cell(g.accuracy_noise_floor),
                      _cell(c and c.mean), str(bad))
    return table


def _solutions(model: Comparison) -> Any:
    from rich.table import Table

    table = Table(title="Distinct solutions modulo symmetry (permutations, sign flips)")
    for column in ("initializer", "clustered", "solutions", "sizes", "raw rel. dist",
                   "aligned rel. dist", "tail change"):
        table.add_column(column, no_wrap=column == "initializer")
    for g in model.groups:
        s = g.solutions
        if s is None:
            continue
        table.add_row(_name(g), str(s.n_trials), str(s.n_solutions),
                      _cell([c.size for c in s.clusters]), _cell(s.mean_raw_relative),
                      _cell(s.mean_aligned_relative), _cell(s.median_tail_change))
    return table


def _pairs(model: Comparison) -> Any:
    from rich.table import Table

    table = Table(title="Paired over seeds: A − B and P(A beats B)")
    for column in ("A", "B", "seeds", "A − B", "CI", "P(A>B)", "CI", "note"):
        table.add_column(column)
    for p in model.pairs:
        s = p.stats
        table.add_row(p.initializer_a, p.initializer_b, str(s.n_pairs), _cell(s.difference),
                      f"[{_cell(s.difference_ci_low)}, {_cell(s.difference_ci_high)}]",
                      _cell(s.p_a_beats_b), f"[{_cell(s.p_ci_low)}, {_cell(s.p_ci_high)}]",
                      s.note or "")
    return table


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "+".join(str(v) for v in value)
    return str(value)
