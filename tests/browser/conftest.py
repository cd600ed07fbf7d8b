"""Browser tests (issue 5): headless Chromium (selenium + chromedriver) against `sweepd serve`.

One live service per module, joined to the session's Ray cluster, with three finished sweeps
(a small one, the seed study's 16 initializers, and a grid of two learning rates) and one that
keeps running (long training) while the module runs; it is cancelled at the end so that no
trial outlives the module. One browser per module, with a fresh profile, whose console and
network events are read after every page: no console error, no request off this machine.
Screenshots of every page go to artifacts/screenshots/ (full page); those of the page at a set
width, to look at by eye, to /tmp/sweepd-screenshots/ (SWEEPD_SCREENSHOTS), outside the tree.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from sweepd.spec import INITIALIZER_NAMES
from tests.conftest import LiveServer, free_port

CHROMIUM = os.environ.get("SWEEPD_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SWEEPD_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
WIDTH_SHOTS = Path(os.environ.get("SWEEPD_SCREENSHOTS", "/tmp/sweepd-screenshots"))
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
LOCAL_SCHEMES = {"data", "blob", "about", "chrome", "devtools"}

FINISHED = {"name": "finished-moons",
            "dataset": {"name": "moons", "n_samples": 200, "noise": 0.2, "seed": 0},
            "model": {"hidden": [3], "activation": "tanh"},
            "training": {"optimizer": "gd", "learning_rate": 1.0, "steps": 400},
            "seeds": {"start": 0, "count": 4}, "initializers": ["glorot_uniform", "he_normal"],
            "store": {"curve_every": 20}}
# Long enough to outlast the module on a fast machine (10⁷ full-batch steps on 1 600 points;
# it is cancelled at the end), while its progress bar still moves every few seconds. One trial:
# two would be spread over both of the cluster's CPUs (`sweepd.batching.batch_size`) for the
# whole module, and a replay (which queues behind batches) would never get a CPU.
RUNNING = {**FINISHED, "name": "running-moons", "seeds": {"start": 0, "count": 1},
           "dataset": {"name": "moons", "n_samples": 2000, "noise": 0.2, "seed": 0},
           "initializers": ["glorot_uniform"],
           "training": {"optimizer": "gd", "learning_rate": 1.0, "steps": 10_000_000},
           "store": {"curve_every": 100_000}}
# The seed study's shape on a small problem: every initializer sweepd knows (16; the constant
# ones fail by design), 4 seeds each.
STUDY = {**FINISHED, "name": "study-moons", "initializers": list(INITIALIZER_NAMES),
         "seeds": {"start": 0, "count": 4}}
# Two grid points: the verdict comes per point.
GRID = {**FINISHED, "name": "grid-moons", "seeds": {"start": 0, "count": 3},
        "grid": {"training.learning_rate": [0.3, 1.0]}}


@dataclass
class Site:
    server: LiveServer
    finished_id: int
    running_id: int
    study_id: int
    grid_id: int

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, ray_address: str) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("web-server")
    env = {**os.environ, "SWEEPD_DATA_DIR": str(data), "SWEEPD_RAY_ADDRESS": ray_address,
           "SWEEPD_LEASE_SECONDS": "6", "SWEEPD_REAP_INTERVAL_SECONDS": "1",
           "PYTHONUNBUFFERED": "1"}
    env.pop("RAY_ADDRESS", None)
    server = LiveServer(data_dir=data, env=env, port=free_port()).start()
    client = server.client()
    running_id = None
    try:
        finished, study, grid = (client.submit(spec) for spec in (FINISHED, STUDY, GRID))
        running_id = client.submit(RUNNING).id  # last: it holds a worker for the whole module
        for sweep in (finished, study, grid):
            sweep.wait(progress=False, timeout=240)
        yield Site(server, finished.id, running_id, study.id, grid.id)
    finally:
        if running_id is not None:
            _cancel_and_drain(server, client, running_id)
        client.close()
        server.stop()


def _cancel_and_drain(server: LiveServer, client, sweep_id: int) -> None:
    """Cancel the long sweep and wait until the dispatcher has stopped its Ray task, so that
    no training outlives the module on the shared cluster."""
    client.cancel(sweep_id)

    def drained() -> bool:
        checks = httpx.get(f"{server.url}/readyz", timeout=5).json()["checks"]
        return checks.get("batches_in_flight") == 0

    wait_until(drained, timeout=60, what="the cancelled sweep's batch to stop")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail(f"Chromium and chromedriver are needed at {CHROMIUM} and {CHROMEDRIVER}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="sweepd-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps", "--window-size=1280,900",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_until(condition, timeout: float = 60.0, interval: float = 0.25, what: str = "") -> object:
    """Poll `condition()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(interval)


def wait_ready(driver, timeout: float = 90.0) -> None:
    """Wait until the page marks everything it draws at load as drawn."""
    wait_until(lambda: driver.execute_script("return document.body.dataset.ready === 'true'"),
               timeout, what=f"{driver.current_url} to be drawn")


def screenshot(driver, name: str, folder: Path = SCREENSHOTS) -> Path:
    """Save a full-page PNG of the current page as <folder>/<name>.png."""
    folder.mkdir(parents=True, exist_ok=True)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot",
                                  {"format": "png", "captureBeyondViewport": True})
    path = folder / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def console_errors(driver) -> list[str]:
    """Console errors since the last call (the log is drained by reading it)."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE"]


def requested_urls(driver) -> list[str]:
    """Every URL the browser requested since the last call (the log is drained by reading)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def foreign(urls: list[str]) -> list[str]:
    """The URLs whose host is not this machine."""
    return [u for u in urls if urlsplit(u).scheme not in LOCAL_SCHEMES
            and urlsplit(u).hostname not in LOCAL_HOSTS]


def foreign_requests(driver) -> list[str]:
    """URLs requested since the last call whose host is not this machine."""
    return foreign(requested_urls(driver))


def assert_clean(driver) -> None:
    """No console error and no request that left this machine since the last check."""
    assert console_errors(driver) == []
    assert foreign_requests(driver) == []


@dataclass
class LocalStore:
    """A migrated SQLite store in a temporary folder with one user, alice, and her token: what
    the in-process page tests (no Ray, no server process) build their sweeps on."""

    data: Path
    store: Any
    settings: Any
    owner: int
    token: str


def local_store(tmp_path_factory: pytest.TempPathFactory, name: str) -> LocalStore:
    from sweepd.settings import Settings
    from sweepd.storage.database import create_engine
    from sweepd.storage.schema import migrate
    from sweepd.storage.store import Store

    data: Path = tmp_path_factory.mktemp(name)
    url = f"sqlite:///{data / 'sweepd.db'}"
    migrate(url)
    store = Store(create_engine(url))
    settings = Settings(data_dir=data, token_file=data / "token.json")
    owner = store.create_user("alice").id
    return LocalStore(data, store, settings, owner, store.create_token(owner, "browser")[1])
