"""`sweepd seeds`: grow a sweep by more seeds, and show how it grew (an adaptive sweep's blocks
with the decision state of each look)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from sweepd.cli import JsonOpt, TokenOpt, UrlOpt, _client, _print_json, console
from sweepd.handles import STOPS as STOP_WORDS

seeds_app = typer.Typer(no_args_is_help=True, help="Grow a sweep by more seeds; show its growth.")


@seeds_app.command("add")
def add(sweep_id: int,
        count: Annotated[Optional[int], typer.Argument(
            help="How many more seeds (the ones after the sweep's largest).")] = None,
        seeds: Annotated[Optional[str], typer.Option(
            help="These seeds instead, comma-separated (e.g. 100,101,102).")] = None,
        initializers: Annotated[Optional[str], typer.Option(
            help="Only these initializers, comma-separated labels (default: all).")] = None,
        key: Annotated[Optional[str], typer.Option(
            "--idempotency-key", help="Send this Idempotency-Key: a retry adds once.")] = None,
        as_json: JsonOpt = False, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Add seeds to a sweep: the same cells a sweep asking for them at once has; a finished
    sweep runs again. Follow it with `sweepd wait ID`."""
    if (count is None) == (seeds is None):
        raise typer.BadParameter("give either COUNT or --seeds")
    client = _client(url, token)
    before = client.get(sweep_id)
    listed = [int(s) for s in seeds.split(",")] if seeds else None
    labels = [s.strip() for s in initializers.split(",")] if initializers else None
    grown = client.add_seeds(sweep_id, count, seeds=listed, initializers=labels,
                             idempotency_key=key)
    if as_json:
        _print_json(grown.public.model_dump(mode="json"))
        return
    added = grown.n_trials - before.n_trials
    who = ", ".join(labels) if labels else "every initializer"
    if added == 0:
        console.print(f"Sweep {grown.id} already had these seeds (the Idempotency-Key was "
                      f"used before): nothing added; it has {grown.n_trials} trials.")
        return
    what = f"seeds {', '.join(map(str, listed))}" if listed else f"{count} more seeds"
    console.print(f"Sweep {grown.id} grew by {added} trials ({what} for {who}): "
                  f"{grown.n_trials} trials, {grown.state}. Follow it with: sweepd wait "
                  f"{grown.id}", soft_wrap=True)


@seeds_app.command("history")
def history(sweep_id: int, as_json: JsonOpt = False, url: UrlOpt = None,
            token: TokenOpt = None) -> None:
    """How a sweep grew: seeds added by requests, an adaptive sweep's blocks and why it
    stopped."""
    client = _client(url, token)
    sweep = client.get(sweep_id)
    growths = client.growths(sweep_id)
    if as_json:
        _print_json([g.model_dump(mode="json") for g in growths])
        return
    console.print(_headline(sweep.public, growths), soft_wrap=True)
    if not growths:
        return
    table = Table("#", "by", "seeds added", "initializers", "trials", "decision")
    for i, g in enumerate(growths, 1):
        table.add_row(str(i), g.source, _span(g.seeds), ", ".join(g.initializers or ["all"]),
                      str(g.n_trials), decision_summary(g.decision))
    console.print(table)


def _headline(sweep: Any, growths: list[Any]) -> str:
    reason = sweep.stop_reason
    if reason is not None:
        return (f"Sweep {sweep.id} stopped adding seeds: {STOP_WORDS[reason]} "
                f"({sum(g.source == 'adaptive' and g.n_trials > 0 for g in growths)} blocks "
                f"after the first, {sweep.n_trials} trials).")
    seeds = sweep.spec.get("seeds")
    if isinstance(seeds, dict) and "adaptive" in seeds:
        return (f"Sweep {sweep.id} adds seeds until decided: {sweep.n_trials} trials so far, "
                f"{sweep.state}.")
    if not growths:
        return f"Sweep {sweep.id} has not grown: {sweep.n_trials} trials as submitted."
    return f"Sweep {sweep.id} grew {len(growths)} times to {sweep.n_trials} trials."




def decision_summary(decision: dict[str, Any] | None) -> str:
    """One line per grid point: the best initializer and each pair's state."""
    if not decision:
        return ""
    lines = []
    for point in decision.get("points", []):
        pairs = ", ".join(f"{p['other']}: {p['state']}" for p in point.get("pairs", []))
        lines.append(f"best {point.get('best') or '–'}" + (f"; {pairs}" if pairs else ""))
    return "\n".join(lines)


def _span(seeds: list[int]) -> str:
    if not seeds:
        return "–"
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))
