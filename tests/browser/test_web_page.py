"""The web status page in headless Chromium against a live `sweepd serve` (issue 5).

The module's service holds one finished sweep (2 initializers × 4 seeds, 2-3-1 tanh on 160
training points), the seed study's 16 initializers on the same problem, a grid of two learning
rates, and one sweep that runs for the whole module. Tests run in file order and share one
browser: the wrong token first, then signing in, then the pages. After every page: no console
error and no request that left this machine (`assert_clean`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from sweepd_api.web.boundary import MAX_POINTS as MAX_BOUNDARY_POINTS
from sweepd_api.web.figures import group_label, point_label
from tests.browser.conftest import (
    FINISHED,
    GRID,
    STUDY,
    WIDTH_SHOTS,
    assert_clean,
    console_errors,
    foreign,
    foreign_requests,
    requested_urls,
    screenshot,
    wait_ready,
    wait_until,
)
from tests.browser.layout_support import SCREEN, problems, viewport

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
    assert browser.get_cookie("sweepd_session") is None
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
    cookie = browser.get_cookie("sweepd_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["value"].startswith("sws_") and site.server.token not in cookie["value"]
    assert browser.execute_script("return localStorage.getItem('sweepd-csrf')")
    rows = browser.find_elements(By.CSS_SELECTOR, "tr[data-sweep-id]")
    assert {r.get_attribute("data-sweep-id") for r in rows} == {
        str(i) for i in (site.finished_id, site.running_id, site.study_id, site.grid_id)}
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
    # One legend entry per initializer (a tier's heading in the legend has no toggle).
    assert count(browser, "#plot-cost .legend .traces .legendtoggle") == len(FINISHED["initializers"])
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
    assert count(browser, "#groups td.reps a") >= n_init  # a trial of each distinct solution
    assert count(browser, "#trials tbody tr") == N_TRIALS
    assert count(browser, "#verdict .tiers .tier-chip") == n_init
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


def verdict_of(site, sweep_id: int) -> dict:
    """The verdict of the JSON API's comparison, which the card must show."""
    response = httpx.get(f"{site.url}/api/v1/sweeps/{sweep_id}/compare", timeout=120,
                         headers={"Authorization": f"Bearer {site.server.token}"})
    response.raise_for_status()
    return response.json()["verdict"]


def open_sweep(driver, site, sweep_id: int) -> None:
    driver.get(f"{site.url}/sweeps/{sweep_id}")
    wait_ready(driver)


def test_sweep_page_shows_verdict_first_with_recommendation(site, browser):
    verdict = verdict_of(site, site.study_id)
    (point,) = verdict["points"]
    choice = point["which_initializer"]
    open_sweep(browser, site, site.study_id)
    assert browser.execute_script(
        "return document.querySelector('#sweep section.card').id") == "verdict"
    card = browser.find_element(By.ID, "verdict")
    assert choice["recommendation"]  # 16 initializers, most of them fine: one is recommended
    bold = card.find_element(By.CSS_SELECTOR, ".verdict-text strong.recommendation")
    assert bold.text == choice["recommendation"]
    assert bold.value_of_css_property("font-weight") in {"700", "bold"}
    chips = {(c.get_attribute("data-initializer"), c.get_attribute("data-tier"))
             for c in card.find_elements(By.CSS_SELECTOR, ".tiers .tier-chip")}
    assert chips == {(r["initializer"], r["tier"]) for r in choice["ranking"]}
    text = card.text.lower()
    failed = [r for r in choice["ranking"] if r["tier"] == "failed"]
    assert failed and all(r["reason"].lower() in text for r in failed)  # zeros fails by design
    assert all(w.lower() in text for w in choice["warnings"])
    assert point["more_seeds"]["sentence"].lower() in text
    # The verdict in a few lines, not a bullet per pair: the card fits in one screen.
    assert count(browser, "#summary") == 0
    assert card.size["height"] < SCREEN
    assert_clean(browser)


