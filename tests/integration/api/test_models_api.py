"""Model plugins through the API (issue 18): GET /api/v1/models, and a spec naming an absent
plugin, a wrong param type or `os.system` is a 422 that stores nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SPEC = json.loads((ROOT / "examples" / "spec.json").read_text())


def _with_model(model: dict) -> dict:
    spec = copy.deepcopy(SPEC)
    spec["dataset"] = {"name": "digits"}
    spec["model"] = model
    spec["training"]["loss"] = "ce"
    return spec


def test_get_models_lists_the_built_in_plugins_with_their_params(client, anonymous):
    body = client.get("/api/v1/models").json()
    plugins = {p["name"]: p for p in body["items"]}
    assert {"sweepd.mlp", "sweepd.cnn"} <= set(plugins)
    assert plugins["sweepd.mlp"]["engine"] == "fast"
    assert plugins["sweepd.cnn"]["engine"] == "generic"
    assert plugins["sweepd.cnn"]["permutation"] is True
    props = plugins["sweepd.cnn"]["params"]["properties"]
    assert {"channels", "kernel_size", "activation", "in_channels"} <= set(props)
    assert all(p.get("description") for p in props.values())
    assert anonymous.get("/api/v1/models").status_code == 401


@pytest.mark.parametrize(("model", "says"), [
    ({"plugin": "absent.model"}, "unknown model plugin 'absent.model'"),
    ({"plugin": "os.system"}, "unknown model plugin 'os.system'"),
    ({"plugin": "sweepd.cnn", "params": {"channels": "8, 16"}}, "model.params.channels"),
    ({"plugin": "sweepd.cnn", "params": {"kernel_size": "3"}}, "model.params.kernel_size"),
])
def test_a_bad_plugin_is_a_422_naming_what_is_installed_and_stores_nothing(client, counts,
                                                                           model, says):
    before = counts()
    response = client.post("/api/v1/sweeps", json=_with_model(model))
    assert response.status_code == 422, response.text
    assert says in response.text
    if "unknown" in says:
        assert "installed: sweepd.cnn, sweepd.mlp" in response.text
    assert counts() == before


def test_a_cnn_sweep_is_accepted_and_stores_its_params_with_defaults(client):
    response = client.post("/api/v1/sweeps", json=_with_model(
        {"plugin": "sweepd.cnn", "params": {"channels": [4]}}))
    assert response.status_code == 201, response.text
    spec = client.get(f"/api/v1/sweeps/{response.json()['id']}").json()["spec"]
    assert spec["model"]["params"] == {"channels": [4], "kernel_size": 3, "activation": "relu",
                                       "in_channels": 1}
    assert "hidden" not in spec["model"]
