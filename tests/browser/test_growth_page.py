"""The sweep page's growth card in headless Chromium (issue 15): an adaptive sweep's "Seeds until
decided" (its sentence, a table per look) and a sweep grown by requests (its history).

No training and no Ray: the app runs in this process (uvicorn in a thread) over a SQLite
store whose sweeps were grown through the store, the adaptive one by the rule itself
(`advance_adaptive` after each block of hand-made results; tests/integration/
growth_web_support.py). After each page: no console error and no request off this machine.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from selenium.webdriver.common.by import By

from sweepd import growth
from sweepd.schemas import SeedsAdd
from sweepd.spec import SweepSpec
from sweepd_api import create_app
from tests.browser.conftest import WIDTH_SHOTS, assert_clean, local_store, screenshot, wait_ready, wait_until
from tests.browser.layout_support import problems, viewport
from tests.browser.test_web_page import sign_in
from tests.integration.api.api_support import serve_app, small_spec
from tests.integration.growth_web_support import DECIDED_SENTENCE, SPEC_SEEDS, decided_sweep

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@dataclass
class GrowthSite:
    url: str
    token: str
    adaptive_id: int
    grown_id: int


@pytest.fixture(scope="module")
def growth_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrowthSite]:
    local = local_store(tmp_path_factory, "growth-web")
    store, settings, owner, token = local.store, local.settings, local.owner, local.token
    adaptive_id = decided_sweep(store, owner)
    grown, _ = store.submit_sweep(owner, SweepSpec.model_validate(small_spec("grown-by-hand")))
    growth.add_seeds(store, settings, owner, grown.id, SeedsAdd(count=3))
    try:
        with serve_app(create_app(settings, store)) as base:
            yield GrowthSite(base, token, adaptive_id, grown.id)
    finally:
        store.dispose()


def card_shot(browser, card, name: str) -> None:
    """The card alone, whole: to read by eye (WIDTH_SHOTS, outside the tree)."""
    # In view and within the viewport: capturing beyond it lays the page out again, at the
    # window's width rather than an emulated one.
    box = browser.execute_script(
        "arguments[0].scrollIntoView(); const r = arguments[0].getBoundingClientRect();"
        "return {x: r.left + scrollX, y: r.top + scrollY, width: r.width,"
        " height: Math.min(r.height, innerHeight)};", card)
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": False, "clip": {**box, "scale": 1}})
    WIDTH_SHOTS.mkdir(parents=True, exist_ok=True)
    (WIDTH_SHOTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def _signed_in(browser, site: GrowthSite) -> None:
    browser.get(f"{site.url}/signin")
    sign_in(browser, site.token)
    wait_until(lambda: browser.current_url.rstrip("/") == site.url, what="the sweeps list")


def test_adaptive_sweep_page_shows_seeds_until_decided_with_a_table_per_look(growth_site,
                                                                              browser):
    _signed_in(browser, growth_site)
    browser.get(f"{growth_site.url}/sweeps/{growth_site.adaptive_id}")
    wait_ready(browser)
    card = browser.find_element(By.ID, "growth")
    assert card.is_displayed()
    assert card.find_element(By.TAG_NAME, "h2").text == "Seeds until decided"
    assert browser.find_element(By.ID, "growth-sentence").text == DECIDED_SENTENCE
    looks = card.find_elements(By.CSS_SELECTOR, ".growth-look")
    assert sorted(int(look.get_attribute("data-block")) for look in looks) == [1, 2, 3]
    latest = looks[0]  # open; the earlier two fold under "The 2 earlier looks"
    assert latest.get_attribute("data-block") == "3" and latest.is_displayed()
    assert "stopped: decided" in latest.find_element(By.TAG_NAME, "h4").text
    rows = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in latest.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert [r[:2] for r in rows] == [["glorot_uniform", "12"], ["he_normal", "12"],
                                    ["lecun_normal", "12"], ["zeros", "4"]]
    assert rows[1][2] == "decided glorot_uniform better by 13.5 to 16.5 pp"
    assert rows[3][2] == "failed gets no more seeds"
    assert [r[3] for r in rows] == ["—"] * 4
    assert not looks[1].is_displayed()
    browser.find_element(By.CSS_SELECTOR, ".growth-earlier summary").click()
    first = card.find_element(By.CSS_SELECTOR, '.growth-look[data-block="1"]')
    assert first.is_displayed()
    assert [c.text for c in first.find_elements(By.CSS_SELECTOR, "tbody td:last-child")] == [
        "+4", "+4", "+4", "—"]
    spec = browser.find_element(By.ID, "spec").text
    assert SPEC_SEEDS in spec and "grown from 16 to 40 trials" in spec
    screenshot(browser, "sweep-adaptive")
    card_shot(browser, card, "sweep-adaptive-growth")
    assert_clean(browser)


def test_sweep_grown_by_request_shows_its_growth_history(growth_site, browser):
    browser.get(f"{growth_site.url}/sweeps/{growth_site.grown_id}")
    wait_ready(browser)
    card = browser.find_element(By.ID, "growth")
    assert card.is_displayed() and card.find_element(By.TAG_NAME, "h2").text == "Growth"
    assert card.find_element(By.CSS_SELECTOR, ".growth-lead").text.startswith(
        "Grown from 6 to 12 trials by 1 request:")
    cells = [c.text for c in card.find_elements(By.CSS_SELECTOR, "tbody td")]
    assert cells[1:] == ["3–5", "all", "6"] and cells[0]  # when, in the reader's time zone
    screenshot(browser, "sweep-grown")
    card_shot(browser, card, "sweep-grown-growth")
    assert_clean(browser)


def test_adaptive_sweep_page_fits_a_phone_screen(growth_site, browser):
    with viewport(browser, 400):
        browser.get(f"{growth_site.url}/sweeps/{growth_site.adaptive_id}")
        wait_ready(browser)
        found = problems(browser)
        card = browser.find_element(By.ID, "growth")
        # The look's table scrolls inside its own box rather than widening the page.
        inside = browser.execute_script(
            "const c = arguments[0].getBoundingClientRect(); return c.left >= 0 && c.right <= 400;",
            card)
        card_shot(browser, card, "sweep-adaptive-400-growth")
    assert found["overlaps"] == [] and found["outside"] == [] and found["overflow"] <= 0
    assert inside
    assert_clean(browser)
