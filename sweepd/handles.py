"""The handles the SDK returns: `Sweep` (a submitted sweep, a thin wrapper over `Client`
calls) and `TrialList` (its trials, shown in Jupyter as a table).

Split from `sweepd.client`, which keeps the HTTP side: requests, errors, the event stream.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweepd.errors import NotFound
from sweepd.schemas import SweepPublic, TrialPublic

if TYPE_CHECKING:
    from sweepd.client import Client


class Sweep:
    """A submitted sweep; a thin handle over `Client` calls."""

    def __init__(self, client: Client, public: SweepPublic) -> None:
        self.client = client
        self.public = public

    id = property(lambda self: self.public.id)
    name = property(lambda self: self.public.name)
    state = property(lambda self: self.public.state)
    n_trials = property(lambda self: self.public.n_trials)
    counts = property(lambda self: self.public.counts)

    def refresh(self) -> Sweep:
        self.public = self.client.get(self.id).public
        return self

    def wait(self, *, progress: bool = True, timeout: float | None = None,
             reconnect_for: float = 300.0) -> Sweep:
        """Block until the sweep ends (see `Client.wait`); a paused sweep keeps it waiting."""
        self.public = self.client.wait(self.id, progress=progress, timeout=timeout,
                                       reconnect_for=reconnect_for).public
        return self

    def cancel(self) -> Sweep:
        self.public = self.client.cancel(self.id).public
        return self

    def pause(self) -> Sweep:
        """Pause the sweep: no new trial starts; running ones finish (see `Client.pause_sweep`)."""
        self.public = self.client.pause_sweep(self.id).public
        return self

    def resume(self) -> Sweep:
        """Resume the paused sweep (see `Client.resume_sweep`)."""
        self.public = self.client.resume_sweep(self.id).public
        return self

    def add_seeds(self, count: int | None = None, **options: Any) -> Sweep:
        """Grow the sweep by `count` more seeds (or `seeds=[...]`, `initializers=[...]`); see
        `Client.add_seeds`. A finished sweep runs again: `wait()` for it."""
        self.public = self.client.add_seeds(self.id, count, **options).public
        return self

    @property
    def growths(self) -> list[Any]:
        """How the sweep grew (`Client.growths`): seeds added, an adaptive sweep's blocks."""
        return self.client.growths(self.id)

    def trials(self, **filters: Any) -> TrialList:
        return self.client.trials(self.id, **filters)

    def trials_frame(self, **filters: Any) -> Any:
        return self.client.trials_frame(self.id, **filters)

    def weights(self, trial_id: int, **kw: Any) -> dict[str, Any]:
        return self.client.weights(self.id, trial_id, **kw)

    def compare(self, **options: Any) -> Any:
        return self.client.compare(self.id, **options)

    def best_trial(self, metric: str = "test_accuracy", *, mode: str = "max",
                   tail: bool = True) -> TrialPublic:
        """The finished trial with the best `metric` (as Optuna's `study.best_trial`).

        Args:
            metric: a result field such as "test_accuracy", "train_accuracy" or "test_cost".
            mode: "max" or "min".
            tail: use the value averaged over the last steps where the result has it (what
                the verdict ranks on), else the last step's.

        Raises:
            NotFound: no trial has a finite value of `metric` yet.
            ValueError: an unknown mode.
        """
        if mode not in ("max", "min"):
            raise ValueError("mode must be 'max' or 'min'")
        scored = [(v, t) for t in self.trials(state="completed")
                  if (v := _metric(t, metric, tail)) is not None]
        if not scored:
            raise NotFound(f"no finished trial of sweep {self.id} has a {metric}")
        pick = max if mode == "max" else min
        return pick(scored, key=lambda vt: vt[0])[1]

    def compare_pair(self, a: int, b: int) -> dict[str, Any]:
        return self.client.compare_pair(self.id, a, b)

    def export(self, path: str | Path, *, format: str | None = None) -> Path:
        """Every trial in one file: Parquet (the default; the curve as a list column) or CSV
        (by `format`, or a `.csv` suffix). Read it back with `pandas.read_parquet(path)`."""
        return self.client.export(self.id, path, format=format)

    def stacked_weights(self, *, which: str = "final") -> dict[str, Any]:
        """Every completed trial's tensors stacked along a first axis, with `trials` (ids)."""
        return self.client.stacked_weights(self.id, which=which)

    def export_mlflow(self, tracking_uri: str, **options: Any) -> Any:
        """Log one MLflow run per trial (see `sweepd.mlflow_export.export`); idempotent."""
        from sweepd import mlflow_export

        return mlflow_export.export(self, tracking_uri, **options)

    def plot(self, kind: str = "accuracy", *, metric: str = "test_accuracy") -> Any:
        """A plotly figure of the sweep, drawn from the data the status page draws.

        Args:
            kind: "accuracy" (each seed's `metric` per initializer, best first), "curves"
                (mean training cost with the band of the middle 80 % of seeds) or "units"
                (every hidden unit, raw beside canonical).
            metric: for "accuracy": test_accuracy, train_accuracy, train_cost_tail or test_cost.

        Raises:
            ImportError: plotly is not installed (`pip install 'sweepd[plot]'`).
            ValueError: an unknown kind.
        """
        from sweepd import plots

        if kind not in plots.KINDS:
            raise ValueError(f"kind must be one of {', '.join(plots.KINDS)} (got {kind!r})")
        plots._plotly()  # fail before the download when plotly is missing
        if kind == "units":
            return plots.units(self.client.figure_data(self.id, "units"))
        trials = self.client.figure_data(self.id, "trials")
        return plots.accuracy(trials, metric) if kind == "accuracy" else plots.curves(trials)

    def __repr__(self) -> str:
        stop = f" stopped: {self.public.stop_reason}" if self.public.stop_reason else ""
        return f"<Sweep {self.id} {self.name!r} {self.state}{stop} {self.counts}>"

    def _repr_html_(self) -> str:
        """A compact card in Jupyter: name, state, progress and trials per state."""
        from html import escape

        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items() if v)
        return (f"<div><b>sweep {self.id}</b> {escape(self.name)}: <b>{escape(self.state)}</b>, "
                f"{self.public.progress:.0%} of {self.n_trials} trials ({escape(counts)})"
                + (f"<br>seeds until decided: stopped, {escape(STOPS[self.public.stop_reason])}"
                   if self.public.stop_reason else "")
                + "<br><small>sweep.compare() for the verdict</small></div>")


