"""The web status page in headless Chromium against a live `sweepd serve` (issue 5).

The module's service holds one finished sweep (2 initializers × 4 seeds, 2-3-1 tanh on 160
training points) and one that runs for the whole module. Tests run in file order and share
one browser: the wrong token first, then signing in, then the pages. After every page: no
console error and no request that left this machine (`assert_clean`).
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from api.web.boundary import MAX_POINTS as MAX_BOUNDARY_POINTS
from tests.browser.conftest import (
    FINISHED,
    assert_clean,
    console_errors,
    foreign,
    foreign_requests,
    requested_urls,
    screenshot,
    wait_ready,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.ray, pytest.mark.timeout(300)]

N_TRIALS = FINISHED["seeds"]["count"] * len(FINISHED["initializers"])
WIDTH = FINISHED["model"]["hidden"][0]
N_TRAIN = 160  # 200 moons points, 20 % held out
N_DRAWN = len(range(0, N_TRAIN, -(-N_TRAIN // MAX_BOUNDARY_POINTS)))  # an even sample of them


def count(driver, selector: str) -> int:
    return driver.execute_script(f"return document.querySelectorAll({selector!r}).length")


def progress_of(driver, sweep_id: int) -> float:
    return float(driver.find_element(By.CSS_SELECTOR, f'[data-progress-for="{sweep_id}"]')
                 .get_attribute("aria-valuenow"))


def sign_in(driver, token: str) -> None:
    field = driver.find_element(By.ID, "token")
    field.clear()
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()


def test_signin_with_wrong_token_is_refused(site, browser):
    browser.get(f"{site.url}/")
    wait_until(lambda: "/signin" in browser.current_url, what="the redirect to /signin")
    sign_in(browser, "swd_this-is-not-a-token")
    error = wait_until(lambda: browser.find_elements(By.ID, "signin-error"), what="the error")
    assert "not valid" in error[0].text
    assert browser.get_cookie("sweepd_token") is None
    screenshot(browser, "signin-refused")
    assert_clean_except_refusal(browser)


def assert_clean_except_refusal(driver) -> None:
    """The refused sign-in's own 401 is the one console line a wrong token may cause."""
    assert [e for e in console_errors(driver) if "401" not in e] == []
    assert foreign_requests(driver) == []


