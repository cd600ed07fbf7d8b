"""The server commands of `sweepd`, registered through the `sweepd.commands` entry point.

`sweepd.cli` loads every function of that entry-point group and hands it the Typer app, so
the domain's command line gains `serve` and `dispatcher` without importing this package.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from sweepd.cli import need_server


def register(app: typer.Typer) -> None:
    """Add `serve` and `dispatcher` to the `sweepd` command line, first in its help."""
    app.command()(serve)
    app.command("dispatcher")(dispatcher_cmd)
    app.registered_commands[:0] = [app.registered_commands.pop(-2),
                                   app.registered_commands.pop(-1)]


def serve(host: Annotated[Optional[str], typer.Option(help="Bind address.")] = None,
          port: Annotated[Optional[int], typer.Option(help="Port.")] = None,
          dispatcher: Annotated[bool, typer.Option(help="Run the dispatcher in this process.")]
          = True) -> None:
    """Run the service (API + dispatcher). Embedded default: SQLite + a local Ray."""
    need_server("serve")
    from sweepd.settings import load_settings
    from sweepd_service.server import serve as run

    overrides: dict[str, Any] = {"run_dispatcher": dispatcher}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    run(load_settings(**overrides))


def dispatcher_cmd() -> None:
    """Run only the dispatcher (with API replicas started by `serve --no-dispatcher`)."""
    need_server("dispatcher")
    from sweepd.settings import load_settings
    from sweepd_service.server import run_dispatcher_only

    run_dispatcher_only(load_settings())
