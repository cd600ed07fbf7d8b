"""The web page's guard (issues 5 and 14): sessions, the cookie, CSRF, sign-in links, isolation.

No browser: the real app over a migrated SQLite store, driven with TestClient on the loopback
address and the default trusted hosts. Without a valid session every page answers 303 to
/signin and every data endpoint 401; another user's sweep is a 404. Each attack of issue 14
(items 8 to 11) is played as it was found and must now fail.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sweepd import tokenfile
from sweepd.settings import Settings
from sweepd.spec import SweepSpec
from sweepd.storage.database import create_engine
from sweepd.storage.store import Store
from sweepd_api import create_app
from tests.integration.api.api_support import database_text, finish_trials, small_spec
from tests.integration.conftest import FakeClock

BASE = "http://127.0.0.1:8642"
ORIGIN = {"Origin": BASE}
ELSEWHERE = {"Origin": "https://evil.example"}
OTHER_PORT = {"Origin": "http://127.0.0.1:9999"}  # another server on this host
COOKIE = "sweepd_session"


@dataclass
class Site:
    store: Store
    settings: Settings
    clock: FakeClock
    alice: str  # raw tokens
    bob: str
    sweep_id: int  # alice's, completed
    running_id: int  # alice's, not started
    trial_id: int

    def client(self, *, host: str = "127.0.0.1", base_url: str = BASE,
               settings: Settings | None = None) -> TestClient:
        return TestClient(create_app(settings or self.settings, self.store), base_url=base_url,
                          client=(host, 50000), follow_redirects=False)

    def signed_in(self, token: str | None = None) -> tuple[TestClient, str]:
        """A client signed in through the form, and the CSRF token its page was handed."""
        client = self.client()
        response = client.post("/signin", data={"token": token or self.alice}, headers=ORIGIN)
        assert response.status_code == 200
        return client, csrf_of(response.text)

    def pages(self) -> list[str]:
        return ["/", "/?page=2", f"/sweeps/{self.sweep_id}",
                f"/sweeps/{self.sweep_id}/trials/{self.trial_id}"]

    def data(self) -> list[tuple[str, str]]:
        base = f"/web-api/sweeps/{self.sweep_id}"
        return [("GET", f"{base}/trials"), ("GET", f"{base}/comparison"), ("GET", f"{base}/units"),
                ("GET", f"{base}/boundary?trial={self.trial_id}"),
                ("GET", f"{base}/trials/{self.trial_id}"),
                ("GET", f"{base}/trials/{self.trial_id}/weights"),
                ("GET", f"/web-api/sweeps/live?ids={self.sweep_id}"),
                ("POST", f"/web-api/sweeps/{self.running_id}/cancel"),
                ("POST", f"{base}/trials/{self.trial_id}/replay")]

    def running_state(self) -> str:
        owner = self.store.authenticate(self.alice).id
        return self.store.get_sweep(owner, self.running_id).state


def csrf_of(html: str) -> str:
    return re.search(r'data-csrf="([^"]+)"', html).group(1)


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[Site]:
    shutil.copyfile(sqlite_template, tmp_path / "sweepd.db")
    clock = FakeClock()
    store = Store(create_engine(f"sqlite:///{tmp_path / 'sweepd.db'}"), clock=clock)
    tokens = []
    for name in ("alice", "bob"):
        user = store.create_user(name)
        tokens.append(store.create_token(user.id, name)[1])
    alice_id = store.authenticate(tokens[0]).id
    sweep, _ = store.submit_sweep(alice_id, SweepSpec.model_validate(small_spec("done")))
    trial_id = finish_trials(store)[0]
    running, _ = store.submit_sweep(alice_id, SweepSpec.model_validate(small_spec("waiting")))
    settings = Settings(data_dir=tmp_path, token_file=tmp_path / "token.json", port=8642)
    yield Site(store, settings, clock, tokens[0], tokens[1], sweep.id, running.id, trial_id)
    store.dispose()


def assert_sign_in_redirect(response, path: str) -> None:
    assert response.status_code == 303, path
    assert response.headers["location"].startswith("/signin?next="), path


# -- the guard ----------------------------------------------------------------------------


def test_get_page_without_cookie_redirects_to_signin(site):
    client = site.client()
    for path in site.pages():
        response = client.get(path)
        assert_sign_in_redirect(response, path)
        assert site.alice not in response.text


def test_get_page_with_wrong_cookie_redirects_and_clears_it(site):
    client = site.client()
    client.cookies.set(COOKIE, "sws_not-a-real-session")
    for path in site.pages():
        response = client.get(path)
        assert_sign_in_redirect(response, path)
        assert f'{COOKIE}=""' in response.headers["set-cookie"]


@pytest.mark.parametrize("value", [None, "sws_not-a-real-session", "x" * 5000])
def test_data_endpoint_without_valid_session_is_401(site, value):
    client = site.client()
    if value is not None:
        client.cookies.set(COOKIE, value)
    for method, path in site.data():
        response = client.request(method, path, headers=ORIGIN)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"
    assert site.running_state() == "pending"


def test_other_users_sweep_is_404_on_every_page_and_endpoint(site):
    (bob, bob_csrf), (alice, _) = site.signed_in(site.bob), site.signed_in()
    for path in site.pages()[2:]:
        assert bob.get(path).status_code == 404, path
        assert alice.get(path).status_code == 200, path
    for method, path in site.data():
        if "live" in path:  # a stream of ids that are not yours is merely empty
            continue
        response = bob.request(method, path, headers={**ORIGIN, "X-Sweepd-CSRF": bob_csrf})
        assert response.status_code == 404, path
    assert "done" not in bob.get("/").text
    assert "done" in alice.get("/").text


# -- item 8: the cookie is a session of its own, never the API token ------------------------


def test_signin_sets_a_session_cookie_that_is_not_the_token(site):
    client = site.client()
    response = client.post("/signin", data={"token": site.alice,
                                            "next": f"/sweeps/{site.sweep_id}"}, headers=ORIGIN)
    assert response.status_code == 200 and "Signed in as alice" in response.text
    assert f'data-next="/sweeps/{site.sweep_id}"' in response.text
    cookie = response.headers["set-cookie"]
    value = client.cookies.get(COOKIE)
    assert value.startswith("sws_") and site.alice not in cookie
    attributes = cookie.lower()
    assert "httponly" in attributes and "samesite=strict" in attributes
    assert "path=/" in attributes and "domain" not in attributes and "secure" not in attributes
    tokenfile.save(BASE, site.alice, site.settings.resolved_token_file)
    assert value not in site.settings.resolved_token_file.read_text()
    assert value not in database_text(f"sqlite:///{site.settings.sqlite_path}")  # hashed
    assert client.get(f"/sweeps/{site.sweep_id}").status_code == 200


def test_signin_over_https_sets_a_host_prefixed_secure_cookie(site):
    client = site.client(base_url="https://127.0.0.1:8642")
    response = client.post("/signin", data={"token": site.alice},
                           headers={"Origin": "https://127.0.0.1:8642"})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-sweepd_session=sws_")
    assert "secure" in cookie.lower() and "path=/" in cookie.lower()
    assert "domain" not in cookie.lower()
    assert client.get("/").status_code == 200
    client.cookies.set(COOKIE, client.cookies.get("__Host-sweepd_session"))
    del client.cookies["__Host-sweepd_session"]
    assert_sign_in_redirect(client.get("/"), "/")  # over https only the prefixed name counts


def test_session_cookie_does_not_authenticate_the_api(site):
    client, csrf = site.signed_in()
    headers = {**ORIGIN, "X-Sweepd-CSRF": csrf}
    assert client.get("/").status_code == 200  # the session is good on the page
    for method, path in [("GET", "/api/v1/sweeps"), ("GET", f"/api/v1/sweeps/{site.sweep_id}"),
                         ("GET", f"/api/v1/sweeps/{site.sweep_id}/events"),
                         ("POST", f"/api/v1/sweeps/{site.running_id}/cancel")]:
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401, path
        assert "takes no cookie" in response.json()["detail"]
    assert site.running_state() == "pending"


def test_api_token_as_cookie_signs_nobody_in(site):
    """The old cookie held the API token: such a cookie (or one tossed in) is worth nothing."""
    client = site.client()
    client.cookies.set(COOKIE, site.alice)
    client.cookies.set("sweepd_token", site.alice)
    assert_sign_in_redirect(client.get("/"), "/")
    assert client.get(f"/web-api/sweeps/{site.sweep_id}/trials").status_code == 401
    assert client.get("/api/v1/sweeps").status_code == 401


def test_signout_ends_the_session_on_the_server(site):
    client, _ = site.signed_in()
    stolen = client.cookies.get(COOKIE)
    response = client.post("/signout", headers=ORIGIN)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert f'{COOKIE}=""' in response.headers["set-cookie"]
    replay = site.client()
    replay.cookies.set(COOKIE, stolen)  # a copy of the cookie kept elsewhere
    assert_sign_in_redirect(replay.get("/"), "/")


def test_revoking_a_session_ends_it(site):
    client, _ = site.signed_in()
    owner = site.store.authenticate(site.alice).id
    [session] = site.store.list_web_sessions(owner)
    site.store.revoke_web_session(session.id)
    assert_sign_in_redirect(client.get("/"), "/")
    assert client.get(f"/web-api/sweeps/{site.sweep_id}/trials").status_code == 401


def test_revoking_the_token_ends_its_sessions(site):
    client, _ = site.signed_in()
    owner = site.store.authenticate(site.alice).id
    site.store.revoke_token(site.store.list_tokens(owner)[0].id)
    assert_sign_in_redirect(client.get("/"), "/")


def test_expired_session_is_refused(site):
    client, _ = site.signed_in()
    site.clock.advance(site.settings.web_session_hours * 3600 - 1)
    assert client.get("/").status_code == 200
    site.clock.advance(2)
    assert_sign_in_redirect(client.get("/"), "/")


# -- sign-in with a token ---------------------------------------------------------------------


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
    assert 'data-next="/"' in response.text


@pytest.mark.parametrize("headers", [ELSEWHERE, OTHER_PORT, {}])
def test_signin_from_another_origin_is_refused(site, headers):
    signin = site.client().post("/signin", data={"token": site.bob}, headers=headers)
    assert signin.status_code == 403 and "set-cookie" not in signin.headers


# -- item 9: one-click local sign-in needs proof of the token ----------------------------------


@pytest.mark.parametrize("method, path", [("POST", "/signin/local"), ("GET", "/signin/local"),
                                          ("GET", "/signin/local?code=swl_guessed")])
def test_forged_local_signin_without_a_link_gets_nothing(site, method, path):
    """Another local user, who cannot read token.json, forges Origin and Referer."""
    tokenfile.save(BASE, site.alice, site.settings.resolved_token_file)
    client = site.client()
    response = client.request(method, path, data={"next": "/"},
                              headers={**ORIGIN, "Referer": f"{BASE}/signin"})
    assert response.status_code == 403
    assert "set-cookie" not in response.headers and site.alice not in response.text
    assert_sign_in_redirect(client.get("/"), "/")


def make_link(site: Site, token: str | None = None) -> str:
    response = site.client().post("/api/v1/signin-links",
                                  headers={"Authorization": f"Bearer {token or site.alice}"})
    assert response.status_code == 201
    return response.json()["url"]


def test_signin_link_asks_then_signs_in_once(site):
    url = make_link(site)
    assert url.startswith(f"{BASE}/signin/local?code=swl_")
    client = site.client()
    question = client.get(url)
    assert question.status_code == 200 and "Sign in as alice?" in question.text
    assert "set-cookie" not in question.headers  # opening the link alone signs nobody in
    code = url.split("code=")[1]
    used = client.post("/signin/local", data={"code": code, "next": "/"}, headers=ORIGIN)
    assert used.status_code == 200 and client.cookies.get(COOKIE).startswith("sws_")
    assert client.get("/").status_code == 200
    again = site.client().post("/signin/local", data={"code": code}, headers=ORIGIN)
    assert again.status_code == 403 and "set-cookie" not in again.headers
    assert site.client().get(url).status_code == 403


def test_signin_link_expires(site):
    url = make_link(site)
    site.clock.advance(site.settings.signin_link_seconds + 1)
    response = site.client().post("/signin/local", data={"code": url.split("code=")[1]},
                                  headers=ORIGIN)
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_signin_link_used_from_another_origin_is_refused(site):
    """Login CSRF with a link: another site (or port) posts the attacker's own link."""
    code = make_link(site, site.bob).split("code=")[1]
    for headers in (ELSEWHERE, OTHER_PORT):
        response = site.client().post("/signin/local", data={"code": code}, headers=headers)
        assert response.status_code == 403 and "set-cookie" not in response.headers


