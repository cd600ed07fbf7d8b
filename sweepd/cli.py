"""The `sweepd` command line: run the service, submit and follow sweeps, fetch results.

Server commands (`serve` and `dispatcher`, added by `sweepd_service.cli` through the
`sweepd.commands` entry point; `migrate`, `token`, `demo`) need the `server` extra; the others
only talk HTTP to a running service through `sweepd.Client`.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from sweepd.errors import InvalidSpec, SweepdError

app = typer.Typer(no_args_is_help=True,
                  help="Seed × initializer sweeps of neural networks, stored and compared.")
# On a terminal rich uses its width; piped or redirected, 80 columns would cut the tables' columns
# to "…", so files and pipes get 120 (COLUMNS still wins, as rich reads it first).
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120)

UrlOpt = Annotated[Optional[str], typer.Option("--url", envvar="SWEEPD_URL",
                                               help="Service URL.")]
TokenOpt = Annotated[Optional[str], typer.Option("--token", envvar="SWEEPD_TOKEN",
                                                 help="API token.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead.")]


def _version(show: bool) -> None:
    if show:
        from sweepd import __version__

        typer.echo(f"sweepd {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")]
        = False) -> None:
    """Seed × initializer sweeps of neural networks, stored and compared."""


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def _load_commands(target: typer.Typer) -> None:
    """Commands that other packages add through the `sweepd.commands` entry-point group: the
    composition root (`sweepd_service.cli`) adds `serve` and `dispatcher` this way, so this module
    never imports the layers above the domain."""
    for entry in entry_points(group="sweepd.commands"):
        entry.load()(target)


SERVER_PACKAGES = ("sqlalchemy", "alembic", "fastapi", "uvicorn", "ray", "torch", "scipy")


def need_server(command: str) -> None:
    """Stop with one line, not a traceback, when the server extra is missing."""
    from importlib.util import find_spec

    missing = [name for name in SERVER_PACKAGES if find_spec(name) is None]
    if missing:
        console.print(f"[red]error:[/] `sweepd {command}` runs the service side and needs "
                      f"{', '.join(missing)}: pip install 'sweepd\\[server]'", soft_wrap=True)
        raise typer.Exit(EXIT_INVALID)


def _client(url: str | None, token: str | None) -> Any:
    from sweepd.client import Client

    return Client(url=url, token=token)


# -- service --------------------------------------------------------------------------------


@app.command()
def migrate(database_url: Annotated[Optional[str], typer.Option(
        help="Database URL (default: SWEEPD_DATABASE_URL or the embedded SQLite file).")] = None
            ) -> None:
    """Upgrade the database schema to the current Alembic head."""
    need_server("migrate")
    from sweepd.settings import load_settings
    from sweepd.storage.schema import head_revision
    from sweepd.storage.schema import migrate as run

    settings = load_settings(**({"database_url": database_url} if database_url else {}))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    run(settings.resolved_database_url)
    console.print(f"database at revision [bold]{head_revision()}[/] (head)")


@app.command("open")
def open_cmd(sweep_id: Annotated[Optional[int], typer.Argument(
        help="Open this sweep's page (default: the list).")] = None,
             print_only: Annotated[bool, typer.Option(
                 "--print", help="Print the link instead of opening a browser.")] = False,
             url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Open the web page signed in: a link that works once, for a short time.

    The link is asked for with the token (the saved local one by default), so only someone
    who can read the token file, or holds a token, can sign a browser in this way.
    """
    import webbrowser
    from urllib.parse import quote

    with _client(url, token) as client:
        link = client.signin_link()
    if sweep_id is not None:
        link += "&next=" + quote(f"/sweeps/{sweep_id}", safe="")
    if print_only or not webbrowser.open(link):
        typer.echo(link)
    else:
        console.print("opened the web page in your browser (the link works once)")


# -- sweeps ---------------------------------------------------------------------------------


