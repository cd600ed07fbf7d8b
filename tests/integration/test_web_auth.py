"""The web page's guard (issue 5): sign-in, the cookie, CSRF defence, the local token, isolation.

No browser: the real app over a migrated SQLite store, driven with TestClient. Without a valid
cookie every page answers 303 to /signin and every data endpoint 401; another user's sweep is
a 404; state-changing requests from another origin are refused.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sweepd import tokenfile
from sweepd.settings import Settings
from sweepd.spec import SweepSpec
from sweepd.storage.schema import open_store
from sweepd.storage.store import Store
from sweepd_api import create_app
from tests.integration.api.api_support import finish_trials, small_spec

ORIGIN = {"Origin": "http://testserver"}
ELSEWHERE = {"Origin": "https://evil.example"}


@dataclass
class Site:
    store: Store
    settings: Settings
    alice: str  # raw tokens
    bob: str
    sweep_id: int  # alice's, completed
    running_id: int  # alice's, not started
    trial_id: int

    def client(self, token: str | None = None, *, host: str = "127.0.0.1",
               base_url: str = "http://testserver") -> TestClient:
        client = TestClient(create_app(self.settings, self.store), base_url=base_url,
                            client=(host, 50000), follow_redirects=False)
        if token is not None:
            client.cookies.set("sweepd_token", token)
        return client

    def pages(self) -> list[str]:
        return ["/", "/?page=2", f"/sweeps/{self.sweep_id}",
                f"/sweeps/{self.sweep_id}/trials/{self.trial_id}"]

    def data(self) -> list[tuple[str, str]]:
        base = f"/web-api/sweeps/{self.sweep_id}"
        return [("GET", f"{base}/trials"), ("GET", f"{base}/comparison"), ("GET", f"{base}/units"),
                ("GET", f"{base}/boundary?trial={self.trial_id}"),
                ("GET", f"/web-api/sweeps/live?ids={self.sweep_id}"),
                ("POST", f"/web-api/sweeps/{self.running_id}/cancel"),
                ("POST", f"{base}/trials/{self.trial_id}/replay")]


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[Site]:
    shutil.copyfile(sqlite_template, tmp_path / "sweepd.db")
    store = open_store(f"sqlite:///{tmp_path / 'sweepd.db'}", auto_migrate=False)
    tokens = []
    for name in ("alice", "bob"):
        user = store.create_user(name)
        tokens.append(store.create_token(user.id, name)[1])
    alice_id = store.authenticate(tokens[0]).id
    sweep, _ = store.submit_sweep(alice_id, SweepSpec.model_validate(small_spec("done")))
    trial_id = finish_trials(store)[0]
    running, _ = store.submit_sweep(alice_id, SweepSpec.model_validate(small_spec("waiting")))
    settings = Settings(data_dir=tmp_path, token_file=tmp_path / "token.json")
    yield Site(store, settings, tokens[0], tokens[1], sweep.id, running.id, trial_id)
    store.dispose()


def assert_sign_in_redirect(response, path: str) -> None:
    assert response.status_code == 303, path
    assert response.headers["location"].startswith("/signin?next="), path


def test_get_page_without_cookie_redirects_to_signin(site):
    client = site.client()
    for path in site.pages():
        response = client.get(path)
        assert_sign_in_redirect(response, path)
        assert site.alice not in response.text


def test_get_page_with_wrong_cookie_redirects_and_clears_it(site):
    client = site.client("swd_not-a-real-token")
    for path in site.pages():
        response = client.get(path)
        assert_sign_in_redirect(response, path)
        assert 'sweepd_token=""' in response.headers["set-cookie"]


@pytest.mark.parametrize("token", [None, "swd_not-a-real-token", "x" * 5000])
def test_data_endpoint_without_valid_cookie_is_401(site, token):
    client = site.client(token)
    for method, path in site.data():
        response = client.request(method, path, headers=ORIGIN)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"
    assert site.store.get_sweep(site.store.authenticate(site.alice).id,
                                site.running_id).state == "pending"


def test_other_users_sweep_is_404_on_every_page_and_endpoint(site):
    bob, alice = site.client(site.bob), site.client(site.alice)
    for path in site.pages()[2:]:
        assert bob.get(path).status_code == 404, path
        assert alice.get(path).status_code == 200, path
    for method, path in site.data():
        if "live" in path:  # a stream of ids that are not yours is merely empty
            continue
        assert bob.request(method, path, headers=ORIGIN).status_code == 404, path
    assert "done" not in bob.get("/").text
    assert "done" in alice.get("/").text


def test_signin_with_token_sets_strict_httponly_cookie(site):
    client = site.client()
    response = client.post("/signin", data={"token": site.alice, "next": f"/sweeps/{site.sweep_id}"},
                           headers=ORIGIN)
    assert response.status_code == 303
    assert response.headers["location"] == f"/sweeps/{site.sweep_id}"
    cookie = response.headers["set-cookie"].lower()
    assert f"sweepd_token={site.alice.lower()}" in cookie
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert client.get(f"/sweeps/{site.sweep_id}").status_code == 200


def test_signin_over_https_sets_secure_cookie(site):
    client = site.client(base_url="https://testserver")
    response = client.post("/signin", data={"token": site.alice},
                           headers={"Origin": "https://testserver"})
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


def test_signin_with_wrong_token_is_refused(site):
    client = site.client()
    response = client.post("/signin", data={"token": "swd_wrong"}, headers=ORIGIN)
    assert response.status_code == 401
    assert "not valid" in response.text
    assert "set-cookie" not in response.headers
    assert_sign_in_redirect(client.get("/"), "/")


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_signin_never_redirects_off_site(site, target):
    response = site.client().post("/signin", data={"token": site.alice, "next": target},
                                  headers=ORIGIN)
    assert response.headers["location"] == "/"


def test_post_from_another_origin_is_refused(site):
    client = site.client(site.alice)
    cancel = f"/web-api/sweeps/{site.running_id}/cancel"
    # Refused by the API's cookie guard (401) or the page's origin check (403): either way.
    assert client.post(cancel, headers=ELSEWHERE).status_code in (401, 403)
    assert client.post(cancel).status_code == 403  # neither Origin nor Referer
    owner = site.store.authenticate(site.alice).id
    assert site.store.get_sweep(owner, site.running_id).state == "pending"
    signin = site.client().post("/signin", data={"token": site.alice}, headers=ELSEWHERE)
    assert signin.status_code == 403 and "set-cookie" not in signin.headers


def test_cancel_from_the_page_cancels_the_sweep(site):
    client = site.client(site.alice)
    response = client.post(f"/web-api/sweeps/{site.running_id}/cancel",
                           headers={"Referer": f"http://testserver/sweeps/{site.running_id}"})
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"


def test_local_token_signs_in_a_browser_on_this_machine(site):
    tokenfile.save("http://127.0.0.1:8642", site.alice, site.settings.resolved_token_file)
    client = site.client(base_url="http://127.0.0.1:8642")
    form = client.get("/signin")
    assert "Use the local token" in form.text
    assert site.alice not in form.text  # the token never reaches the page
    response = client.post("/signin/local", data={"next": "/"},
                           headers={"Origin": "http://127.0.0.1:8642"})
    assert response.status_code == 303
    assert client.cookies.get("sweepd_token") == site.alice
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("host, base_url, headers", [
    ("10.1.2.3", "http://127.0.0.1:8642", {}),  # another machine
    ("127.0.0.1", "http://sweepd.example", {}),  # a public name (a proxy on this host)
    ("127.0.0.1", "http://127.0.0.1:8642", {"X-Forwarded-For": "203.0.113.9"}),
])
def test_local_token_is_refused_off_this_machine(site, host, base_url, headers):
    tokenfile.save("http://127.0.0.1:8642", site.alice, site.settings.resolved_token_file)
    client = site.client(host=host, base_url=base_url)
    assert "Use the local token" not in client.get("/signin", headers=headers).text
    origin = {"Origin": base_url, **headers}
    response = client.post("/signin/local", data={"next": "/"}, headers=origin)
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_signout_clears_the_cookie(site):
    client = site.client()
    client.post("/signin", data={"token": site.alice}, headers=ORIGIN)
    assert client.get("/").status_code == 200
    response = client.post("/signout", headers=ORIGIN)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert 'sweepd_token=""' in response.headers["set-cookie"]
    assert_sign_in_redirect(client.get("/"), "/")


def test_static_assets_need_no_sign_in_and_plotly_comes_from_its_package(site):
    from importlib import resources

    client = site.client()
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200
    assert plotly.content == (resources.files("plotly") / "package_data" / "plotly.min.js"
                              ).read_bytes()
    assert client.get("/static/../deps.py").status_code == 404
    assert client.get("/static/style.css").headers["cache-control"].endswith("immutable")


def test_session_says_whether_the_cookie_signs_in(site):
    assert site.client().get("/web-api/session").json() == {"signed_in": False, "user": None}
    assert site.client("swd_wrong").get("/web-api/session").json()["signed_in"] is False
    assert site.client(site.alice).get("/web-api/session").json() == {"signed_in": True,
                                                                      "user": "alice"}
