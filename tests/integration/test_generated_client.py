"""A client generated from /openapi.json by openapi-python-client works end to end (issue 13,
item 10): it submits the README's spec file verbatim (initializers in the string shorthand),
waits for the sweep and reads its trials, with no hand-written code between it and the API.

The generator runs in a virtual environment of its own (it pins an older typer than sweepd's
CLI); the code it generates needs only httpx, attrs and python-dateutil, which sweepd has.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = "openapi-python-client==0.29.1"
PACKAGE = "sweepd_generated"
FINAL = {"completed", "failed", "cancelled"}


@pytest.fixture(scope="module")
def generator_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("openapi-python-client") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", GENERATOR],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    return venv / "bin"


def _generate(generator_bin: Path, openapi: dict, out: Path) -> None:
    source = out / "openapi.json"
    source.write_text(json.dumps(openapi))
    env = {**os.environ, "PATH": f"{generator_bin}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([str(generator_bin / "openapi-python-client"), "generate",
                           "--path", str(source), "--output-path", str(out / PACKAGE),
                           "--meta", "none"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_generated_client_submits_the_readme_spec_waits_and_reads_trials(
        live_server_factory, generator_bin, tmp_path):
    server = live_server_factory().start()
    openapi = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    _generate(generator_bin, openapi, tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        client_mod = importlib.import_module(f"{PACKAGE}.client")
        models = importlib.import_module(f"{PACKAGE}.models")
        submit = importlib.import_module(f"{PACKAGE}.api.sweeps.submit_sweep")
        get_sweep = importlib.import_module(f"{PACKAGE}.api.sweeps.get_sweep")
        list_trials = importlib.import_module(f"{PACKAGE}.api.trials.list_trials")

        spec = json.loads((ROOT / "examples" / "spec.json").read_text())
        assert any(isinstance(i, str) for i in spec["initializers"])  # the shorthand is exercised
        with client_mod.AuthenticatedClient(base_url=server.url, token=server.token) as api:
            created = submit.sync(client=api, body=models.SweepSpec.from_dict(spec),
                                  idempotency_key="generated-client")
            assert isinstance(created, models.SweepPublic), created
            assert created.n_trials == 24

            deadline = time.monotonic() + 300
            sweep = get_sweep.sync(created.id, client=api)
            while sweep.state.value not in FINAL and time.monotonic() < deadline:
                time.sleep(0.5)
                sweep = get_sweep.sync(created.id, client=api)
            assert sweep.state.value == "completed", sweep

            page = list_trials.sync(created.id, client=api, limit=100)
            assert isinstance(page, models.TrialsPublic), page
            assert page.total == 24 and len(page.items) == 24
            labels = {t.initializer_label for t in page.items}
            assert labels == {"glorot_uniform", "random_normal(stddev=0.01)", "zeros"}
            assert all(t.result.test_accuracy is not None for t in page.items)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]
