"""Notebook helpers (issue 13, item 8): the figure data on the REST API, `sweep.plot(...)` built
from it, and trial lists that Jupyter shows as a table."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from sweepd.client import TABLE_ROWS, Client, TrialList
from tests.integration.api.api_support import finish_trials, small_spec


@pytest.fixture
def finished(client, store):
    created = client.post("/api/v1/sweeps", json=small_spec("figures", seeds=4, initializers=(
        "glorot_uniform", "he_normal", "zeros")))
    assert created.status_code == 201, created.text
    assert len(finish_trials(store)) == 12
    return created.json()["id"]


def test_figures_route_serves_the_page_data_to_the_owner_only(client, bob, anonymous, finished):
    trials = client.get(f"/api/v1/sweeps/{finished}/figures/trials")
    assert trials.status_code == 200
    body = trials.json()
    assert len(body["rows"]) == 12 and len(body["curves"]) == 3
    units = client.get(f"/api/v1/sweeps/{finished}/figures/units").json()
    assert units["n_trials"] == 12 and units["n_units"] == 48
    comparison = client.get(f"/api/v1/sweeps/{finished}/figures/comparison").json()
    assert comparison["comparison"]["verdict"]["text"]

    other = anonymous.get(f"/api/v1/sweeps/{finished}/figures/trials", headers=bob.headers)
    assert other.status_code == 404 and other.headers["content-type"] == "application/problem+json"
    assert anonymous.get(f"/api/v1/sweeps/{finished}/figures/trials").status_code == 401
    wrong = client.get(f"/api/v1/sweeps/{finished}/figures/anything")
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["loc"][-1] == "name"


def test_sweep_plot_draws_what_the_page_draws(live_url, alice, finished):
    with Client(url=live_url, token=alice.token) as sdk:
        sweep = sdk.get(finished)
        accuracy = sweep.plot("accuracy")
        assert isinstance(accuracy, go.Figure)
        assert sorted(t.name for t in accuracy.data) == ["glorot_uniform", "he_normal", "zeros"]
        assert all(len(t.x) == 4 for t in accuracy.data)  # one point per seed

        curves = sweep.plot("curves")
        assert len(curves.data) == 6  # a band and a mean line per initializer
        assert curves.layout.yaxis.type == "log"

        units = sweep.plot("units")
        assert {t.name for t in units.data} == {"unit 1", "unit 2", "unit 3", "unit 4"}
        raw = [t for t in units.data if t.xaxis == "x"]
        assert sum(len(t.x) for t in raw) == 48  # every hidden unit of every trial

        with pytest.raises(ValueError, match="accuracy, curves, units"):
            sweep.plot("pie")


def test_trial_list_shows_as_a_table_in_jupyter(live_url, alice, finished):
    with Client(url=live_url, token=alice.token) as sdk:
        trials = sdk.get(finished).trials()
    assert isinstance(trials, TrialList) and len(trials) == 12
    html = trials._repr_html_()
    assert html.startswith("<div><b>12 trials</b>: 12 completed")
    assert html.count("<tr>") == 1 + 12 and "he_normal" in html and "0.8500" in html

    many = TrialList(trials * 3)
    assert f"… and {36 - TABLE_ROWS} more" in many._repr_html_()
    assert many._repr_html_().count("<tr>") == 1 + TABLE_ROWS + 1
