"""The dashboard's JSON API against ``dockyard ui`` started by its command (httpx, no browser):
a slow SDK call (a 3 s run()) does not hold up other requests, errors come back with the SDK's
status and advice, and a request body reaches run() as sent."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path

import httpx

from dockyard import Model, Workspace
from tests.browser.conftest import Dashboard, deploy

SLOW = """\
import json, time

def init():
    print("slow model loaded")

def run(data):
    asked = json.loads(data)
    time.sleep(asked.get("sleep", 0))
    return {"slept": asked.get("sleep", 0)}
"""


def test_a_slow_call_does_not_hold_up_the_other_requests(
    ws: Workspace, model: Model, tmp_path: Path, services: list[str], dashboard: Dashboard
) -> None:
    deploy(ws, model, tmp_path / "slow", "slow", SLOW, services)
    headers = {"Authorization": f"token {dashboard.token}"}
    with (
        httpx.Client(base_url=dashboard.base, headers=headers, timeout=30) as client,
        concurrent.futures.ThreadPoolExecutor(1) as pool,
    ):
        scoring = pool.submit(client.post, "/api/services/slow/score", content='{"sleep": 3}')
        time.sleep(0.5)  # the score request is in run() now
        start = time.monotonic()
        answer = client.get("/api/services/slow")
        took = time.monotonic() - start
        assert answer.status_code == 200 and answer.json()["state"] == "Healthy"
        assert not scoring.done(), "run() should still be sleeping"
        assert took < 1.5, f"the service page's data took {took:.2f} s while run() slept"
        assert scoring.result().json() == {"ok": True, "result": {"slept": 3}}

        missing = client.get("/api/services/nothing-here")
        assert missing.status_code == 404
        assert "nothing-here" in missing.json()["error"] and missing.json()["hint"]

        failed = client.post("/api/services/slow/score", content="not json")
        data = failed.json()
        assert failed.status_code == 200 and data["ok"] is False
        assert data["status"] == 500 and data["requestId"]
        models = client.get("/api/models").json()
        assert [(m["id"], m["tags"]) for m in models] == [("weather:1", {"team": "forecast"})]
        assert models[0]["files"][0]["path"].endswith("weather-model.txt")
