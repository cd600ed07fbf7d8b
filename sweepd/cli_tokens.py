"""`sweepd token create|show|list|revoke`: manage API tokens (talks to the database, so all but
`show` need the `server` extra)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from sweepd.cli import console, need_server

token_app = typer.Typer(no_args_is_help=True, help="Manage API tokens (talks to the database).")


@token_app.command("create")
def token_create(name: str, user: Annotated[str, typer.Option(help="User name.")] = "admin",
                 admin: Annotated[bool, typer.Option(help="Create the user as admin.")] = False,
                 save: Annotated[bool, typer.Option(help="Save it as the local token.")] = False,
                 ) -> None:
    """Create a token (and the user if missing); it is printed once and stored hashed."""
    need_server("token create")
    from sweepd import tokenfile
    from sweepd.bootstrap import open_service_store
    from sweepd.settings import load_settings

    settings = load_settings()
    store = open_service_store(settings)
    found = store.find_user(user)
    record = found or store.create_user(user, is_admin=admin)
    _, raw = store.create_token(record.id, name)
    if save:
        tokenfile.save(settings.url, raw, settings.resolved_token_file)
    # The token alone on stdout (for TOKEN=$(...)); what it is on stderr, for the person.
    typer.echo(f"Token {name!r} for user {user!r}: shown once, stored hashed — keep it now"
               + (f" (also saved to {settings.resolved_token_file})" if save else "") + ".",
               err=True)
    typer.echo(raw)


@token_app.command("show")
def token_show() -> None:
    """Print the saved local token (for curl: TOKEN=$(sweepd token show))."""
    from sweepd import tokenfile

    saved = tokenfile.load()
    if saved is None:
        console.print("[red]error:[/] no saved token: run `sweepd serve` once, or "
                      "`sweepd token create NAME --save`")
        raise typer.Exit(1)
    typer.echo(saved[1])


@token_app.command("list")
def token_list(user: Annotated[str, typer.Option(help="User name.")] = "admin") -> None:
    """List a user's tokens (prefixes only; the tokens themselves are never stored)."""
    need_server("token list")
    from sweepd.bootstrap import open_service_store
    from sweepd.settings import load_settings

    store = open_service_store(load_settings())
    found = store.find_user(user)
    if found is None:
        raise typer.BadParameter(f"no user {user!r}")
    table = Table("id", "name", "prefix", "created", "revoked")
    for t in store.list_tokens(found.id):
        table.add_row(str(t.id), t.name, t.prefix + "…", f"{t.created_at:%Y-%m-%d %H:%M}",
                      f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "")
    console.print(table)
    sessions = Table("session", "token", "started", "last used", "expires", "revoked",
                     title="web sessions (revoke with --session)")
    for w in store.list_web_sessions(found.id):
        sessions.add_row(str(w.id), str(w.token_id), f"{w.created_at:%Y-%m-%d %H:%M}",
                         f"{w.last_used_at:%Y-%m-%d %H:%M}" if w.last_used_at else "",
                         f"{w.expires_at:%Y-%m-%d %H:%M}",
                         f"{w.revoked_at:%Y-%m-%d %H:%M}" if w.revoked_at else "")
    console.print(sessions)


@token_app.command("revoke")
def token_revoke(token_id: int, session: Annotated[bool, typer.Option(
        "--session", help="The id is a web session's (`token list`), not a token's.")] = False,
                 ) -> None:
    """Revoke a token by id (its web sessions end with it), or one web session."""
    need_server("token revoke")
    from sweepd.bootstrap import open_service_store
    from sweepd.settings import load_settings

    store = open_service_store(load_settings())
    if session:
        store.revoke_web_session(token_id)
        console.print(f"web session {token_id} revoked")
        return
    store.revoke_token(token_id)
    console.print(f"token {token_id} revoked")
