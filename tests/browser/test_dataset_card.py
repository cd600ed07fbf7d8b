"""The sweep page's data card in headless Chromium (issue 17): the data set's name and shape,
for an uploaded and for built-in data sets, and the scatter of a two-feature one.

No training and no Ray: the app runs in this process (uvicorn in a thread) over a SQLite
store; the sweeps are submitted through the submission use case and stay pending, which is
all the card needs. After each page: no console error and no request off this machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from sweepd.dataset_upload import upload_dataset
from sweepd.spec import SweepSpec
from sweepd.submission import submit_sweep
from sweepd_api import create_app
from sweepd_api.web.dataset_view import MAX_SCATTER_POINTS
from tests.browser.conftest import assert_clean, local_store, screenshot, wait_ready
from tests.browser.test_growth_page import _signed_in, card_shot
from tests.integration.api.api_support import serve_app, small_spec

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

N_UPLOADED = 3_000  # over the scatter's sample, so the card samples


@dataclass
class DataSite:
    url: str
    token: str
    uploaded_id: int
    moons_id: int
    iris_id: int
    regression_id: int


def two_blobs_csv() -> bytes:
    """Two Gaussian blobs of 1 500 points each, labelled by text, as a CSV."""
    rng = np.random.default_rng(7)
    half = N_UPLOADED // 2
    x = np.concatenate([rng.normal((-2.0, 0.0), 0.7, (half, 2)),
                        rng.normal((2.0, 1.0), 0.7, (half, 2))])
    frame = pd.DataFrame({"width": x[:, 0], "height": x[:, 1],
                          "kind": ["red"] * half + ["blue"] * half})
    return frame.to_csv(index=False).encode()


def sloped_csv() -> bytes:
    """400 points whose `height` is a noisy plane over two features: a regression target."""
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, (400, 2))
    frame = pd.DataFrame({"u": x[:, 0], "v": x[:, 1],
                          "height": 2 * x[:, 0] - x[:, 1] + rng.normal(0, 0.1, 400)})
    return frame.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def data_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataSite]:
    local = local_store(tmp_path_factory, "dataset-web")
    store, settings, owner, token = local.store, local.settings, local.owner, local.token
    record, _ = upload_dataset(store, settings, owner, two_blobs_csv(), target="kind",
                               filename="blobs.csv")

    def submit(name: str, dataset: dict) -> int:
        spec = SweepSpec.model_validate(small_spec(name, dataset=dataset))
        return submit_sweep(store, settings, owner, spec)[0].id

    target, _ = upload_dataset(store, settings, owner, sloped_csv(), target="height",
                               filename="slope.csv")
    ids = (submit("on-uploaded", {"name": "uploaded", "id": record.id, "seed": 0}),
           submit("on-moons", {"name": "moons", "n_samples": 200, "noise": 0.2, "seed": 0}),
           submit("on-iris", {"name": "iris", "seed": 0}),
           submit("on-target", {"name": "uploaded", "id": target.id, "seed": 0}))
    try:
        with serve_app(create_app(settings, store)) as base:
            yield DataSite(base, token, *ids)
    finally:
        store.dispose()


def open_card(browser, site: DataSite, sweep_id: int):
    browser.get(f"{site.url}/sweeps/{sweep_id}")
    wait_ready(browser)
    card = browser.find_element(By.ID, "dataset")
    assert card.is_displayed()
    return card


def classes_of(card) -> list[str]:
    return [c.text for c in card.find_elements(By.CSS_SELECTOR, "#dataset-classes .chip")]


def points(card) -> list:
    return card.find_elements(By.CSS_SELECTOR, "#dataset-scatter circle")


def test_uploaded_dataset_card_shows_name_shape_classes_and_a_sampled_scatter(data_site,
                                                                              browser):
    _signed_in(browser, data_site)
    card = open_card(browser, data_site, data_site.uploaded_id)
    assert card.get_attribute("data-kind") == "uploaded"
    assert card.find_element(By.ID, "dataset-name").text == "blobs.csv uploaded"
    assert card.find_element(By.ID, "dataset-shape").text == (
        "3,000 rows × 2 features · 2 classes")
    assert card.find_element(By.ID, "dataset-split").text == "2,400 train / 600 test"
    assert classes_of(card) == ["blue: 1,500", "red: 1,500"]
    drawn = points(card)
    assert len(drawn) == MAX_SCATTER_POINTS  # sampled: not all 3 000
    svg = card.find_element(By.ID, "dataset-scatter")
    assert (svg.get_attribute("data-shown"), svg.get_attribute("data-total")) == ("2000", "3000")
    classes = [p.get_attribute("data-class") for p in drawn]
    assert 800 < classes.count("0") < 1200 and 800 < classes.count("1") < 1200
    assert len({p.get_attribute("fill") for p in drawn}) == 2  # coloured by class
    # The blobs lie apart in x: "blue" (class 0, centred at +2) right of "red" (at -2).
    xs = {c: [float(p.get_attribute("cx")) for p in drawn if p.get_attribute("data-class") == c]
          for c in ("0", "1")}
    assert np.median(xs["0"]) > np.median(xs["1"]) + 100
    assert "An even sample of 2,000 of the 3,000 points" in card.find_element(
        By.ID, "dataset-scatter-note").text
    assert {"width", "height"} <= {t.text for t in svg.find_elements(By.TAG_NAME, "text")}
    screenshot(browser, "sweep-uploaded-dataset")
    card_shot(browser, card, "sweep-dataset-card-uploaded")
    assert_clean(browser)


def test_built_in_two_feature_dataset_card_draws_every_point(data_site, browser):
    card = open_card(browser, data_site, data_site.moons_id)
    assert card.get_attribute("data-kind") == "generated"
    assert card.find_element(By.ID, "dataset-name").text == "moons generated"
    assert card.find_element(By.ID, "dataset-shape").text == "200 rows × 2 features · 2 classes"
    assert len(points(card)) == 200
    assert "All 200 points" in card.find_element(By.ID, "dataset-scatter-note").text
    card_shot(browser, card, "sweep-dataset-card-moons")
    assert_clean(browser)


def test_built_in_dataset_with_more_features_shows_its_shape_and_no_scatter(data_site,
                                                                            browser):
    card = open_card(browser, data_site, data_site.iris_id)
    assert card.find_element(By.ID, "dataset-name").text == "iris scikit-learn"
    assert card.find_element(By.ID, "dataset-shape").text == "150 rows × 4 features · 3 classes"
    assert classes_of(card) == ["0: 50", "1: 50", "2: 50"]
    assert card.find_elements(By.ID, "dataset-scatter") == []
    assert_clean(browser)


def test_regression_dataset_card_and_page_speak_of_r2(data_site, browser):
    browser.get(f"{data_site.url}/")
    if "/signin" in browser.current_url:  # run alone: not signed in by an earlier test
        _signed_in(browser, data_site)
    card = open_card(browser, data_site, data_site.regression_id)
    assert card.find_element(By.ID, "dataset-shape").text == (
        "400 rows × 2 features · a regression target")
    assert card.find_elements(By.ID, "dataset-classes") == []
    drawn = points(card)
    assert len(drawn) == 400
    assert {p.get_attribute("data-class") for p in drawn} == {"0", "1", "2", "3", "4"}
    assert "coloured by the target's quintile" in card.find_element(
        By.ID, "dataset-scatter-note").text
    headings = [h.get_attribute("textContent").strip()  # the results part is hidden till a result
                for h in browser.find_elements(By.TAG_NAME, "h2")]
    assert "Test R² over seeds" in headings and "Test accuracy over seeds" not in headings
    card_shot(browser, card, "sweep-dataset-card-regression")
    assert_clean(browser)