def test_sweep_page_groups_plots_by_tier_with_failed_on_own_scale(site, browser):
    choice = verdict_of(site, site.study_id)["points"][0]["which_initializer"]
    ranked = [r["initializer"] for r in choice["ranking"]]
    failed = {r["initializer"] for r in choice["ranking"] if r["tier"] == "failed"}
    with viewport(browser, 1400):
        open_sweep(browser, site, site.study_id)
        accuracy = browser.execute_script("""
            const p = document.getElementById('plot-accuracy'), l = p._fullLayout;
            const axes = Object.keys(l).filter((k) => /^yaxis\\d*$/.test(k)).sort((a, b) =>
              l[a].domain[1] > l[b].domain[1] ? -1 : 1);
            return { traces: p.data.map((t) => [t.name, t.xaxis || 'x', t.x]),
              order: axes.flatMap((k) => l[k].categoryarray), main: l.xaxis.range,
              own: l.xaxis2 ? l.xaxis2.range : null };""")
        cost = browser.execute_script("""
            const p = document.getElementById('plot-cost'), s = p._fullLayout._size;
            const legend = p.querySelector('.legend').getBoundingClientRect();
            const area = p.querySelector('.nsewdrag').getBoundingClientRect();
            const bar = p.querySelector('.legend .scrollbar');
            const entries = [...p.querySelectorAll('.legend .traces')].filter((t) => t.querySelector('.legendtoggle'));
            return { names: entries.map((t) => t.querySelector('.legendtext').textContent),
              colours: p.data.filter((t) => t.showlegend !== false).map((t) => t.line.color),
              clear: legend.left >= area.right, scrolls: !!bar && Number(bar.getAttribute('height')) > 0 };""")
        heat = browser.execute_script(
            "return document.querySelector('#plot-heat .js-plotly-plot').data[0].y")
    # Accuracy: one row per initializer in the verdict's order; the failed ones on their own
    # axis, so the working ones' axis spans their values only.
    assert accuracy["order"] == ranked
    on_own = {name for name, axis, _ in accuracy["traces"] if axis == "x2"}
    assert on_own == failed
    working = [v for name, axis, xs in accuracy["traces"] if axis == "x" for v in xs]
    failing = [v for name, axis, xs in accuracy["traces"] if axis == "x2" for v in xs]
    low, high = accuracy["main"]
    assert low <= min(working) and max(working) <= high and low > min(failing)
    assert accuracy["own"][0] <= min(failing)
    # Cost: the legend lists the initializers in the verdict's order, beside the plot, whole;
    # each in its own colour.
    assert [n.rsplit(" (", 1)[0] for n in cost["names"]] == ranked
    assert cost["clear"] and not cost["scrolls"]
    assert len(set(cost["colours"])) == len(STUDY["initializers"])
    assert heat == ranked  # P(row beats column): rows and columns in the verdict's order
    assert_clean(browser)


def test_sweep_page_fits_four_screens_at_1400_wide(site, browser):
    with viewport(browser, 1400):
        open_sweep(browser, site, site.study_id)
        sizes = browser.execute_script("""
            const top = (e) => Math.round(e.getBoundingClientRect().top + scrollY);
            return { width: innerWidth, page: document.documentElement.scrollHeight,
              trials: top(document.getElementById('trials-table').closest('.card')) };""")
        path = screenshot(browser, "sweep-study-1400", WIDTH_SHOTS)
        assert problems(browser)["overlaps"] == []
    (WIDTH_SHOTS / "sweep-study-1400.json").write_text(json.dumps(sizes))
    assert sizes["width"] == 1400 and path.stat().st_size > 0
    assert sizes["trials"] <= 4 * SCREEN  # everything above the trial table: four screens
    assert_clean(browser)


def test_sweep_page_has_no_overflow_or_overlap_at_400_wide(site, browser):
    with viewport(browser, 400):
        open_sweep(browser, site, site.study_id)
        found = problems(browser)
        screenshot(browser, "sweep-study-400", WIDTH_SHOTS)
    assert found["boxes"] > 20  # the check saw the plots' texts
    assert found["overlaps"] == [] and found["outside"] == [] and found["overflow"] <= 0
    assert_clean(browser)


def test_grid_sweep_verdict_names_each_grid_point(site, browser):
    verdict = verdict_of(site, site.grid_id)
    labels = [point_label(p["params"]) for p in verdict["points"]]
    assert len(labels) == len(GRID["grid"]["training.learning_rate"])
    open_sweep(browser, site, site.grid_id)
    points = browser.find_elements(By.CSS_SELECTOR, "#verdict .verdict-point")
    assert [p.get_attribute("data-point") for p in points] == labels
    for element, point, label in zip(points, verdict["points"], labels, strict=True):
        assert label in element.find_element(By.TAG_NAME, "h3").text
        recommendation = point["which_initializer"]["recommendation"]
        bold = element.find_elements(By.CSS_SELECTOR, "strong.recommendation")
        assert [b.text for b in bold] == ([recommendation] if recommendation else [])
    # The table follows the verdict: grid point by grid point, best first.
    rows = [r.get_attribute("data-group")
            for r in browser.find_elements(By.CSS_SELECTOR, "#groups tbody tr")]
    assert rows == [group_label(r["initializer"], p["params"]) for p in verdict["points"]
                    for r in p["which_initializer"]["ranking"]]
    screenshot(browser, "sweep-grid-1280", WIDTH_SHOTS)
    assert_clean(browser)


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
    outcome = wait_until(lambda: browser.find_elements(  # the outcome, or the page's error
        By.CSS_SELECTOR, "#replay-outcome, #replay-result .alert-error"), timeout=180,
        what="the replay's result")
    assert outcome[0].get_attribute("id") == "replay-outcome", outcome[0].text
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
    assert "No trial has finished yet" in browser.find_element(By.ID, "verdict-body").text
    screenshot(browser, "sweep-running")
    assert_clean(browser)