@app.command()
def submit(spec: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                                help="YAML or JSON spec file.")],
           wait: Annotated[bool, typer.Option(help="Wait with a progress bar.")] = False,
           idempotency_key: Annotated[Optional[str], typer.Option(
               help="Submit at most once under this key (a retry returns the same sweep).")] = None,
           url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Submit a sweep from a spec file."""
    client = _client(url, token)
    sweep = client.submit(spec, idempotency_key=idempotency_key)
    console.print(f"sweep [bold]{sweep.id}[/] {sweep.name!r}: {sweep.n_trials} trials, "
                  f"{sweep.state}")
    if wait:
        _finish(client, sweep.wait().id)


@app.command("list")
def list_cmd(limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
             name: Annotated[Optional[str], typer.Option(help="Only sweeps with this name.")]
             = None, as_json: JsonOpt = False, url: UrlOpt = None,
             token: TokenOpt = None) -> None:
    """List your sweeps."""
    sweeps = _client(url, token).list(limit=limit, name=name)
    if as_json:
        _print_json([s.public.model_dump(mode="json") for s in sweeps])
        return
    table = Table("id", "name", "state", "trials", "done", "created")
    for s in sweeps:
        done = sum(s.counts.get(k, 0) for k in ("completed", "failed", "cancelled"))
        table.add_row(str(s.id), s.name, s.state, str(s.n_trials), f"{done}/{s.n_trials}",
                      f"{s.public.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@app.command()
def status(sweep_id: int, as_json: JsonOpt = False, url: UrlOpt = None,
           token: TokenOpt = None) -> None:
    """Show a sweep's state and trial counts."""
    s = _client(url, token).get(sweep_id)
    if as_json:
        _print_json(s.public.model_dump(mode="json"))
        return
    console.print(f"sweep [bold]{s.id}[/] {s.name!r}: [bold]{s.state}[/], "
                  f"{s.public.progress:.0%} done")
    console.print("  " + "  ".join(f"{k}: {v}" for k, v in s.counts.items()))
    if s.state == "paused":
        console.print(f"  paused: no new trials start until `sweepd resume {s.id}`")
    if s.public.stop_reason:
        console.print(f"  seeds until decided: stopped ({s.public.stop_reason}); each look: "
                      f"sweepd seeds history {s.id}")


@app.command("wait")
def wait_cmd(sweep_id: int, timeout: Annotated[Optional[float], typer.Option(
        help="Give up after this many seconds (exit code 5).")] = None,
             url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Wait for a sweep to finish, with a progress bar."""
    client = _client(url, token)
    client.wait(sweep_id, timeout=timeout)
    _finish(client, sweep_id)


@app.command()
def trials(sweep_id: int,
           state: Annotated[Optional[str], typer.Option(
               help="pending, running, completed, failed or cancelled.")] = None,
           initializer: Annotated[Optional[str], typer.Option(
               help="An initializer label, e.g. glorot_uniform.")] = None,
           seed: Annotated[Optional[int], typer.Option(help="One seed.")] = None,
           csv: Annotated[bool, typer.Option(help="Print CSV instead of a table.")] = False,
           as_json: JsonOpt = False, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """List a sweep's trials with their metrics."""
    rows = _client(url, token).trial_rows(sweep_id, state=state, initializer=initializer,
                                          seed=seed)
    if as_json:
        _print_json(rows)
        return
    if csv:
        import csv as csv_module

        fields = list(dict.fromkeys(k for row in rows for k in row))
        writer = csv_module.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore",
                                       lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _csv_value(v) for k, v in row.items()} for row in rows)
        return
    # Metrics that some trial has: accuracies for classes, R² for a regression target.
    cols = [c for c in ("id", "initializer", "seed", "state", "attempt") if any(
        c in row for row in rows)] + [c for c in (
            "test_accuracy", "train_accuracy", "test_r2", "train_r2", "train_cost_tail",
            "test_cost") if any(row.get(c) is not None for row in rows)]
    table = Table(*cols)
    for row in rows:
        table.add_row(*(_fmt(row.get(c)) for c in cols))
    console.print(table)


