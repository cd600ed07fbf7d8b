"""The SDK's view of a comparison: the verdict first, then typed objects, DataFrames, plain
words and rich tables."""

from __future__ import annotations

from typing import Any

from sweepd.analysis.models import Comparison
from sweepd.analysis.report import summary_text
from sweepd.analysis.verdict_models import Verdict
from sweepd.analysis.verdict_text import point_name, variance_sentence


class ComparisonView:
    """What `Sweep.compare()` returns: the verdict first, then the details.

    `print(view)` shows the verdict's text; `view.verdict` is the typed verdict (tiers,
    recommendation, seeds needed, evidence); `view.model` the whole typed `Comparison`.

    Attributes:
        model: the typed `Comparison` (verdict, groups, pairs, notes).
        raw: the JSON it was parsed from.
    """

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.model = Comparison.model_validate(raw)

    @property
    def verdict(self) -> Verdict | None:
        """The answer: is it OK that the weights differ, which initializer, how many seeds."""
        return self.model.verdict

    @property
    def groups(self) -> list[Any]:
        return list(self.model.groups)

    @property
    def pairs(self) -> list[Any]:
        return list(self.model.pairs)

    @property
    def summary(self) -> str:
        """Per-initializer lines in plain words (the details behind the verdict)."""
        return summary_text(self.model)

    @property
    def variance(self) -> Any:
        """Where the spread comes from (issue 16): a pandas DataFrame with one row per variance
        component (init, order, data, interactions, residual) and its CI; None when the sweep
        crosses fewer than two random factors. The typed form is `model.variance`."""
        decomposition = self.model.variance
        return None if decomposition is None else decomposition.to_pandas()

    def to_pandas(self) -> dict[str, Any]:
        """Tables as DataFrames: groups, failures, solutions, clusters, pairs, trials."""
        return self.model.to_pandas()

    def print(self, console: Any, *, details: bool = False, max_pairs: int = 40) -> None:
        """The verdict (at most 15 lines at 100 columns), a compact table per grid point, and
        with `details` the solutions, the paired tests and the per-initializer lines."""
        console.print(verdict_lines(self.model))
        for table in ranking_tables(self.model):
            console.print(table)
        if self.model.variance is not None:
            console.print(variance_table(self.model.variance))
        if not details:
            console.print("[dim]--details: solutions, paired tests and notes; --json: all.[/]")
            return
        console.print(_outcomes(self.model))
        console.print(_solutions(self.model))
        if len(self.model.pairs) <= max_pairs:
            console.print(_pairs(self.model))
        else:
            console.print(f"{len(self.model.pairs)} paired comparisons: see --json or "
                          "to_pandas()['pairs']")
        console.print(self.summary)

    def __str__(self) -> str:
        verdict = self.model.verdict
        return verdict.text if verdict is not None else self.summary

    def _repr_html_(self) -> str:
        """In Jupyter: the verdict's text, then the ranking table of each grid point."""
        from html import escape

        verdict = self.model.verdict
        if verdict is None:
            return f"<pre>{escape(self.summary)}</pre>"
        parts = [f"<p>{escape(verdict.text)}</p>"]
        for point in verdict.points:
            where = point_name(point.params)
            head = "".join(f"<th>{h}</th>" for h in ("initializer", "tier", "n", "IQM",
                                                      "95 % CI", "worst", "outliers",
                                                      "failed"))
            rows = "".join(
                f"<tr><td>{escape(r.initializer)}</td><td>{r.tier}</td><td>{r.n}</td>"
                f"<td>{_pct(r.iqm)}</td><td>[{_pct(r.ci_low)}, {_pct(r.ci_high)}]</td>"
                f"<td>{_pct(r.worst)}</td><td>{r.n_outliers}</td>"
                f"<td>{r.n_failed}/{r.n_runs}</td></tr>"
                for r in point.which_initializer.ranking)
            caption = f"<caption>{escape(where)}</caption>" if where else ""
            parts.append(f"<table>{caption}<tr>{head}</tr>{rows}</table>")
        return "".join(parts)

    def __repr__(self) -> str:
        verdict = self.model.verdict
        head = ""
        if verdict is not None and verdict.points:
            point = verdict.points[0].which_initializer
            head = f" use {point.recommended[0]}," if point.recommended else ""
        return (f"<Comparison{head} {len(self.model.groups)} groups, "
                f"{len(self.model.pairs)} pairs{', partial' if self.model.partial else ''}>")


