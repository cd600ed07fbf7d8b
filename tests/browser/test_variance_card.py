"""The sweep page's "Where the spread comes from" card in headless Chromium (issue 16): one
sentence naming the largest variance component, then a bar per component with its CI, the
numbers those of the JSON API's comparison; no chart for a sweep that crosses no factors.

No Ray: the app runs in this process (uvicorn in a thread) over a SQLite store whose trials
were trained here through `sweepd.engine.run_batch` (the workers' code path) on claimed
batches and recorded as a dispatcher records them. After each page: no console error and no
request off this machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from selenium.webdriver.common.by import By

from sweepd.engine import run_batch
from sweepd.records import ResultItem
from sweepd.spec import SweepSpec
from sweepd.storage.store import Store
from sweepd.submission import submit_sweep
from sweepd_api import create_app
from tests.browser.conftest import assert_clean, local_store, screenshot, wait_ready
from tests.browser.layout_support import viewport
from tests.browser.test_growth_page import _signed_in, card_shot
from tests.integration.api.api_support import serve_app, small_spec

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

TRAINING = {"optimizer": "sgd", "learning_rate": 0.5, "steps": 300, "batch_size": 32}
DATASET = {"name": "moons", "n_samples": 200, "noise": 0.25, "seed": 0}
# Every factor crossed: 3 init × 3 order × 3 data seeds, two initializers (54 trials).
CROSSED = small_spec("crossed", seeds=3, dataset=DATASET, training=TRAINING,
                     order_seeds={"start": 100, "count": 3}, data_seeds={"count": 3})
PLAIN = small_spec("plain", seeds=3, dataset=DATASET, training=TRAINING)
WORDS = {"init": "the initialization", "order": "the data order", "data": "the data draw",
         "residual": "the trials' own noise"}


@dataclass
class VarianceSite:
    url: str
    token: str
    crossed_id: int
    plain_id: int


def train_all(store: Store) -> None:
    """Claim every pending trial, train each batch here and record the results."""
    batches = store.claim_trials(holder="browser-tests", max_trials=10_000, max_batch=10_000,
                                 lease_seconds=600)
    for batch in batches:
        results = run_batch([t.spec for t in batch.trials])
        fenced = store.record_results([
            ResultItem(trial_id=t.trial_id, attempt=t.attempt, result=r, node="here",
                       device="cpu") for t, r in zip(batch.trials, results)])
        assert not fenced.rejected


@pytest.fixture(scope="module")
def variance_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VarianceSite]:
    local = local_store(tmp_path_factory, "variance-web")
    store, settings, owner, token = local.store, local.settings, local.owner, local.token
    ids = [submit_sweep(store, settings, owner, SweepSpec.model_validate(s))[0].id
           for s in (CROSSED, PLAIN)]
    train_all(store)
    try:
        with serve_app(create_app(settings, store)) as base:
            yield VarianceSite(base, token, *ids)
    finally:
        store.dispose()


def api_variance(site: VarianceSite, sweep_id: int) -> dict | None:
    """The decomposition of the JSON API's comparison, which the card must show."""
    response = httpx.get(f"{site.url}/api/v1/sweeps/{sweep_id}/compare", timeout=120,
                         headers={"Authorization": f"Bearer {site.token}"})
    response.raise_for_status()
    return response.json()["variance"]


def open_sweep(browser, site: VarianceSite, sweep_id: int) -> None:
    """The sweep's page, signing in first where this browser has no session here yet."""
    browser.get(f"{site.url}/sweeps/{sweep_id}")
    if "/signin" in browser.current_url:
        _signed_in(browser, site)
        browser.get(f"{site.url}/sweeps/{sweep_id}")
    wait_ready(browser)


def floats(element, *names: str) -> list[float]:
    return [float(element.get_attribute(name)) for name in names]


