"""Reading compose files as compose does, and knowing which command lines are real.

Loading (anchors and merge keys), override merging, `${VAR:-default}` / `${VAR:?message}`
interpolation, the programs a service runs (a `sh -c` script split at `&&`), and the check that a
command line is a real `sweepd` subcommand or `ray start` with options those CLIs define:
both CLIs are introspected (typer's click group and Ray's click `start` command), so a renamed
option fails the check. The rules themselves are in compose_rules.py.
"""

from __future__ import annotations

import copy
import re
import shlex
import warnings
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
_SHELL_SEPARATORS = re.compile(r"&&|\|\||;|\n")
_REPLACED_LISTS = {"command", "entrypoint", "test"}  # compose overrides these, merges the rest


# -- loading ---------------------------------------------------------------------------------


def load(name: str = "docker-compose.yml") -> dict[str, Any]:
    """Parse a compose file of the repository (YAML anchors and merge keys resolved)."""
    return yaml.safe_load((ROOT / name).read_text())


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Compose's override semantics: mappings merge, command/entrypoint/test are replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = merge(old, value)
        elif isinstance(old, list) and isinstance(value, list) and key not in _REPLACED_LISTS:
            merged[key] = old + [v for v in value if v not in old]
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def interpolate(value: str, env: Mapping[str, str], *, strict: bool = False) -> str:
    """Resolve compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` against `env`.

    Args:
        value: a string from the compose file.
        env: the variables compose would see (shell and .env).
        strict: raise for a missing required variable, as compose does; otherwise put a
            `<VAR>` placeholder there so the rest of the file can still be checked.

    Returns:
        The interpolated string (`$$` stays `$$`: it is the container's business).

    Raises:
        KeyError: strict and a `:?` variable is unset or empty.
    """
    def resolve(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"] or ""
        current = env.get(name)
        missing = current is None or (op.startswith(":") and current == "")
        if op.endswith("?") and missing:
            if strict:
                raise KeyError(f"{name}: {arg}")
            return f"<{name}>"
        if op.endswith("-") and missing:
            return arg
        return current or ""

    return _VAR.sub(resolve, value.replace("$$", "\0")).replace("\0", "$$")


def environment(service: Mapping[str, Any], env: Mapping[str, str] | None = None
                ) -> dict[str, str]:
    """A service's `environment` as a dict (list or mapping form), interpolated."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {k: interpolate(str(v), env or {}) for k, v in raw.items()}


def commands(service: Mapping[str, Any]) -> list[list[str]]:
    """The programs a service runs: its command split at shell separators, `$VAR` resolved."""
    argv = list(service.get("entrypoint") or []) + list(_as_argv(service.get("command")))
    if argv[:2] in (["sh", "-c"], ["bash", "-c"], ["/bin/sh", "-c"]) and len(argv) >= 3:
        script = _expand_container_vars(argv[2], environment(service))
        return [_strip_exec(shlex.split(part)) for part in _SHELL_SEPARATORS.split(script)
                if part.strip()]
    return [argv] if argv else []


def _as_argv(command: Any) -> list[str]:
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _expand_container_vars(script: str, env: Mapping[str, str]) -> str:
    # `$${X}` in the file is `${X}` for the container's shell, which sees the service's env.
    script = script.replace("$$", "$")
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m[1], m[0]), script)


def _strip_exec(argv: list[str]) -> list[str]:
    return argv[1:] if argv[:1] == ["exec"] else argv


# -- the programs the file may run -----------------------------------------------------------


@cache
def _sweepd_cli() -> Any:
    import typer.main

    from sweepd.cli import app

    return typer.main.get_command(app)


@cache
def _ray_start() -> Any:
    with warnings.catch_warnings():  # Ray's CLI module imports Ray Serve's pydantic models
        warnings.simplefilter("ignore", DeprecationWarning)
        from ray.scripts.scripts import cli

    return cli.commands["start"]


def argv_problem(argv: list[str]) -> str | None:
    """Why `argv` is not a real sweepd or `ray start` command line, or None when it is."""
    if argv[:2] == ["ray", "start"]:
        return _options_problem(_ray_start(), argv[2:], "ray start")
    if argv[:1] != ["sweepd"]:
        return f"{shlex.join(argv)!r} is neither a sweepd command nor `ray start`"
    command: Any = _sweepd_cli()
    rest = argv[1:]
    while hasattr(command, "commands"):  # a group (typer ships its own copy of click)
        if not rest or rest[0] not in command.commands:
            return f"{shlex.join(argv)!r}: no such sweepd subcommand"
        command, rest = command.commands[rest[0]], rest[1:]
    return _options_problem(command, rest, shlex.join(argv[: len(argv) - len(rest)]))


def _options_problem(command: Any, args: list[str], name: str) -> str | None:
    options = {opt: p for p in command.params if p.param_type_name == "option"
               for opt in (*p.opts, *p.secondary_opts)}
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    positional = 0
    tokens = iter(args)
    for token in tokens:
        if not token.startswith("-"):
            positional += 1
            continue
        flag, _, inline = token.partition("=")
        option = options.get(flag)
        if option is None:
            return f"{name}: unknown option {flag}"
        if not option.is_flag and not inline and next(tokens, None) is None:
            return f"{name}: option {flag} needs a value"
    if positional > len(arguments) and not any(a.nargs == -1 for a in arguments):
        return f"{name}: {positional} positional arguments, takes {len(arguments)}"
    if positional < sum(1 for a in arguments if a.required):
        return f"{name}: missing positional arguments"
    return None


def is_sweepd_service(service: Mapping[str, Any]) -> bool:
    """A service built from this repository (as opposed to a stock image such as postgres)."""
    return "build" in service


def runs(service: Mapping[str, Any], *prefix: str) -> bool:
    return any(argv[: len(prefix)] == list(prefix) for argv in commands(service))


def option_value(service: Mapping[str, Any], prefix: tuple[str, ...], flag: str) -> str | None:
    for argv in commands(service):
        if argv[: len(prefix)] == list(prefix):
            for i, token in enumerate(argv):
                if token.startswith(flag + "="):
                    return token.split("=", 1)[1]
                if token == flag and i + 1 < len(argv):
                    return argv[i + 1]
    return None