def test_signin_link_needs_a_bearer_token(site):
    client = site.client()
    assert client.post("/api/v1/signin-links").status_code == 401
    signed_in, csrf = site.signed_in()
    response = signed_in.post("/api/v1/signin-links", headers={**ORIGIN, "X-Sweepd-CSRF": csrf})
    assert response.status_code == 401  # a session cannot mint itself more sessions


def test_signin_page_offers_no_local_token_button(site):
    tokenfile.save(BASE, site.alice, site.settings.resolved_token_file)
    form = site.client().get("/signin")
    assert "sweepd open" in form.text and 'action="/signin/local"' not in form.text


# -- item 10: CSRF on the page's routes; the API takes no cookie ------------------------------


def test_api_cancel_with_cookie_and_no_origin_is_refused(site):
    """The attack as found: POST /api/v1/sweeps/{id}/cancel with the cookie, no Origin/Referer."""
    client, _ = site.signed_in()
    assert client.post(f"/api/v1/sweeps/{site.running_id}/cancel").status_code == 401
    assert site.running_state() == "pending"


def test_api_submit_with_cookie_and_no_content_type_stores_nothing(site):
    client, _ = site.signed_in()
    before = database_text(f"sqlite:///{site.settings.sqlite_path}").count("api-test")
    response = client.post("/api/v1/sweeps", content=SweepSpec.model_validate(
        small_spec()).model_dump_json().encode())
    assert response.status_code == 401
    assert database_text(f"sqlite:///{site.settings.sqlite_path}").count("api-test") == before


