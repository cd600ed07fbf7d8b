"""The benchmarks' browser: headless Chromium signed in through the sign-in form, and an HTTP
client signed in the same way, to time the web page as a user sees it.

The page marks on `<body>` when its words and tables are on screen (`data-first-ms`) and when
everything it draws at load is drawn (`data-ready-ms`), both in ms from navigation start.
"""

from __future__ import annotations

import tempfile
from typing import Any

import httpx

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def signed_in_client(url: str, token: str, timeout: float = 120.0) -> httpx.Client:
    """An HTTP client holding a web session (the cookie the sign-in form sets)."""
    client = httpx.Client(base_url=url, timeout=timeout)
    client.post("/signin", data={"token": token, "next": "/"},
                headers={"Origin": url}).raise_for_status()
    return client


def chrome() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1280,900",
                f"--user-data-dir={tempfile.mkdtemp(prefix='sweepd-bench-chrome-')}"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def sign_in(driver: Any, url: str, token: str, timeout: float = 60.0) -> None:
    """Sign the browser in through the form, as a person would."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{url}/signin")
    field = driver.find_element(By.ID, "token")
    field.clear()
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()
    WebDriverWait(driver, timeout).until(lambda d: "/signin" not in d.current_url)


def page_times(url: str, token: str, sweep_id: int, visits: int,
               timeout: float = 300.0) -> list[dict[str, int]]:
    """Per visit of the sweep page: ms to the words and tables (`first`), to everything drawn
    (`ready`), to DOMContentLoaded (`dcl`), and the plot points drawn; the first is cold."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chrome()
    driver.set_page_load_timeout(timeout)
    try:
        sign_in(driver, url, token)
        out = []
        for _ in range(visits):
            driver.get(f"{url}/sweeps/{sweep_id}")
            WebDriverWait(driver, timeout).until(
                lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
            out.append(driver.execute_script(
                "const b = document.body.dataset; return {first: Number(b.firstMs), "
                "ready: Number(b.readyMs), dcl: Math.round(performance.getEntriesByType("
                "'navigation')[0].domContentLoadedEventEnd), points: document."
                "querySelectorAll('.js-plotly-plot path.point').length}"))
        return out
    finally:
        driver.quit()