def verdict_lines(model: Comparison) -> str:
    """The verdict as a few short lines per grid point: the answer, then tiers and seeds."""
    verdict = model.verdict
    if verdict is None:
        return summary_text(model)
    lines = ["[yellow]Partial: some trials are still running.[/]"] if verdict.partial else []
    if verdict.best_point is not None:
        lines.append(f"[bold]Which setting?[/] {verdict.best_point.sentence}")
    for point in verdict.points:
        where = point_name(point.params)
        if where:
            lines.append(f"[bold underline]At {where}[/]")
        choice = point.which_initializer
        lines.append(f"[bold]Is it OK?[/] {point.is_it_ok.sentence}")
        if choice.recommendation:
            lines.append(f"[bold]Which initializer?[/] [green]{choice.recommendation}[/]")
        lines.append(choice.sentence)
        lines += [f"[yellow]Warning:[/] {w}" for w in choice.warnings[:2]]
        lines.append(f"[bold]More seeds?[/] {point.more_seeds.sentence}")
    if model.variance is not None:
        lines.append(f"[bold]Where does the spread come from?[/] "
                     f"{variance_sentence(model.variance)}")
    return "\n".join(lines)


def _method(choice: Any) -> str:
    return (f"Mann–Whitney vs the best (Holm), TOST on the Hodges–Lehmann shift, ROPE "
            f"±{choice.rope * 100:.2f} pp; ranked on {choice.metric}")


def ranking_tables(model: Comparison) -> list[Any]:
    """Per grid point: tier, n, IQM with its 95 % CI, mean ± std, worst, outliers, failed."""
    from rich import box
    from rich.table import Table

    if model.verdict is None:
        return [_outcomes(model)]
    tables = []
    for point in model.verdict.points:
        where = point_name(point.params)
        choice = point.which_initializer
        table = Table(title=f"{_METRIC_WORDS.get(choice.metric, choice.metric)} in %"
                      f"{f' at {where}' if where else ''}: IQM with 95 % bootstrap CI",
                      title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                      caption=f"Tests: {_method(choice)}. out: outlier seeds; fail: runs that "
                      "failed (no result, diverged, symmetry never broken, dead units, chance).",
                      caption_justify="left")
        for column in ("initializer", "tier", "n", "IQM [95 % CI]", "mean±std", "worst",
                       "out", "fail"):
            table.add_column(column, no_wrap=True, max_width=26 if column == "initializer"
                             else None, overflow="ellipsis",
                             justify="left" if column in ("initializer", "tier") else "right")
        for row in choice.ranking:
            table.add_row(row.initializer, _TIER_STYLE[row.tier], str(row.n),
                          f"{_pct(row.iqm)} [{_pct(row.ci_low)}, {_pct(row.ci_high)}]",
                          f"{_pct(row.mean)}±{_pct(row.std)}", _pct(row.worst),
                          str(row.n_outliers), f"{row.n_failed}/{row.n_runs}")
        tables.append(table)
    return tables


_METRIC_WORDS = {"test_accuracy_tail": "Test accuracy (mean of the last steps)",
                 "train_accuracy_tail": "Training accuracy (mean of the last steps)"}
_TIER_STYLE = {"best": "[green]best[/]", "equivalent": "[green]equiv.[/]",
               "undecided": "[yellow]undecided[/]", "worse": "[red]worse[/]",
               "failed": "[red]failed[/]"}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}"


