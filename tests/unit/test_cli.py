"""The command line as a new user meets it (issue 13): bad spec files get the message, not a
traceback, and exit 2; a sweep that ends failed or cancelled exits non-zero; a timeout says so."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
import typer

from sweepd import cli

OFFLINE = ["--url", "http://127.0.0.1:9", "--token", "swd_x"]  # nothing listens there


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sweepd", *args], capture_output=True,
                          text=True, timeout=120, env={"COLUMNS": "120", "PATH": "/usr/bin"})


def test_submit_invalid_spec_file_names_every_bad_field_without_traceback(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(textwrap.dedent("""
        name: bad
        dataset: {name: moons, noise: -1}
        training: {learning_rate: 0}
        initializers: [glorot_uniform, not_an_initializer]
    """))
    out = _run("submit", str(spec), *OFFLINE)
    assert out.returncode == cli.EXIT_INVALID
    text = out.stdout + out.stderr
    assert "Traceback" not in text
    assert "invalid field" in text
    assert "dataset.noise" in text and "training.learning_rate" in text


def test_submit_broken_yaml_says_where(tmp_path):
    spec = tmp_path / "broken.yaml"
    spec.write_text("name: x\ndataset: {name: moons\n")
    out = _run("submit", str(spec), *OFFLINE)
    assert out.returncode == cli.EXIT_INVALID
    assert "not valid YAML at line" in out.stdout and "Traceback" not in out.stdout + out.stderr


def _client_with(state: str, counts: dict[str, int]) -> SimpleNamespace:
    compared = []
    return SimpleNamespace(
        get=lambda sweep_id: SimpleNamespace(state=state, counts=counts),
        compare=lambda sweep_id: SimpleNamespace(print=lambda console: compared.append(1)),
        compared=compared)


@pytest.mark.parametrize(("state", "code"), [("failed", cli.EXIT_FAILED),
                                             ("cancelled", cli.EXIT_CANCELLED)])
def test_finish_exits_non_zero_when_the_sweep_did_not_complete(state, code):
    client = _client_with(state, {"completed": 2, state: 1})
    with pytest.raises(typer.Exit) as caught:
        cli._finish(client, 1)
    assert caught.value.exit_code == code and client.compared == [1]


def test_finish_prints_the_verdict_and_returns_for_a_completed_sweep():
    client = _client_with("completed", {"completed": 3})
    cli._finish(client, 1)
    assert client.compared == [1]


def test_report_turns_a_timeout_into_its_exit_code():
    assert cli._report(TimeoutError("sweep 1 still running after 5 s")) == cli.EXIT_TIMEOUT


def test_trials_csv_needs_no_pandas(monkeypatch):
    from typer.testing import CliRunner

    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now fails
    rows = [{"id": 1, "seed": 0, "initializer": "zeros", "state": "completed",
             "test_accuracy": 0.5, "params": {"lr": 1}},
            {"id": 2, "seed": 1, "initializer": "ones", "state": "failed"}]
    monkeypatch.setattr(cli, "_client", lambda url, token: SimpleNamespace(
        trial_rows=lambda sweep_id, **filters: rows))
    result = CliRunner().invoke(cli.app, ["trials", "1", "--csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "id,seed,initializer,state,test_accuracy,params"
    assert lines[1] == '1,0,zeros,completed,0.5,"{""lr"": 1}"' and lines[2] == "2,1,ones,failed,,"


def test_trials_frame_says_which_extra_to_install(monkeypatch):
    from sweepd.client import Client

    monkeypatch.setitem(sys.modules, "pandas", None)
    client = Client(url="http://127.0.0.1:9", token="swd_x")
    monkeypatch.setattr(client, "trial_rows", lambda sweep_id, **filters: [])
    with pytest.raises(ImportError, match=r"sweepd\[pandas\]"):
        client.trials_frame(1)


def test_demo_refuses_a_port_taken_by_something_else():
    import socket

    with socket.socket() as sock:  # a listener that is not sweepd
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        out = _run("demo", "--port", str(port), "--steps", "10", "--seeds", "1")
    assert out.returncode == 2
    assert f"port {port} is in use" in out.stdout


def test_demo_takes_its_port_from_the_settings(monkeypatch):
    from typer.testing import CliRunner

    import sweepd.demo

    seen = {}
    monkeypatch.setattr(sweepd.demo, "run_demo", lambda **kw: seen.update(kw) or 0)
    monkeypatch.setenv("SWEEPD_PORT", "8711")
    result = CliRunner().invoke(cli.app, ["demo", "--steps", "10"])
    assert result.exit_code == 0 and seen["port"] == 8711


def test_token_show_prints_the_saved_token(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sweepd import tokenfile

    monkeypatch.setenv("SWEEPD_TOKEN_FILE", str(tmp_path / "token.json"))
    assert CliRunner().invoke(cli.app, ["token", "show"]).exit_code == 1  # nothing saved yet
    tokenfile.save("http://127.0.0.1:8642", "swd_secret", tmp_path / "token.json")
    result = CliRunner().invoke(cli.app, ["token", "show"])
    assert result.exit_code == 0 and result.output.strip() == "swd_secret"


def test_example_specs_of_the_readme_are_valid():
    import json
    from pathlib import Path

    from sweepd.spec import SweepSpec

    root = Path(__file__).resolve().parents[2] / "examples"
    assert SweepSpec.from_file(root / "moons.yaml").n_trials == 800
    assert SweepSpec.model_validate(json.loads((root / "spec.json").read_text())).n_trials == 24


def _commands(group, prefix=""):
    import click

    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_option_of_every_command_has_help_text():
    import typer.main

    root = typer.main.get_command(cli.app)
    missing = [f"{name} {param.opts[0]}" for name, command in _commands(root)
               for param in command.params
               if param.param_type_name == "option" and param.opts[0] != "--help"
               and not getattr(param, "help", None)]
    assert missing == []


@pytest.mark.parametrize("command", ["list", "status", "trials", "compare"])
def test_read_commands_offer_json(command):
    import typer.main

    params = dict(_commands(typer.main.get_command(cli.app)))[command].params
    assert any("--json" in p.opts for p in params)


def test_version_prints_the_package_version():
    from typer.testing import CliRunner

    from sweepd import __version__

    result = CliRunner().invoke(cli.app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"sweepd {__version__}"


@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["token", "list"]])
def test_server_commands_without_the_server_extra_say_what_to_install(command):
    code = textwrap.dedent(f"""
        import importlib.util, sys
        real = importlib.util.find_spec
        importlib.util.find_spec = lambda name, *a: None if name == "sqlalchemy" else real(name, *a)
        sys.argv = ["sweepd", *{command!r}]
        from sweepd.cli import main
        main()
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == cli.EXIT_INVALID, out.stderr
    assert "pip install 'sweepd[server]'" in out.stdout and "Traceback" not in out.stderr


