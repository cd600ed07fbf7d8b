"""An external model plugin (issue 18): the example package under examples/, installed into the
environment by the test, appears in GET /api/v1/models and trains through the generic engine.

The check runs in a fresh interpreter: entry points and the editable install's import hook are
read when a process starts. The package is uninstalled again at the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sweepd_example_models"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]

CHECK = textwrap.dedent("""
    import json, sys
    from fastapi.testclient import TestClient
    from sweepd.settings import Settings
    from sweepd.storage.schema import open_store
    from sweepd.spec import SweepSpec
    from sweepd.engine import run_batch
    from sweepd_api import create_app

    url = "sqlite:///" + sys.argv[1]
    store = open_store(url, auto_migrate=True)
    user = store.create_user("alice")
    _, token = store.create_token(user.id, "t")
    settings = Settings(data_dir=sys.argv[2], trusted_hosts="testserver")
    with TestClient(create_app(settings, store)) as client:
        client.headers["Authorization"] = "Bearer " + token
        models = client.get("/api/v1/models").json()["items"]
        spec = {"name": "ext", "dataset": {"name": "moons", "n_samples": 300},
                "model": {"plugin": "example.resmlp", "params": {"width": 8, "blocks": 2}},
                "training": {"optimizer": "adam", "learning_rate": 0.02, "steps": 150},
                "seeds": {"start": 0, "count": 2}, "initializers": ["glorot_uniform"]}
        accepted = client.post("/api/v1/sweeps", json=spec).status_code
        bad = {**spec, "model": {"plugin": "example.resmlp", "params": {"width": "8"}}}
        refused = client.post("/api/v1/sweeps", json=bad)
    results = run_batch(SweepSpec.model_validate(spec).trials())
    print(json.dumps({"models": models, "accepted": accepted, "refused": refused.status_code,
                      "refused_text": refused.text,
                      "results": [r.model_dump(mode="json", exclude={"final_weights",
                                  "initial_weights"}) for r in results]}))
""")


@pytest.fixture
def example_plugin() -> Iterator[None]:
    subprocess.run([*PIP, "install", "--no-deps", "--no-build-isolation", "-e", str(EXAMPLE)],
                   check=True, capture_output=True, timeout=300)
    try:
        yield
    finally:
        subprocess.run([*PIP, "uninstall", "-y", "sweepd-example-models"], check=False,
                       capture_output=True, timeout=300)


def test_the_example_external_plugin_is_listed_validated_and_trains(example_plugin, tmp_path):
    out = subprocess.run([sys.executable, "-c", CHECK, str(tmp_path / "db.sqlite"),
                          str(tmp_path)], capture_output=True, text=True, timeout=600,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    plugins = {p["name"]: p for p in report["models"]}
    assert plugins["example.resmlp"]["engine"] == "generic"
    assert set(plugins["example.resmlp"]["params"]["properties"]) == {"width", "blocks"}
    assert report["accepted"] == 201
    assert report["refused"] == 422 and "model.params.width" in report["refused_text"]
    results = report["results"]
    assert all(r["status"] == "ok" for r in results)
    assert min(r["test_accuracy"] for r in results) > 0.8  # it learns moons
    env = results[0]["environment"]
    assert env["plugin"] == "example.resmlp" and env["batching"] == "vmap"
    assert env["module_defaults"] == ["2.norm.weight", "2.norm.bias", "3.norm.weight",
                                      "3.norm.bias"]
    assert results[0]["final_sha256"] != results[1]["final_sha256"]