def test_signin_with_token_shows_sweeps_list(site, browser):
    browser.get(f"{site.url}/signin")
    sign_in(browser, site.server.token)
    wait_until(lambda: browser.current_url.rstrip("/") == site.url, what="the sweeps list")
    cookie = browser.get_cookie("sweepd_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    rows = browser.find_elements(By.CSS_SELECTOR, "tr[data-sweep-id]")
    assert {r.get_attribute("data-sweep-id") for r in rows} == {str(site.finished_id),
                                                                 str(site.running_id)}
    assert "httpOnly" not in browser.execute_script("return document.cookie")
    screenshot(browser, "sweeps")
    assert_clean(browser)


def test_link_from_another_site_lands_signed_in(site, browser):
    # A SameSite=Strict cookie stays behind on a navigation from another site: the server
    # sends the sign-in form, whose script finds the visitor signed in and goes on.
    target = f"{site.url}/sweeps/{site.finished_id}"
    browser.get(f"data:text/html,<a id=go href='{target}'>a link elsewhere</a>")
    browser.find_element(By.ID, "go").click()
    wait_until(lambda: browser.current_url == target, what="the linked sweep page")
    wait_ready(browser)
    urls = requested_urls(browser)
    assert any(u.startswith(f"{site.url}/signin?next=") for u in urls)  # the way it went
    assert foreign(urls) == [] and console_errors(browser) == []


def test_progress_bar_of_running_sweep_advances_without_reload(site, browser):
    browser.get(f"{site.url}/")
    browser.execute_script("window.sweepdTestMark = 'same page';")
    first = progress_of(browser, site.running_id)
    wait_until(lambda: progress_of(browser, site.running_id) > first, timeout=120,
               what="the running sweep's progress bar to move")
    assert browser.execute_script("return window.sweepdTestMark") == "same page"
    assert progress_of(browser, site.finished_id) == 100.0
    assert_clean(browser)


def test_sweep_page_draws_every_plot_with_its_data(site, browser):
    browser.get(f"{site.url}/sweeps/{site.finished_id}")
    wait_ready(browser)
    # One point per trial in the accuracy strip, one per hidden unit raw and canonical.
    assert count(browser, "#plot-accuracy path.point") == N_TRIALS
    assert count(browser, "#plot-units path.point") == 2 * N_TRIALS * WIDTH
    assert count(browser, "#plot-units .legend .traces") == len(FINISHED["initializers"])
    # Cost: a band (one outline) and a mean line per initializer.
    assert count(browser, "#plot-cost .scatterlayer .trace") == 2 * len(FINISHED["initializers"])
    assert count(browser, "#plot-cost .legend .traces") == len(FINISHED["initializers"])
    # P(A beats B): one value per ordered pair of initializers.
    n_init = len(FINISHED["initializers"])
    assert count(browser, "#plot-heat .heatmap-label text") == n_init * (n_init - 1)
    # Boundaries: one image of predicted classes and the training points per chosen trial.
    chosen = browser.find_element(By.ID, "boundary-trials").get_attribute("value").split(", ")
    assert 1 <= len(chosen) <= 4
    assert count(browser, "#plot-boundary .imagelayer image") == len(chosen)
    assert count(browser, "#plot-boundary path.point") == len(chosen) * N_DRAWN
    # Tables: per initializer, solutions, and the trials.
    assert count(browser, "#groups tbody tr") == n_init
    assert count(browser, "#solutions tbody tr") == n_init
    assert count(browser, "#trials tbody tr") == N_TRIALS
    assert "distinct solution" in browser.find_element(By.ID, "summary").text
    screenshot(browser, "sweep-finished")
    assert_clean(browser)


def test_units_plot_recolours_by_unit_position(site, browser):
    browser.get(f"{site.url}/sweeps/{site.finished_id}")
    wait_ready(browser)
    Select(browser.find_element(By.ID, "units-colour")).select_by_value("unit")
    wait_until(lambda: count(browser, "#plot-units .legend .traces") == WIDTH,
               what="a legend entry per unit position")
    assert count(browser, "#plot-units path.point") == 2 * N_TRIALS * WIDTH
    assert_clean(browser)


def test_sweep_page_fits_a_phone_screen(site, browser):
    browser.set_window_size(412, 915)
    try:
        browser.get(f"{site.url}/sweeps/{site.finished_id}")
        wait_ready(browser)
        # Nothing but the wide tables (which scroll inside their cards) overflows the screen.
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth")
        widths = browser.execute_script(
            "return [...document.querySelectorAll('.js-plotly-plot')].map(p => p.offsetWidth)")
        assert widths and max(widths) <= 412
        screenshot(browser, "sweep-phone")
        assert_clean(browser)
    finally:
        browser.set_window_size(1280, 900)


def test_trial_table_sorts_by_column(site, browser):
    browser.get(f"{site.url}/sweeps/{site.finished_id}")
    wait_ready(browser)
    header = browser.find_element(By.CSS_SELECTOR, '#trials th[data-sort="seed"]')
    header.click()
    header = browser.find_element(By.CSS_SELECTOR, '#trials th[data-sort="seed"]')
    header.click()  # the second click sorts descending
    seeds = [int(td.text) for td in browser.find_elements(By.CSS_SELECTOR,
                                                          "#trials tbody td:nth-child(2)")]
    assert seeds == sorted(seeds, reverse=True) and seeds[0] > seeds[-1]
    assert_clean(browser)


def test_trial_page_draws_curve_boundary_weights_and_replays(site, browser):
    browser.get(f"{site.url}/sweeps/{site.finished_id}")
    wait_ready(browser)
    browser.find_element(By.CSS_SELECTOR, "#trials tbody tr a").click()
    wait_until(lambda: "/trials/" in browser.current_url, what="the trial page")
    wait_ready(browser)
    assert count(browser, "#plot-curve .scatterlayer path.js-line") == 1
    assert count(browser, "#plot-boundary .imagelayer image") == 1
    assert count(browser, "#plot-boundary path.point") == N_DRAWN
    for panel in ("weights-raw", "weights-canonical"):  # kernel rows (inputs) + the bias row
        assert count(browser, f"#{panel} table") == 2
        assert count(browser, f"#{panel} div.table-wrap:first-of-type tbody tr") == 2 + 1
    browser.find_element(By.ID, "replay-button").click()
    outcome = wait_until(lambda: browser.find_elements(By.ID, "replay-outcome"), timeout=180,
                         what="the replay's result")
    assert outcome[0].get_attribute("data-matches") == "true"
    assert "Bitwise identical" in outcome[0].text
    screenshot(browser, "trial")
    assert_clean(browser)


def test_running_sweep_page_follows_progress_live(site, browser):
    browser.get(f"{site.url}/sweeps/{site.running_id}")
    wait_ready(browser)
    browser.execute_script("window.sweepdTestMark = 'same page';")
    first = progress_of(browser, site.running_id)
    wait_until(lambda: progress_of(browser, site.running_id) > first, timeout=120,
               what="the sweep page's progress bar to move")
    assert browser.execute_script("return window.sweepdTestMark") == "same page"
    assert "No trial has finished yet" in browser.find_element(By.ID, "summary").text
    screenshot(browser, "sweep-running")
    assert_clean(browser)


def test_cancel_button_cancels_running_sweep(site, browser):
    browser.get(f"{site.url}/")
    button = browser.find_element(By.CSS_SELECTOR, f'[data-cancel="{site.running_id}"]')
    button.click()
    assert button.text == "Confirm cancel"  # one more click: no sweep is cancelled by a slip
    button.click()
    wait_until(lambda: browser.find_element(
        By.CSS_SELECTOR, f'[data-state-for="{site.running_id}"]').text == "cancelled",
        what="the badge to read cancelled")
    with site.server.client() as client:
        assert client.get(site.running_id).state == "cancelled"
    bar = f'document.querySelector(\'[data-progress-for="{site.running_id}"]\')'
    wait_until(lambda: browser.execute_script(  # the bar fills with the cancelled colour
        f"const bar = {bar}; return Math.abs(bar.querySelector('.seg-cancelled')"
        ".getBoundingClientRect().width - bar.getBoundingClientRect().width) < 1"),
        what="the bar to show every trial cancelled")
    screenshot(browser, "sweeps-cancelled")
    assert_clean(browser)