@app.command()
def weights(sweep_id: int, trial_id: int,
            which: Annotated[str, typer.Option(help="final or initial")] = "final",
            output: Annotated[Optional[Path], typer.Option("-o", "--output",
                                                           help="Save the .safetensors file.")]
            = None, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Print a trial's weights, or save them as a safetensors file with -o."""
    client = _client(url, token)
    if output is not None:
        output.write_bytes(client.weights_bytes(sweep_id, trial_id, which=which))
        console.print(f"saved {output}")
        return
    for name, array in client.weights(sweep_id, trial_id, which=which).items():
        console.print(f"[bold]{name}[/] {tuple(array.shape)}\n{array}")


@app.command()
def export(sweep_id: int,
           output: Annotated[Optional[Path], typer.Option(
               "-o", "--output", help="The file: .parquet or .csv for the trials, "
               ".safetensors for the stacked weights.")] = None,
           which: Annotated[str, typer.Option(
               help="With a .safetensors output: final or initial weights.")] = "final",
           to: Annotated[Optional[str], typer.Option(
               "--to", help="Export to a tool instead of a file: mlflow.")] = None,
           tracking_uri: Annotated[Optional[str], typer.Option(
               envvar="MLFLOW_TRACKING_URI", help="With --to mlflow: e.g. sqlite:///mlflow.db.")]
           = None,
           experiment: Annotated[Optional[str], typer.Option(
               help="With --to mlflow: the experiment (default: named after the sweep).")] = None,
           url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Export a sweep: every trial to Parquet/CSV, the weights stacked, or one MLflow run per trial."""
    client = _client(url, token)
    if to is not None:
        if to != "mlflow" or not tracking_uri:
            raise typer.BadParameter("--to mlflow needs --tracking-uri (or MLFLOW_TRACKING_URI)")
        done = client.get(sweep_id).export_mlflow(tracking_uri, experiment=experiment,
                                                  progress=sys.stderr.isatty())
        console.print(str(done))
        return
    if output is None:
        raise typer.BadParameter("say where: -o sweep.parquet, -o sweep.csv or -o w.safetensors")
    if output.suffix.lower() == ".safetensors":
        client.export_weights(sweep_id, output, which=which)
    else:
        client.export(sweep_id, output)
    console.print(f"saved {output} ({output.stat().st_size / 1024:.0f} KiB)")


@app.command()
def cancel(sweep_id: int, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Cancel a sweep: pending and running trials stop."""
    s = _client(url, token).cancel(sweep_id)
    if s.state == "cancelled":
        console.print(f"sweep {s.id} cancelled: {s.counts.get('completed', 0)} of {s.n_trials} "
                      "trials had finished and keep their results")
    else:
        console.print(f"sweep {s.id} had already ended ({s.state}): nothing to cancel")


@app.command()
def pause(sweep_id: int, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Pause a sweep: no new trials start; running trials finish and keep their results."""
    client = _client(url, token)
    was = client.get(sweep_id).state
    s = client.pause_sweep(sweep_id)
    verb = "was already paused" if was == "paused" else "is paused"
    running = s.counts.get("running", 0)
    console.print(f"Sweep {s.id} {verb}: no new trials start; {_trials(running, 'running')} "
                  f"{'finishes' if running == 1 else 'finish'}. Resume with: sweepd resume {s.id}",
                  soft_wrap=True)


@app.command()
def resume(sweep_id: int, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Resume a paused sweep: its pending trials start again."""
    client = _client(url, token)
    was = client.get(sweep_id).state
    s = client.resume_sweep(sweep_id)
    pending = s.counts.get("pending", 0)
    if was == "paused":
        console.print(f"Sweep {s.id} is resumed ({s.state}): its {_trials(pending, 'pending')} "
                      f"{'starts' if pending == 1 else 'start'} as workers free up.",
                      soft_wrap=True)
    else:
        console.print(f"Sweep {s.id} was not paused ({s.state}): nothing to resume.",
                      soft_wrap=True)


@app.command("models")
def models_cmd(as_json: JsonOpt = False) -> None:
    """List the model plugins installed here (what `model.plugin` may name) and their params."""
    from sweepd import models_registry

    plugins = models_registry.describe_all()
    if as_json:
        _print_json(plugins)
        return
    console.print(f"{len(plugins)} model plugins installed (a spec names one as model.plugin):")
    table = Table("plugin", "engine", "params (default)", "description")
    for p in plugins:
        props = (p["params"] or {}).get("properties", {})
        params = ", ".join(f"{k} ({json.dumps(v['default']) if 'default' in v else '…'})"
                           for k, v in props.items())
        table.add_row(p["name"], p["engine"], params, p["description"])
    console.print(table)


@app.command()
def compare(sweep_id: int,
            tolerance: Annotated[float, typer.Option(
                help="Largest aligned relative distance within one solution.")] = 0.05,
            metric: Annotated[str, typer.Option(
                help="The metric of the paired details.")] = "test_accuracy",
            as_json: JsonOpt = False,
            details: Annotated[bool, typer.Option(
                "--details", help="Also the solutions, paired tests and notes.")] = False,
            url: UrlOpt = None, token: TokenOpt = None) -> None:
    """The verdict (is it OK, which initializer, how many seeds), then a table; --details."""
    view = _client(url, token).compare(sweep_id, tolerance=tolerance, metric=metric)
    if as_json:
        typer.echo(json.dumps(view.raw, indent=2))
        return
    view.print(console, details=details)


@app.command()
def demo(steps: Annotated[int, typer.Option(help="GD steps per trial (10 000 = the course).")]
         = 10_000,
         seeds: Annotated[int, typer.Option(help="Seeds per initializer.")] = 8,
         port: Annotated[Optional[int], typer.Option(
             help="Port of the embedded service (default: SWEEPD_PORT, else 8642).")] = None,
         keep_serving: Annotated[bool, typer.Option(
             help="Keep the service running after the summary (Ctrl-C stops it).")] = True,
         ) -> None:
    """The main job: the moons seed study on the embedded service, end to end over REST."""
    need_server("demo")
    from sweepd.demo import run_demo
    from sweepd.settings import load_settings

    port = port if port is not None else load_settings().port
    raise typer.Exit(run_demo(steps=steps, seeds=seeds, port=port, keep_serving=keep_serving,
                              console=console))


def _finish(client: Any, sweep_id: int) -> None:
    """The verdict of a finished sweep; a failed or cancelled one also ends with its exit code."""
    sweep = client.get(sweep_id)
    if sweep.counts.get("completed", 0):
        client.compare(sweep_id).print(console)
    if sweep.state != "completed":
        console.print(f"sweep {sweep_id} ended [red]{sweep.state}[/]: {sweep.counts}")
        raise typer.Exit(EXIT_FAILED if sweep.state == "failed" else EXIT_CANCELLED)


def _trials(n: int, state: str) -> str:
    return f"{n} {state} trial{'' if n == 1 else 's'}"


def _csv_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


_load_commands(app)


EXIT_INVALID = 2  # a bad spec file, option or query
EXIT_FAILED = 3  # the sweep ended failed
EXIT_CANCELLED = 4  # the sweep ended cancelled
EXIT_TIMEOUT = 5  # --timeout passed before the sweep ended


def main() -> None:
    """Entry point: turn sweepd errors into readable lines and an exit code (tracebacks only
    with SWEEPD_DEBUG=1)."""
    import os

    try:
        app()
    except (SweepdError, TimeoutError) as exc:
        if os.environ.get("SWEEPD_DEBUG"):
            raise
        sys.exit(_report(exc))


def _report(exc: Exception) -> int:
    if isinstance(exc, TimeoutError):
        console.print(f"[red]timeout:[/] {exc}")
        return EXIT_TIMEOUT
    assert isinstance(exc, SweepdError)
    console.print(f"[red]error:[/] {exc.detail}")
    for err in exc.errors:
        console.print(f"  {'.'.join(str(p) for p in err.get('loc', []))}: {err.get('msg')}")
    return EXIT_INVALID if isinstance(exc, InvalidSpec) else 1


from sweepd.cli_tokens import token_app  # noqa: E402  (it uses this module's console, need_server)

app.add_typer(token_app, name="token")

from sweepd.cli_seeds import seeds_app  # noqa: E402  (it uses this module's options and console)

app.add_typer(seeds_app, name="seeds")

from sweepd.cli_datasets import dataset_app  # noqa: E402  (it uses this module's options)

app.add_typer(dataset_app, name="dataset")
