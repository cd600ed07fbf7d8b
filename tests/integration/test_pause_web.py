"""The web page's pause and resume buttons (issue 15, item 2), without a browser: the page's
routes under the session's CSRF guard, and the page as rendered for a paused sweep. The
buttons themselves are clicked in tests/browser/test_web_page.py.
"""

from __future__ import annotations

import re

import pytest

from tests.integration.test_web_auth import BASE, ORIGIN, site  # noqa: F401  (the fixture)


def _referer(site) -> dict[str, str]:  # noqa: F811
    return {"Referer": f"{BASE}/sweeps/{site.running_id}"}


def test_page_pause_and_resume_with_csrf_token_act(site):  # noqa: F811
    client, csrf = site.signed_in()
    headers = {**_referer(site), "X-Sweepd-CSRF": csrf}
    paused = client.post(f"/web-api/sweeps/{site.running_id}/pause", headers=headers)
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    assert site.running_state() == "paused"
    resumed = client.post(f"/web-api/sweeps/{site.running_id}/resume", headers=headers)
    assert resumed.status_code == 200 and resumed.json()["state"] == "pending"
    ended = client.post(f"/web-api/sweeps/{site.sweep_id}/pause", headers=headers)
    assert ended.status_code == 409 and "has ended (completed)" in ended.json()["detail"]


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_page_pause_and_resume_without_csrf_token_are_refused(site, action):  # noqa: F811
    client, _ = site.signed_in()
    owner = site.store.authenticate(site.alice).id
    if action == "resume":
        site.store.pause_sweep(owner, site.running_id)
    before = site.running_state()
    response = client.post(f"/web-api/sweeps/{site.running_id}/{action}", headers=ORIGIN)
    assert response.status_code == 403
    assert site.running_state() == before


def _visible(html: str, attr: str) -> bool:
    tag = re.search(rf"<[^>]*\b{attr}=[^>]*>", html)
    assert tag is not None, attr
    return " hidden" not in tag.group(0)


def test_sweep_page_of_paused_sweep_offers_resume_and_says_counts_are_frozen(site):  # noqa: F811
    client, _ = site.signed_in()
    owner = site.store.authenticate(site.alice).id
    running = client.get(f"/sweeps/{site.running_id}").text
    assert _visible(running, "data-pause") and not _visible(running, "data-resume")
    assert not _visible(running, "data-paused-for")
    site.store.pause_sweep(owner, site.running_id)
    html = client.get(f"/sweeps/{site.running_id}").text
    assert re.search(r'class="badge state-paused"[^>]*>paused<', html)
    assert not _visible(html, "data-pause") and _visible(html, "data-resume")
    assert _visible(html, "data-paused-for") and "counts stay as they are" in html
    assert 'class="progress progress-large paused"' in html
    assert "data-cancel" in html  # a paused sweep can still be cancelled
    listing = client.get("/").text
    assert f'data-cancel="{site.running_id}"' in listing
    finished = client.get(f"/sweeps/{site.sweep_id}").text
    assert "data-pause=" not in finished and "data-resume=" not in finished
