"""The server commands of `sweepd`, registered through the `sweepd.commands` entry point.

`sweepd.cli` loads every function of that entry-point group and hands it the Typer app, so
the domain's command line gains `serve`, `dispatcher` and `backup` without importing this
package. Every option defaults to None, meaning "as the settings say" (`SWEEPD_*` variables):
a default here would override the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from sweepd.cli import need_server

PG_DUMP_ADVICE = ("PostgreSQL is backed up with its own tools, while the service runs:\n"
                  "  pg_dump --format=custom --file=sweepd.dump \"$SWEEPD_DATABASE_URL\"\n"
                  "and restored into an empty database with\n"
                  "  pg_restore --dbname=\"$SWEEPD_DATABASE_URL\" sweepd.dump")


def register(app: typer.Typer) -> None:
    """Add `serve` and `dispatcher` to the `sweepd` command line, first in its help, and
    `backup` after the others."""
    app.command()(serve)
    app.command("dispatcher")(dispatcher_cmd)
    app.registered_commands[:0] = [app.registered_commands.pop(-2),
                                   app.registered_commands.pop(-1)]
    app.command()(backup)


def serve(host: Annotated[Optional[str], typer.Option(
              help="Bind address (default: SWEEPD_HOST, else 127.0.0.1).")] = None,
          port: Annotated[Optional[int], typer.Option(
              help="Port (default: SWEEPD_PORT, else 8642).")] = None,
          dispatcher: Annotated[Optional[bool], typer.Option(
              help="Run the dispatcher in this process (default: SWEEPD_RUN_DISPATCHER, "
                   "else yes).", show_default=False)] = None) -> None:
    """Run the service (API + dispatcher). Embedded default: SQLite + a local Ray."""
    need_server("serve")
    from sweepd.settings import load_settings
    from sweepd_service.server import serve as run

    run(load_settings(**_given(host=host, port=port, run_dispatcher=dispatcher)))


def dispatcher_cmd() -> None:
    """Run only the dispatcher (with API replicas started by `serve --no-dispatcher`)."""
    need_server("dispatcher")
    from sweepd.settings import load_settings
    from sweepd_service.server import run_dispatcher_only

    run_dispatcher_only(load_settings())


def backup(target: Annotated[Path, typer.Argument(
        help="The file to write (it must not exist).", dir_okay=False)]) -> None:
    """Copy the live SQLite database to FILE (consistent while the service runs).

    Restore by stopping the service and putting FILE in place of sweepd.db (removing any
    sweepd.db-wal and sweepd.db-shm beside it). For PostgreSQL it says how to use pg_dump.
    """
    need_server("backup")
    from sqlalchemy.engine import make_url

    from sweepd.cli import EXIT_INVALID, console
    from sweepd.settings import load_settings
    from sweepd.storage.database import backup as copy
    from sweepd.storage.database import create_engine, sqlite_file

    url = load_settings().resolved_database_url
    if make_url(url).get_backend_name() != "sqlite":
        console.print(PG_DUMP_ADVICE)
        raise typer.Exit(EXIT_INVALID)
    source = sqlite_file(url)
    problem = (f"there is no database at {source}" if source is None or not Path(source).exists()
               else f"{target} exists; a backup does not overwrite a file"
               if target.exists() else None)
    if problem:
        console.print(f"[red]error:[/] {problem}")
        raise typer.Exit(EXIT_INVALID)
    engine = create_engine(url)
    try:
        copy(engine, target)
    finally:
        engine.dispose()
    console.print(f"backed the database up to {target} ({target.stat().st_size} bytes)")


def _given(**options: Any) -> dict[str, Any]:
    """The options given on the command line (not None), as settings overrides."""
    return {name: value for name, value in options.items() if value is not None}
