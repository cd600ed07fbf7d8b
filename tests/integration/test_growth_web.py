"""The sweep page's growth card (issue 15) without a browser: `/web-api/sweeps/{id}/growth`
(the adaptive rule's sentence and each look's table, the seeds added by requests) and the
spec's words for adaptive and grown sweeps. The card itself is drawn in
tests/browser/test_growth_page.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sweepd import growth
from sweepd.adaptive_driver import advance_adaptive
from sweepd.schemas import SeedsAdd
from sweepd.settings import Settings
from sweepd.spec import SweepSpec
from sweepd.storage.database import create_engine
from sweepd.storage.store import Store
from sweepd_api import create_app
from sweepd_api.web.growth_view import seed_span
from tests.integration.api.api_support import finish_trials, small_spec
from tests.integration.growth_web_support import (
    DECIDED_SENTENCE,
    SPEC_SEEDS,
    adaptive_spec,
    decided_sweep,
    run_looks,
)
from tests.integration.test_web_auth import BASE, ORIGIN, csrf_of


@dataclass
class Site:
    store: Store
    settings: Settings
    alice_token: str
    bob_token: str
    alice: int

    def client(self, token: str | None = None) -> TestClient:
        """A client signed in through the form (as alice unless told)."""
        client = TestClient(create_app(self.settings, self.store), base_url=BASE,
                            client=("127.0.0.1", 50000), follow_redirects=False)
        if token != "":
            response = client.post("/signin", data={"token": token or self.alice_token},
                                   headers=ORIGIN)
            assert response.status_code == 200
            csrf_of(response.text)
        return client

    def growth(self, sweep_id: int, token: str | None = None) -> dict:
        response = self.client(token).get(f"/web-api/sweeps/{sweep_id}/growth")
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        return response.json()


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[Site]:
    shutil.copyfile(sqlite_template, tmp_path / "sweepd.db")
    store = Store(create_engine(f"sqlite:///{tmp_path / 'sweepd.db'}"))
    tokens = [store.create_token(store.create_user(name).id, name)[1] for name in ("alice", "bob")]
    settings = Settings(data_dir=tmp_path, token_file=tmp_path / "token.json", port=8642)
    yield Site(store, settings, tokens[0], tokens[1], store.authenticate(tokens[0]).id)
    store.dispose()


def test_growth_of_decided_adaptive_sweep_leads_with_its_sentence_and_each_look(site):
    sweep_id = decided_sweep(site.store, site.alice)
    data = site.growth(sweep_id)
    assert data["adaptive"] and data["sentence"] == DECIDED_SENTENCE
    assert [look["block"] for look in data["looks"]] == [1, 2, 3]
    assert [look["stop"] for look in data["looks"]] == [None, None, "decided"]
    assert [look["added"] for look in data["looks"]] == [12, 12, 0]  # 3 working × 4 seeds
    first, last = data["looks"][0]["points"][0], data["looks"][-1]["points"][0]
    assert first["best"] == last["best"] == "glorot_uniform"
    rows = {r["initializer"]: r for r in last["rows"]}
    assert list(rows) == ["glorot_uniform", "he_normal", "lecun_normal", "zeros"]  # best first
    assert {k: r["seeds"] for k, r in rows.items()} == {
        "glorot_uniform": 12, "he_normal": 12, "lecun_normal": 12, "zeros": 4}
    assert [r["state"] for r in rows.values()] == ["best", "winner", "winner", "failed"]
    assert rows["zeros"]["text"] == "gets no more seeds"
    # Δ of glorot_uniform over he_normal is 15 pp (0.95 − 0.80, seeds spread ±1 pp).
    assert rows["he_normal"]["text"] == "glorot_uniform better by 13.5 to 16.5 pp"
    assert [r["state"] for r in first["rows"]] == ["best", "undecided", "undecided", "failed"]
    assert first["rows"][1]["text"] == "too few seeds to bound the difference yet"
    assert [r["next"] for r in first["rows"]] == [4, 4, 4, 0]
    assert data["history"] == [] and data["grown"] == {"from": 16, "to": 40, "requests": 0}


def test_growth_of_adaptive_sweep_between_looks_counts_undecided_pairs(site):
    sweep, _ = site.store.submit_sweep(site.alice, adaptive_spec())
    waiting = site.growth(sweep.id)
    assert waiting["sentence"] == ("Block 1 is running: the rule looks when its 16 trials have "
                                   "ended (4 seeds per initializer).")
    assert waiting["looks"] == [] and waiting["grown"] is None
    run_looks(site.store, 2)
    data = site.growth(sweep.id)
    assert data["sentence"] == "Still adding seeds: 2 of 2 pairs undecided after block 2."
    site.store.pause_sweep(site.alice, sweep.id)
    assert site.growth(sweep.id)["sentence"] == (
        "Paused after 2 blocks: 2 of 2 pairs undecided; resume to add the next block.")


def test_growth_of_equal_arms_and_capped_sweeps_names_the_stop_reason(site):
    spec = SweepSpec.model_validate(small_spec("equal", seeds={"adaptive": {
        "initial": 4, "step": 4, "max": 12}}))
    sweep, _ = site.store.submit_sweep(site.alice, spec)
    capped, _ = site.store.submit_sweep(site.alice, SweepSpec.model_validate(small_spec(
        "capped", seeds={"adaptive": {"initial": 4, "step": 4, "max": 4}})))
    for _ in range(2):
        finish_trials(site.store)  # every result the same accuracy: the arms are equal
        advance_adaptive(site.store)
    same = site.growth(sweep.id)
    assert same["sentence"].startswith("Stopped after 2 blocks: every working initializer is "
                                       "practically equivalent to ")
    assert same["looks"][-1]["points"][0]["rows"][1]["state"] == "equivalent"
    assert "inside ±" in same["looks"][-1]["points"][0]["rows"][1]["text"]
    assert site.growth(capped.id)["sentence"] == (
        "Stopped at the cap of 4 seeds after 1 block: 1 of 1 pair still undecided.")


def test_growth_of_sweep_grown_by_requests_lists_each_request(site):
    sweep, _ = site.store.submit_sweep(site.alice, SweepSpec.model_validate(small_spec("grown")))
    growth.add_seeds(site.store, site.settings, site.alice, sweep.id, SeedsAdd(count=3))
    growth.add_seeds(site.store, site.settings, site.alice, sweep.id,
                     SeedsAdd(seeds=[100, 101], initializers=["he_normal"]))
    data = site.growth(sweep.id)
    assert not data["adaptive"] and data["sentence"] is None and data["looks"] == []
    assert [(h["seeds"], h["initializers"], h["trials"]) for h in data["history"]] == [
        ("3–5", "all", 6), ("100, 101", "he_normal", 2)]
    assert data["grown"] == {"from": 6, "to": 14, "requests": 2}
    page = site.client().get(f"/sweeps/{sweep.id}").text
    assert "grown from 6 to 14 trials" in page
    assert 'id="growth"' in page and 'id="growth" aria-labelledby="growth-title" hidden' not in page


def test_growth_of_sweep_that_never_grew_is_hidden_and_others_sweeps_are_not_found(site):
    sweep, _ = site.store.submit_sweep(site.alice, SweepSpec.model_validate(small_spec("plain")))
    assert site.growth(sweep.id) == {"adaptive": False, "sentence": None, "looks": [],
                                     "history": [], "grown": None}
    page = site.client().get(f"/sweeps/{sweep.id}").text
    assert 'aria-labelledby="growth-title" hidden' in page and "grown from" not in page
    bob = site.client(site.bob_token).get(f"/web-api/sweeps/{sweep.id}/growth")
    assert bob.status_code == 404
    anonymous = site.client("").get(f"/web-api/sweeps/{sweep.id}/growth")
    assert anonymous.status_code == 401


def test_sweep_page_of_adaptive_sweep_says_the_rule_in_the_spec(site):
    sweep_id = decided_sweep(site.store, site.alice)
    page = site.client().get(f"/sweeps/{sweep_id}").text
    assert SPEC_SEEDS in page
    assert ("16 = 4 seeds × 4 initializers in the first block, at most 64 at the cap; up to 3 "
            "attempts each; grown from 16 to 40 trials") in page
    assert "4–16 seeds (until decided) × 4 initializers" in page  # the headline
    assert ">Seeds until decided</h2>" in page


@pytest.mark.parametrize(("seeds", "text"), [
    ([], "–"), ([4, 5, 6, 7], "4–7"), ([100, 101], "100, 101"),
    (list(range(0, 40, 3)), "14 seeds (0 … 39)")])
def test_seed_span_stays_short(seeds, text):
    assert seed_span(seeds) == text