@pytest.mark.parametrize("state, said", [
    ("cancelled", "sweep 4 cancelled: 2 of 6 trials had finished and keep their results"),
    ("completed", "sweep 4 had already ended (completed): nothing to cancel"),
])
def test_cancel_says_what_happened(monkeypatch, state, said):
    from typer.testing import CliRunner

    ended = SimpleNamespace(id=4, state=state, n_trials=6, counts={"completed": 2})
    monkeypatch.setattr(cli, "_client", lambda url, token: SimpleNamespace(
        cancel=lambda sweep_id: ended))
    result = CliRunner().invoke(cli.app, ["cancel", "4"])
    assert result.exit_code == 0 and said in " ".join(result.output.split())


def test_tables_piped_to_a_file_are_not_cut_to_80_columns(tmp_path):
    """Redirected output is 120 columns wide, so the ranking table keeps its columns."""
    code = "import sys; from sweepd import cli; print(cli.console.width)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin"})
    assert out.stdout.strip() == "120", out.stderr
    wide = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin", "COLUMNS": "90"})
    assert wide.stdout.strip() == "90"


def test_token_create_prints_the_token_alone_on_stdout_and_says_what_it_is_on_stderr(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sweepd", "token", "create", "ci", "--user", "alice"],
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin", "SWEEPD_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("swd_") and len(done.stdout.split()) == 1
    assert "Token 'ci' for user 'alice': shown once, stored hashed" in done.stderr


def test_export_writes_the_file_the_suffix_asks_for(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    calls = []

    def table(sweep_id, path, **kw):
        calls.append(("table", path.suffix))
        path.write_bytes(b"x" * 2048)

    def stacked(sweep_id, path, which):
        calls.append(("weights", which))
        path.write_bytes(b"w")

    monkeypatch.setattr(cli, "_client", lambda url, token: SimpleNamespace(
        export=table, export_weights=stacked))
    runner = CliRunner()
    done = runner.invoke(cli.app, ["export", "3", "-o", str(tmp_path / "s.parquet")])
    assert done.exit_code == 0 and "saved" in done.output and "(2 KiB)" in done.output
    runner.invoke(cli.app, ["export", "3", "-o", str(tmp_path / "w.safetensors"), "--which", "initial"])
    assert calls == [("table", ".parquet"), ("weights", "initial")]
    missing = runner.invoke(cli.app, ["export", "3"])
    assert missing.exit_code == 2 and "-o sweep.parquet" in missing.output
    no_uri = runner.invoke(cli.app, ["export", "3", "--to", "mlflow"], env={"MLFLOW_TRACKING_URI": ""})
    assert no_uri.exit_code == 2 and "--tracking-uri" in no_uri.output