STOPS = {"decided": "every comparison that matters is decided",
         "equivalent": "every comparison that matters is practically equivalent",
         "max_seeds": "the cap on seeds came first"}
TABLE_ROWS = 20  # rows of a trial list shown in Jupyter; the rest are counted


class TrialList(list):  # type: ignore[type-arg]
    """The trials of a sweep: a plain list of `TrialPublic`, shown in Jupyter as a table."""

    def _repr_html_(self) -> str:
        from html import escape

        def cell(value: Any) -> str:
            if isinstance(value, float):
                return f"{value:.4f}"
            return escape("" if value is None else str(value))

        head = ("id", "seed", "initializer", "grid", "state", "test acc", "train cost (tail)")
        rows = []
        for t in self[:TABLE_ROWS]:
            r = t.result
            grid = ", ".join(f"{k}={v}" for k, v in sorted(t.params.items()))
            rows.append((t.id, t.seed, t.initializer_label, grid, t.state,
                         r.test_accuracy if r else None, r.train_cost_tail if r else None))
        states: dict[str, int] = {}
        for t in self:
            states[t.state] = states.get(t.state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in states.items())
        more = (f"<tr><td colspan=7>… and {len(self) - TABLE_ROWS} more "
                "(trials_frame() for all)</td></tr>") if len(self) > TABLE_ROWS else ""
        return (f"<div><b>{len(self)} trials</b>: {escape(summary)}<table>"
                "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                          for row in rows) + more + "</table></div>")


def _metric(trial: TrialPublic, metric: str, tail: bool) -> float | None:
    result = trial.result
    if result is None:
        return None
    value = getattr(result.tail, metric, None) if tail and result.tail is not None else None
    value = getattr(result, metric, None) if value is None else value
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None