@pytest.mark.parametrize("headers", [
    {},  # neither Origin nor Referer
    ELSEWHERE,
    OTHER_PORT,
    {**ORIGIN},  # this origin, but no CSRF token
    {**ORIGIN, "X-Sweepd-CSRF": "not-the-token"},
])
def test_page_cancel_without_origin_and_csrf_token_is_refused(site, headers):
    client, _ = site.signed_in()
    response = client.post(f"/web-api/sweeps/{site.running_id}/cancel", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert site.running_state() == "pending"


def test_page_cancel_with_origin_and_csrf_token_cancels(site):
    client, csrf = site.signed_in()
    response = client.post(f"/web-api/sweeps/{site.running_id}/cancel",
                           headers={"Referer": f"{BASE}/sweeps/{site.running_id}",
                                    "X-Sweepd-CSRF": csrf})
    assert response.status_code == 200 and response.json()["state"] == "cancelled"


def test_page_reads_trial_weights_and_events_through_its_own_routes(site):
    client, _ = site.signed_in()
    base = f"/web-api/sweeps/{site.sweep_id}"
    trial = client.get(f"{base}/trials/{site.trial_id}")
    assert trial.status_code == 200 and trial.json()["id"] == site.trial_id
    weights = client.get(f"{base}/trials/{site.trial_id}/weights")
    assert weights.status_code == 200 and weights.headers["x-content-sha256"]
    with client.stream("GET", f"{base}/events") as events:
        assert events.status_code == 200
        assert "event: end" in "".join(events.iter_text())  # the sweep is final


def test_bearer_token_still_works_on_the_page_routes(site):
    client = site.client()
    response = client.post(f"/web-api/sweeps/{site.running_id}/cancel",
                           headers={"Authorization": f"Bearer {site.alice}"})
    assert response.status_code == 200  # no cookie, so no CSRF check is due


# -- item 11: a session cookie tossed in from another port ------------------------------------


def test_tossed_session_is_not_bound_to_the_page_and_cannot_act(site):
    """Bob (another port of this host) signs in himself and sets his cookie in Alice's browser;
    her page still holds her own CSRF token in its origin's storage, which he cannot reach."""
    _, alice_csrf = site.signed_in()
    bob, _ = site.signed_in(site.bob)
    victim = site.client()
    victim.cookies.set(COOKIE, bob.cookies.get(COOKIE))  # the tossed cookie
    session = victim.get("/web-api/session", headers={"X-Sweepd-CSRF": alice_csrf}).json()
    assert session == {"signed_in": True, "user": "bob", "bound": False}  # the page signs out
    response = victim.post(f"/web-api/sweeps/{site.running_id}/cancel",
                           headers={**ORIGIN, "X-Sweepd-CSRF": alice_csrf})
    assert response.status_code == 403
    ended = victim.post("/signout", headers=ORIGIN)  # what the page then does
    assert ended.status_code == 303
    assert_sign_in_redirect(bob.get("/"), "/")  # the tossed session is over for good
    assert "ended" in site.client().get("/signin?foreign=true").text


def test_two_session_cookies_sign_nobody_in(site):
    """A cookie set for a deeper path by another port is sent beside ours: refuse both."""
    alice, _ = site.signed_in()
    bob, _ = site.signed_in(site.bob)
    both = f"{COOKIE}={bob.cookies.get(COOKIE)}; {COOKIE}={alice.cookies.get(COOKIE)}"
    client = site.client()
    assert_sign_in_redirect(client.get("/", headers={"Cookie": both}), "/")
    assert client.get("/web-api/session", headers={"Cookie": both}).json()["signed_in"] is False


def test_session_says_whether_signed_in_and_bound(site):
    assert site.client().get("/web-api/session").json() == {
        "signed_in": False, "user": None, "bound": False}
    client, csrf = site.signed_in()
    assert client.get("/web-api/session").json()["bound"] is False
    assert client.get("/web-api/session", headers={"X-Sweepd-CSRF": csrf}).json() == {
        "signed_in": True, "user": "alice", "bound": True}


# -- assets -----------------------------------------------------------------------------------


def test_static_assets_need_no_sign_in_and_plotly_comes_from_its_package(site):
    from importlib import resources

    client = site.client()
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200
    assert plotly.content == (resources.files("plotly") / "package_data" / "plotly.min.js"
                              ).read_bytes()
    assert client.get("/static/../deps.py").status_code == 404
    assert client.get("/static/style.css").headers["cache-control"].endswith("immutable")


# -- listing and revoking sessions from the command line --------------------------------------


def test_token_list_shows_sessions_and_revoke_ends_one(site, monkeypatch):
    from typer.testing import CliRunner

    from sweepd.cli import app

    client, _ = site.signed_in()
    monkeypatch.setenv("SWEEPD_DATA_DIR", str(site.settings.data_dir))
    monkeypatch.delenv("SWEEPD_DATABASE_URL", raising=False)
    runner = CliRunner()
    listed = runner.invoke(app, ["token", "list", "--user", "alice"], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert "web sessions" in listed.output
    [session] = site.store.list_web_sessions(site.store.authenticate(site.alice).id)
    assert f"{session.expires_at:%Y-%m-%d %H:%M}" in listed.output  # the session's row
    assert client.cookies.get(COOKIE) not in listed.output
    revoked = runner.invoke(app, ["token", "revoke", str(session.id), "--session"])
    assert revoked.exit_code == 0, revoked.output
    assert_sign_in_redirect(client.get("/"), "/")
