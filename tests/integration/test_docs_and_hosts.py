"""/docs works offline under the pages' CSP, and the service answers only its own Host names
(issue 14, item 14)."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sweepd.settings import Settings
from sweepd.storage.schema import open_store
from sweepd.storage.store import Store
from sweepd_api import create_app
from sweepd_api.web.assets import STATIC_DIR
from sweepd_api.web.templating import CSP

LOOPBACK = ("127.0.0.1", 50000)


@pytest.fixture
def store(tmp_path: Path, sqlite_template: Path) -> Iterator[Store]:
    shutil.copyfile(sqlite_template, tmp_path / "sweepd.db")
    store = open_store(f"sqlite:///{tmp_path / 'sweepd.db'}", auto_migrate=False)
    yield store
    store.dispose()


def client(store: Store, tmp_path: Path, base_url: str = "http://127.0.0.1:8642",
           **settings: object) -> TestClient:
    app = create_app(Settings(data_dir=tmp_path, **settings), store)  # type: ignore[arg-type]
    return TestClient(app, base_url=base_url, client=LOOPBACK, follow_redirects=False)


def test_docs_loads_only_local_assets_under_the_pages_csp(store, tmp_path):
    http = client(store, tmp_path)
    page = http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP.split("style-src")[0]
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/static/") for u in urls), urls
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script
    names = {u.split("?")[0].removeprefix("/static/") for u in urls}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "docs.js"} <= names
    for url in urls:
        asset = http.get(url)
        assert asset.status_code == 200, url
        name = url.split("?")[0].removeprefix("/static/")
        assert asset.content == (STATIC_DIR / name).read_bytes()
    assert http.get("/openapi.json").status_code == 200


def test_vendored_swagger_ui_is_the_recorded_release_with_its_licence():
    recorded = dict(line.split()[::-1] for line in
                    (STATIC_DIR / "swagger-ui-VERSION.txt").read_text().splitlines()[1:])
    for name, digest in recorded.items():
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == digest
    assert "Apache License" in (STATIC_DIR / "swagger-ui-LICENSE.txt").read_text()


@pytest.mark.parametrize("path", ["/metrics", "/", "/signin", "/docs", "/healthz",
                                  "/api/v1/sweeps", "/static/style.css"])
def test_foreign_host_is_400_problem(store, tmp_path, path):
    """DNS rebinding: a page of rebind.example, pointed at 127.0.0.1, asks the service."""
    http = client(store, tmp_path, base_url="http://rebind.example:8642")
    response = http.get(path)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "Host" in response.json()["detail"]


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8642", "http://localhost:8642",
                                      "http://[::1]:8642", "http://LOCALHOST"])
def test_loopback_names_are_answered_when_bound_to_loopback(store, tmp_path, base_url):
    assert client(store, tmp_path, base_url=base_url).get("/healthz").status_code == 200


def test_public_url_host_is_trusted(store, tmp_path):
    http = client(store, tmp_path, base_url="https://sweepd.example.org",
                  public_url="https://sweepd.example.org/")
    assert http.get("/healthz").status_code == 200
    assert client(store, tmp_path, base_url="https://other.example.org",
                  public_url="https://sweepd.example.org/").get("/healthz").status_code == 400


def test_trusted_hosts_setting_with_wildcards(store, tmp_path):
    settings = {"trusted_hosts": "*.lab.example, sweepd.example"}
    for base_url, status in [("http://a.lab.example", 200), ("http://sweepd.example", 200),
                             ("http://lab.example", 400), ("http://127.0.0.1:8642", 400)]:
        assert client(store, tmp_path, base_url=base_url,
                      **settings).get("/healthz").status_code == status, base_url


def test_missing_host_header_is_400(store, tmp_path):
    http = client(store, tmp_path)
    response = http.get("/healthz", headers={"Host": ""})
    assert response.status_code == 400


def test_default_trusted_hosts():
    assert Settings().resolved_trusted_hosts == ["127.0.0.1", "localhost", "::1"]
    assert Settings(host="0.0.0.0").resolved_trusted_hosts == ["*"]
    assert Settings(public_url="https://Sweepd.Example/").resolved_trusted_hosts[-1] == (
        "sweepd.example")