def test_pause_and_resume_buttons_pause_and_resume_running_sweep(site, browser):
    sid = site.running_id
    browser.get(f"{site.url}/sweeps/{sid}")
    wait_ready(browser)
    pause = browser.find_element(By.CSS_SELECTOR, f'[data-pause="{sid}"]')
    resume = browser.find_element(By.CSS_SELECTOR, f'[data-resume="{sid}"]')
    note = browser.find_element(By.CSS_SELECTOR, f'[data-paused-for="{sid}"]')
    badge = browser.find_element(By.CSS_SELECTOR, f'[data-state-for="{sid}"]')
    assert pause.is_displayed() and not resume.is_displayed() and not note.is_displayed()
    pause.click()
    wait_until(lambda: badge.text == "paused", what="the badge to read paused")
    assert resume.is_displayed() and not pause.is_displayed() and note.is_displayed()
    assert "paused" in browser.find_element(
        By.CSS_SELECTOR, f'[data-progress-for="{sid}"]').get_attribute("class")
    with site.server.client() as client:
        assert client.get(sid).state == "paused"
    screenshot(browser, "sweep-paused")
    resume.click()
    wait_until(lambda: badge.text == "running", what="the badge to read running again")
    assert pause.is_displayed() and not resume.is_displayed() and not note.is_displayed()
    with site.server.client() as client:
        assert client.get(sid).state == "running"
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


def test_docs_page_draws_the_api_offline(site, browser):
    """Swagger UI from the vendored files, under the pages' CSP: no CDN, no CSP violation."""
    browser.get(f"{site.url}/docs")
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, ".opblock"),
               what="the API's operations")
    text = browser.find_element(By.ID, "swagger-ui").text
    assert "/api/v1/sweeps" in text and "/api/v1/signin-links" in text
    urls = requested_urls(browser)
    assert any("/static/swagger-ui-bundle.js" in u for u in urls)
    assert foreign(urls) == [] and console_errors(browser) == []
    screenshot(browser, "docs")


def test_sweepd_open_signs_the_browser_in_with_one_click(site, browser):
    sweepd = Path(sys.executable).with_name("sweepd")
    env = {**os.environ, "SWEEPD_URL": site.url, "SWEEPD_TOKEN": site.server.token}
    done = subprocess.run([str(sweepd), "open", str(site.finished_id), "--print"], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    link = done.stdout.strip()
    assert link.startswith(f"{site.url}/signin/local?code=swl_")
    before = browser.get_cookie("sweepd_session")["value"]
    browser.get(link)
    button = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#signin-link-form button"),
                        what="the sign-in question")
    assert "Sign in as admin" in button[0].text
    button[0].click()
    target = f"{site.url}/sweeps/{site.finished_id}"
    wait_until(lambda: browser.current_url == target, what="the sweep page")
    wait_ready(browser)
    assert browser.get_cookie("sweepd_session")["value"] != before  # a new session
    assert_clean(browser)
    browser.get(link)  # the link worked once
    wait_until(lambda: browser.find_elements(By.ID, "signin-error"), what="the refusal")
    assert "not valid any more" in browser.find_element(By.ID, "signin-error").text
    console_errors(browser)  # the refusal's own 403


def test_session_cookie_tossed_from_another_port_is_ended(site, browser):
    """Login CSRF: another server on this host sets its own session's cookie in this browser.
    The page finds the session without its CSRF token, ends it and asks to sign in again."""
    with httpx.Client(base_url=site.url, timeout=30) as http:
        signin = http.post("/signin", data={"token": site.server.token},
                           headers={"Origin": site.url})
        tossed = signin.cookies["sweepd_session"]
        browser.get(f"{site.url}/")
        wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "tr[data-sweep-id]"),
                   what="the sweeps list")
        browser.delete_cookie("sweepd_session")
        browser.add_cookie({"name": "sweepd_session", "value": tossed, "path": "/"})
        browser.get(f"{site.url}/")
        wait_until(lambda: "/signin?foreign=true" in browser.current_url,
                   what="the page to end the tossed session")
        assert "ended" in browser.find_element(By.ID, "signin-error").text
    with httpx.Client(base_url=site.url, timeout=30, cookies={"sweepd_session": tossed}) as http:
        assert http.get("/").status_code == 303  # the tossed session is over for good
    assert foreign_requests(browser) == []