def _name(group: Any) -> str:
    point = ", ".join(f"{k}={v}" for k, v in group.params.items())
    return f"{group.initializer} [{point}]" if point else group.initializer


def _outcomes(model: Comparison) -> Any:
    from rich.table import Table

    acc = "test_accuracy" if model.accuracy_on == "test" else "train_accuracy"
    table = Table(title=f"Outcomes over seeds ({acc.replace('_', ' ')} at the last step, mean "
                  "with 95 % t interval; noise floor: the binomial SE of each initializer's "
                  "accuracy)")
    for column in ("initializer", "n", "mean", "CI", "min", "max", "noise floor",
                   "cost tail", "failures"):
        table.add_column(column, no_wrap=column == "initializer")
    for g in model.groups:
        s, c = g.stats.get(acc), g.stats.get("train_cost_tail")
        bad = g.failures.any
        table.add_row(_name(g), str(g.n_finished), _cell(s and s.mean),
                      f"[{_cell(s and s.ci_low)}, {_cell(s and s.ci_high)}]",
                      _cell(s and s.min), _cell(s and s.max), _cell(g.accuracy_noise_floor),
                      _cell(c and c.mean), str(bad))
    return table


def _solutions(model: Comparison) -> Any:
    from rich.table import Table

    table = Table(title="Distinct solutions modulo symmetry (permutations, sign flips)")
    for column in ("initializer", "clustered", "solutions", "sizes", "raw rel. dist",
                   "aligned rel. dist", "tail change", "per data draw"):
        table.add_column(column, no_wrap=column == "initializer")
    for g in model.groups:
        s = g.solutions
        if s is None:
            continue
        # Several data draws: solutions are counted within each (issue 16), "draw: count".
        draws = " ".join(f"{'base' if d.data_seed is None else d.data_seed}:{d.n_solutions}"
                         for d in s.by_data_draw or [])
        table.add_row(_name(g), str(s.n_trials), str(s.n_solutions),
                      _cell([c.size for c in s.clusters]), _cell(s.mean_raw_relative),
                      _cell(s.mean_aligned_relative), _cell(s.median_tail_change),
                      draws or "–")
    return table


def _pairs(model: Comparison) -> Any:
    from rich.table import Table

    table = Table(title="Paired over seeds: A − B and P(A beats B)")
    for column in ("A", "B", "seeds", "A − B", "CI", "P(A>B)", "CI", "r", "note"):
        table.add_column(column)
    for p in model.pairs:
        s = p.stats
        table.add_row(p.initializer_a, p.initializer_b, str(s.n_pairs), _cell(s.difference),
                      f"[{_cell(s.difference_ci_low)}, {_cell(s.difference_ci_high)}]",
                      _cell(s.p_a_beats_b), f"[{_cell(s.p_ci_low)}, {_cell(s.p_ci_high)}]",
                      _cell(s.correlation), s.note or "")
    return table


def variance_table(decomposition: Any) -> Any:
    """The variance components with their CIs, as σ in the metric's units (pp for accuracy)."""
    from rich.table import Table

    scale, unit = (100.0, " (pp)") if "accuracy" in decomposition.metric else (1.0, "")
    levels = " × ".join(f"{n} {f}" for f, n in decomposition.levels.items())
    table = Table(title=f"Where the spread of {decomposition.metric} comes from ({levels}, "
                        f"{decomposition.n_arms} arms)")
    for column in ("component", f"σ{unit}", f"{round(100 * decomposition.level)} % CI",
                   "share"):
        table.add_column(column)
    for c in decomposition.components:
        table.add_row(c.name, f"{c.sd * scale:.3g}",
                      f"[{c.sd_ci_low * scale:.3g}, {c.sd_ci_high * scale:.3g}]",
                      "–" if c.share is None else f"{100 * c.share:.0f} %")
    return table


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "+".join(str(v) for v in value)
    return str(value)
