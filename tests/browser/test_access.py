"""Who the dashboard answers (``dockyard ui`` started by its command, requests with httpx):
only requests that hold its token (query, then cookie, or header), addressed to its own host,
from its own pages' origin. No CORS header is ever sent."""

from __future__ import annotations

import httpx

from tests.browser.conftest import Dashboard


def test_a_request_without_the_token_is_refused_and_says_how_to_get_in(
    dashboard: Dashboard,
) -> None:
    for path in ("/", "/api/services", "/static/app.js"):
        answer = httpx.get(dashboard.base + path)
        assert answer.status_code == 401, (path, answer.text)
        assert "open the URL that `dockyard ui` printed" in answer.text
    wrong = httpx.get(dashboard.base + "/api/services", params={"token": "not-the-token"})
    assert wrong.status_code == 401
    posted = httpx.post(dashboard.base + "/api/services/any/delete", json={"confirm": "any"})
    assert posted.status_code == 401


def test_the_token_in_the_url_becomes_a_cookie_and_leaves_the_url(dashboard: Dashboard) -> None:
    with httpx.Client(base_url=dashboard.base) as client:
        first = client.get("/", params={"token": dashboard.token})
        assert first.status_code == 303
        assert first.headers["location"] == "/"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        page = client.get("/")  # the cookie now
        assert page.status_code == 200 and "<title>dockyard</title>" in page.text
        assert page.headers["x-frame-options"] == "DENY"
        assert "access-control-allow-origin" not in page.headers
        assert client.get("/api/services").json() == []
    header = httpx.get(
        dashboard.base + "/api/workspace", headers={"Authorization": f"token {dashboard.token}"}
    )
    assert header.status_code == 200 and header.json()["name"] == "dashboard-tests"


def test_another_origin_or_host_is_refused_even_with_the_token(dashboard: Dashboard) -> None:
    auth = {"Authorization": f"token {dashboard.token}"}
    evil = httpx.get(
        dashboard.base + "/api/services", headers={**auth, "Origin": "http://evil.example"}
    )
    assert evil.status_code == 403 and "origin 'http://evil.example' are refused" in evil.text
    assert "access-control-allow-origin" not in evil.headers
    post = httpx.post(
        dashboard.base + "/api/services/forecast/delete",
        json={"confirm": "forecast"},
        headers={**auth, "Origin": "http://evil.example"},
    )
    assert post.status_code == 403
    rebound = httpx.get(dashboard.base + "/api/services", headers={**auth, "Host": "evil.example"})
    assert rebound.status_code == 403 and "is not this dashboard's address" in rebound.text
    own = httpx.get(dashboard.base + "/api/services", headers={**auth, "Origin": dashboard.base})
    assert own.status_code == 200