def test_variance_card_draws_the_comparisons_components_with_their_intervals(variance_site,
                                                                             browser):
    v = api_variance(variance_site, variance_site.crossed_id)
    assert v is not None and v["factors"] == ["init", "order", "data"]
    open_sweep(browser, variance_site, variance_site.crossed_id)
    card = browser.find_element(By.ID, "variance")
    assert card.is_displayed()
    largest = max(v["components"], key=lambda c: c["variance"])
    words = WORDS.get(largest["name"], "the interaction of")
    assert browser.find_element(By.ID, "variance-sentence").text.startswith(
        f"Most of the spread in test accuracy comes from {words}")
    assert f"({round(100 * largest['share'])} %)" in browser.find_element(
        By.ID, "variance-sentence").text

    bars = card.find_elements(By.CSS_SELECTOR, "#variance-chart g.variance-bar")
    names = [b.get_attribute("data-name") for b in bars]
    assert names == [c["name"] for c in v["components"]] + ["test-set noise"]
    assert len(names) == 8  # three factors, three pairs, the residual, the test-set noise
    for bar, c in zip(bars, v["components"]):
        assert floats(bar, "data-sd", "data-sd-low", "data-sd-high") == pytest.approx(
            [100 * c["sd"], 100 * c["sd_ci_low"], 100 * c["sd_ci_high"]], abs=1e-9)
        low, high = floats(bar.find_element(By.CSS_SELECTOR, "line.variance-ci"), "x1", "x2")
        x0, width = floats(bar.find_element(By.TAG_NAME, "rect"), "x", "width")
        assert low - 0.1 <= x0 + width <= high + 0.1  # the whisker spans the bar's end
    # The bars' lengths stand in the ratio of the components' σ.
    widths = [float(b.find_element(By.TAG_NAME, "rect").get_attribute("width")) for b in bars]
    sds = [100 * c["sd"] for c in v["components"]]
    top = max(range(len(sds)), key=sds.__getitem__)
    for w, sd in zip(widths, sds):
        assert w / widths[top] == pytest.approx(sd / sds[top], abs=0.01)
    noise = bars[-1]
    assert float(noise.get_attribute("data-sd")) == pytest.approx(
        100 * v["test_noise"] ** 0.5)
    assert noise.find_elements(By.CSS_SELECTOR, "line.variance-ci") == []
    method = browser.find_element(By.ID, "variance-method").text
    assert "method of moments" in method and "Ting et al. 1990" in method
    assert browser.find_element(By.ID, "variance-design").text.startswith(
        "3 init seeds × 3 order seeds × 3 data draws, pooled within 2 arms")
    screenshot(browser, "sweep-variance")
    card_shot(browser, card, "sweep-variance-card")
    assert_clean(browser)


def test_variance_card_is_hidden_for_a_sweep_without_crossed_factors(variance_site, browser):
    assert api_variance(variance_site, variance_site.plain_id) is None
    open_sweep(browser, variance_site, variance_site.plain_id)
    assert browser.find_element(By.ID, "per-initializer").is_displayed()  # the results are in
    assert not browser.find_element(By.ID, "variance").is_displayed()
    assert browser.find_elements(By.ID, "variance-chart") == []
    assert browser.find_elements(By.CSS_SELECTOR, "g.variance-bar") == []
    assert_clean(browser)


def test_variance_card_fits_a_400_wide_page(variance_site, browser):
    with viewport(browser, 400):
        open_sweep(browser, variance_site, variance_site.crossed_id)
        card = browser.find_element(By.ID, "variance")
        # The chart scrolls inside its figure rather than widening the page.
        widths = browser.execute_script(
            "return [document.documentElement.scrollWidth, innerWidth,"
            " arguments[0].getBoundingClientRect().right];", card)
        card_shot(browser, card, "sweep-variance-card-400")
    assert widths[0] <= widths[1] and widths[2] <= widths[1]
    assert browser.find_elements(By.CSS_SELECTOR, "#variance-chart g.variance-bar")
    assert_clean(browser)
