"""A comparison in plain words, one line per initializer (and grid point), then the notes."""

from __future__ import annotations

from sweepd.analysis.models import Comparison, Group, PairwiseComparison

_FAILURES = (("failed", "failed"), ("diverged", "diverged"),
             ("symmetry_never_broken", "never broke symmetry"),
             ("dead_units", "with dead units"), ("stuck_at_chance", "stuck at chance"))


def summary_text(comparison: Comparison) -> str:
    """Plain-words answer to "are these different solutions?", per initializer.

    Example line: "glorot_uniform: 20 seeds → 2 distinct solutions modulo symmetry (18 + 2);
    raw weights differ by 0.9 on average, aligned by 0.02 (relative to the parameter norm)".

    Args:
        comparison: the result of `compare_sweep`.

    Returns:
        Several lines of text.
    """
    lines = [_group_line(g, comparison) for g in comparison.groups]
    lines += [line for p in comparison.pairs if (line := _pair_line(p))]
    return "\n".join(lines + comparison.notes)


def _name(group: Group) -> str:
    if not group.params:
        return group.initializer
    inner = ", ".join(f"{k}={v}" for k, v in sorted(group.params.items()))
    return f"{group.initializer} [{inner}]"


def _group_line(group: Group, comparison: Comparison) -> str:
    parts = [_solutions_part(group)]
    accuracy = group.stats["test_accuracy" if comparison.accuracy_on == "test"
                          else "train_accuracy"]
    if accuracy.mean is not None:
        spread = f" ± {accuracy.std:.4f} (std over seeds)" if accuracy.std is not None else ""
        floor = (f"; the {comparison.accuracy_on} set's binomial SE is "
                 f"{group.accuracy_noise_floor:.4f}") if group.accuracy_noise_floor else ""
        parts.append(f"{comparison.accuracy_on} accuracy {accuracy.mean:.4f}{spread}{floor}")
    failures = [f"{getattr(group.failures, field)} {words}" for field, words in _FAILURES
                if getattr(group.failures, field)]
    if failures:
        parts.append(", ".join(failures))
    return f"{_name(group)}: " + "; ".join(parts)


def _solutions_part(group: Group) -> str:
    s = group.solutions
    seeds = f"{group.n_finished} seed{'s' if group.n_finished != 1 else ''}"
    if s is None:
        return f"{seeds} → no finite weights to compare"
    if s.n_trials + s.n_left_out < group.n_finished:
        seeds += f" ({s.n_trials + s.n_left_out} with finite weights)"
    sizes = " + ".join(str(c.size) for c in s.clusters)
    noun = "solution" if s.n_solutions == 1 else "solutions"
    text = f"{seeds} → {s.n_solutions} distinct {noun} modulo symmetry ({sizes})"
    if s.by_data_draw:  # solutions of different training sets are not comparable (issue 16)
        text = (f"{seeds} → at most {s.n_solutions} distinct {noun} modulo symmetry per data "
                f"draw ({_per_draw(s.by_data_draw)})")
    if s.mean_raw_relative is not None:
        text += (f"; raw weights differ by {s.mean_raw_relative:.2g} on average, aligned by "
                 f"{s.mean_aligned_relative:.2g} (relative to the parameter norm, tolerance "
                 f"{s.tolerance:g})")
    if s.median_tail_change is not None:
        text += f"; median tail change of the cost {s.median_tail_change:.1e}"
    if s.n_left_out:
        text += f" ({s.n_left_out} trials left out of the clustering)"
    return text


def _per_draw(draws: list, limit: int = 8) -> str:
    parts = [f"{'dataset.seed' if d.data_seed is None else f'draw {d.data_seed}'} → "
             f"{d.n_solutions} ({' + '.join(str(n) for n in d.cluster_sizes)})"
             for d in draws[:limit]]
    return "; ".join(parts) + (f"; {len(draws) - limit} more draws" if len(draws) > limit else "")


def _pair_line(pair: PairwiseComparison) -> str | None:
    s = pair.stats
    if s.p_a_beats_b is None:
        return None
    interval = f" [{s.p_ci_low:.2f}, {s.p_ci_high:.2f}]" if s.p_ci_low is not None else ""
    where = "".join(f" [{k}={v}]" for k, v in sorted(pair.params.items()))
    text = (f"{pair.initializer_a} vs {pair.initializer_b}{where}: P(better {pair.metric}) = "
            f"{s.p_a_beats_b:.2f}{interval} over {s.n_pairs} seeds, mean difference "
            f"{s.difference:+.4g}")
    if s.correlation is not None:  # what pairing on shared seeds buys (issue 16)
        text += f" (paired on shared init, order and data seeds; r = {s.correlation:.2f})"
    return text + (f" — {s.note}" if s.note else "")
