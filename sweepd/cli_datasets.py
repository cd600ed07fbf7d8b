"""`sweepd dataset add|list|show`: upload a data set and look at yours (issue 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from sweepd.cli import JsonOpt, TokenOpt, UrlOpt, _client, _print_json, console

dataset_app = typer.Typer(no_args_is_help=True, help="Upload data sets and sweep on them.")


@dataset_app.command("add")
def add(file: Annotated[Path, typer.Argument(help="A .csv, .parquet or .npz (arrays x, y) "
                                             "file.", exists=True, dir_okay=False)],
        target: Annotated[Optional[str], typer.Option(
            "--target", help="The label column of a CSV or Parquet table.")] = None,
        name: Annotated[Optional[str], typer.Option(help="A name (default: the file's).")]
        = None,
        task: Annotated[str, typer.Option(help=(
            "classification, regression (a numeric target, swept with loss mse) or auto "
            "(regression for a fractional target)."))] = "auto",
        as_json: JsonOpt = False, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Upload a data set; a spec then names it as `dataset: {name: uploaded, id: ID}`."""
    record = _client(url, token).upload_dataset(path=file, target=target, name=name,
                                                task=task)
    if as_json:
        _print_json(record.model_dump(mode="json"))
        return
    verb = "uploaded" if record.created else "already uploaded"
    what = ("a regression target (sweep it with training.loss: mse)"
            if record.task == "regression" else f"{record.n_classes} classes")
    console.print(f"{verb} data set {record.id}: {record.n_rows} rows × {record.n_features} "
                  f"features, {what} (sha256 {record.sha256[:12]})")


@dataset_app.command("list")
def list_cmd(limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
             as_json: JsonOpt = False, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """List your data sets."""
    records = _client(url, token).list_datasets(limit=limit)
    if as_json:
        _print_json([r.model_dump(mode="json") for r in records])
        return
    table = Table("id", "name", "rows", "features", "classes", "sha256", "created")
    for r in records:
        table.add_row(str(r.id), r.name, str(r.n_rows), str(r.n_features),
                      "regression" if r.task == "regression" else str(r.n_classes),
                      r.sha256[:12], f"{r.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@dataset_app.command("show")
def show(ref: Annotated[str, typer.Argument(help="The data set's id or sha256.")],
         as_json: JsonOpt = False, url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Show a data set: shape, classes and counts, columns, sha256."""
    r = _client(url, token).get_dataset(int(ref) if ref.isdigit() else ref)
    if as_json:
        _print_json(r.model_dump(mode="json"))
        return
    what = ("a regression target (sweep it with training.loss: mse)"
            if r.task == "regression" else f"{r.n_classes} classes")
    console.print(f"data set {r.id} {r.name!r}: {r.n_rows} rows × {r.n_features} features, "
                  f"{what}")
    if r.class_names:
        console.print("classes: " + ", ".join(f"{n} ({c})" for n, c in
                                               zip(r.class_names, r.class_counts)))
    shown = ", ".join(r.feature_names[:20]) + (" ..." if r.n_features > 20 else "")
    console.print(f"features: {shown}")
    console.print(f"sha256 {r.sha256}, {r.size_bytes} bytes, uploaded {r.created_at:%Y-%m-%d %H:%M}")
