"""A sweep logged to MLflow: one run per trial, in an experiment named after the sweep.

Each run has the trial's cell as params (`dataset.*`, `model.*`, `training.*`,
`initializer.*`, `seed`), its final metrics, the training cost curve as the history of the
`train_cost` metric (step i × curve_every), tags (`sweepd.sweep_id`, `sweepd.trial_id`,
`sweepd.cell_key`, `initializer`, `seed`, `sweepd.final_sha256`) and, optionally, the final
weights as the artifact `weights/final.safetensors`.

Exporting again is idempotent: runs are found by their `sweepd.trial_id` tag; a run whose
trial has not changed since (same state and weights digest) is left as it is, one whose trial
finished since the last export is completed in place. No run is ever created twice.

Needs `pip install 'sweepd[mlflow]'` (mlflow-skinny is enough; a `sqlite:///` tracking URI or
an MLflow server both work).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sweepd.schemas import TrialPublic

MAX_BATCH = 1_000  # metrics per log_batch call (MLflow's own limit)
MAX_PARAMS = 100   # params per log_batch call


@dataclass(frozen=True)
class MlflowExport:
    """What an export did."""

    experiment_id: str
    created: int
    updated: int
    unchanged: int

    def __str__(self) -> str:
        return (f"MLflow experiment {self.experiment_id}: {self.created} runs created, "
                f"{self.updated} updated, {self.unchanged} unchanged")


def export(sweep: Any, tracking_uri: str, *, experiment: str | None = None,
           artifact_location: str | None = None, weights: bool = True,
           progress: bool = False) -> MlflowExport:
    """Log `sweep` (an SDK `Sweep`) to the MLflow tracking server at `tracking_uri`.

    Args:
        sweep: the sweep to export.
        tracking_uri: e.g. `sqlite:///mlflow.db` or `http://mlflow:5000`.
        experiment: the experiment's name; default `sweepd <name> (sweep <id>)`.
        artifact_location: where a new experiment keeps artifacts (MLflow's default if None).
        weights: log each completed trial's final weights as an artifact.
        progress: show a progress bar.

    Raises:
        ImportError: mlflow is not installed.
    """
    try:
        from mlflow import MlflowClient
        from mlflow.entities import Metric, Param, RunTag
    except ImportError:
        raise ImportError("exporting to MLflow needs it: pip install 'sweepd[mlflow]'") from None

    client = MlflowClient(tracking_uri=tracking_uri)
    name = experiment or f"sweepd {sweep.name} (sweep {sweep.id})"
    found = client.get_experiment_by_name(name)
    experiment_id = found.experiment_id if found else client.create_experiment(
        name, artifact_location=artifact_location, tags={"sweepd.sweep_id": str(sweep.id)})
    runs = _existing_runs(client, experiment_id)
    spec = sweep.public.spec
    created = updated = unchanged = 0
    trials = sweep.trials()
    bar = _bar(len(trials), progress)
    for trial in trials:
        run = runs.get(trial.id)
        if run is not None and run.data.tags.get("sweepd.version") == _version(trial):
            unchanged += 1
        else:
            run_id = run.info.run_id if run is not None else client.create_run(
                experiment_id, start_time=_ms(trial.started_at),
                run_name=f"{trial.initializer_label} seed {trial.seed}",
                tags={"sweepd.trial_id": str(trial.id)}).info.run_id
            _log_trial(client, run_id, trial, spec, first=run is None,
                       entities=(Metric, Param, RunTag))
            if weights and trial.result is not None:
                _log_weights(client, run_id, sweep, trial)
            _finish(client, run_id, trial)
            created, updated = (created + 1, updated) if run is None else (created, updated + 1)
        bar.update(1)
    bar.close()
    return MlflowExport(experiment_id, created, updated, unchanged)


def _existing_runs(client: Any, experiment_id: str) -> dict[int, Any]:
    runs: dict[int, Any] = {}
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=1_000, page_token=token)
        for run in page:
            if "sweepd.trial_id" in run.data.tags:
                runs[int(run.data.tags["sweepd.trial_id"])] = run
        token = page.token
        if not token:
            return runs


def _version(trial: TrialPublic) -> str:
    """What decides whether a run is up to date: the trial's state and its weights' digest."""
    return f"{trial.state}:{trial.result.final_sha256 if trial.result else ''}"


def _log_trial(client: Any, run_id: str, trial: TrialPublic, spec: dict[str, Any], *,
               first: bool, entities: tuple[Any, Any, Any]) -> None:
    Metric, Param, RunTag = entities
    tags = [RunTag(k, str(v)) for k, v in {
        "sweepd.sweep_id": trial.sweep_id, "sweepd.trial_id": trial.id,
        "sweepd.cell_key": trial.cell_key, "initializer": trial.initializer_label,
        "seed": trial.seed, "state": trial.state, "sweepd.version": _version(trial),
        "sweepd.final_sha256": trial.result.final_sha256 if trial.result else ""}.items()]
    params = [Param(k, _param(v)) for k, v in _params(trial, spec).items()] if first else []
    metrics = _metrics(trial, Metric)
    # As few calls as MLflow's limits allow (100 params, 100 tags, 1 000 entities per batch):
    # one for a typical trial, each a transaction on the tracking store.
    while params or tags or metrics:
        p, params = params[:MAX_PARAMS], params[MAX_PARAMS:]
        t, tags = tags[:MAX_PARAMS], tags[MAX_PARAMS:]
        room = MAX_BATCH - len(p) - len(t)
        m, metrics = metrics[:room], metrics[room:]
        client.log_batch(run_id, metrics=m, params=p, tags=t)


def _params(trial: TrialPublic, spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"seed": trial.seed}
    for section in ("dataset", "model", "training"):
        out.update({f"{section}.{k}": v for k, v in (spec.get(section) or {}).items()})
    out.update({f"initializer.{k}": v for k, v in trial.initializer.items()})
    out.update(trial.params)  # grid values override the sweep-wide ones, by their dotted path
    return out


def _param(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _metrics(trial: TrialPublic, Metric: Any) -> list[Any]:
    r = trial.result
    if r is None:
        return []
    at = _ms(trial.finished_at)
    final = {"train_cost": None, "train_accuracy": r.train_accuracy, "test_cost": r.test_cost,
             "test_accuracy": r.test_accuracy, "train_cost_tail": r.train_cost_tail,
             "wall_seconds": r.wall_seconds}
    if r.tail is not None:
        final.update({f"tail_{k}": getattr(r.tail, k) for k in
                      ("train_cost", "train_accuracy", "test_cost", "test_accuracy")})
    out = [Metric(k, float(v), at, r.steps) for k, v in final.items() if v is not None]
    steps = [i * r.curve_every for i in range(len(r.curve) - 1)] + [r.steps]
    out += [Metric("train_cost", float(v), at, step) for step, v in zip(steps, r.curve)
            if v is not None]
    return out


def _log_weights(client: Any, run_id: str, sweep: Any, trial: TrialPublic) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "final.safetensors"
        path.write_bytes(sweep.client.weights_bytes(sweep.id, trial.id))
        client.log_artifact(run_id, str(path), artifact_path="weights")


def _finish(client: Any, run_id: str, trial: TrialPublic) -> None:
    status = {"completed": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}.get(trial.state)
    if status is not None:
        client.set_terminated(run_id, status=status, end_time=_ms(trial.finished_at))


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _bar(total: int, show: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="trial", desc="MLflow", disable=not show)
