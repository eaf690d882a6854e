"""GET /metrics on a real server with two workers, after a known mix of requests: exact counts."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import httpx

from dockyard.server.metrics import ROW, SCORE_ROUTE
from dockyard.server.metrics_history import read_history
from tests.integration.metrics.conftest import parse, value

SCRIPT = """
import time
def init():
    time.sleep(0.05)
def run(data):
    if data == "fail":
        raise ValueError("asked to fail")
    if data.startswith("sleep:"):
        time.sleep(float(data[6:]))
    return {"ok": data}
"""

TWO_WORKERS = {
    "WORKER_COUNT": "2",
    "DOCKYARD_MAX_CONCURRENT_REQUESTS": "1",
    "DOCKYARD_MAX_REQUEST_WAIT_TIME_MS": "100",
    "SCORING_TIMEOUT_MS": "1000",
    "DOCKYARD_RUN_INLINE": "never",
}

SCORE_LINES = (
    "dockyard_http_requests_total",
    "dockyard_http_request_duration_seconds_count",
    "dockyard_run_duration_seconds_count",
    "dockyard_rejected_requests_total",
    "dockyard_scoring_timeouts_total",
    "dockyard_run_failures_total",
    "dockyard_slot_wait_seconds_count",
)


def _burst(url: str, count: int, body: str) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def one() -> None:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            status = client.post(url + "/score", content=body).status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _score_view(text: str) -> dict[object, float]:
    """The samples about /score (scrapes themselves change the /metrics route's counters)."""
    return {
        key: number
        for key, number in parse(text).items()
        if key[0] in SCORE_LINES and ("route", "/metrics") not in key[1]
    }


def test_exact_counts_after_a_known_mix_with_two_workers(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(SCRIPT, env=TWO_WORKERS)
    with server.client() as client:
        seen = [client.post("/score", content=f"item-{i}").status_code for i in range(6)]
        assert seen == [200] * 6
        bad = [client.post("/score", content=b"\xff\xfe").status_code for _ in range(2)]
        assert bad == [400, 400]
        failed = [client.post("/score", content="fail").status_code for _ in range(3)]
        assert failed == [500, 500, 500]
        assert client.get("/nowhere").status_code == 404
    # Overload: 6 slow requests at once on 2 workers of 1 slot each, 100 ms of wait: some 503.
    burst = _burst(server.url, 6, "sleep:0.6")
    ok_in_burst, shed = burst.count(200), burst.count(503)
    assert ok_in_burst + shed == 6 and shed >= 2, burst
    # A scoring timeout (the slot is free again once the sleep is interrupted).
    timed = server.post("/score", content="sleep:3")
    assert timed.status_code == 500 and "Scoring timeout after 1000 ms" in timed.text

    scrape = server.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = parse(scrape.text)
    total = 6 + 2 + 3 + 6 + 1
    assert value(samples, "dockyard_http_requests_total", route="/score", code="2xx") == (
        6 + ok_in_burst
    )
    assert value(samples, "dockyard_http_requests_total", route="/score", code="4xx") == 2
    assert value(samples, "dockyard_http_requests_total", route="/score", code="5xx") == (
        3 + shed + 1
    )
    assert value(samples, "dockyard_http_requests_total", route="other", code="4xx") == 1
    assert value(samples, "dockyard_rejected_requests_total", reason="overload") == shed
    assert value(samples, "dockyard_rejected_requests_total", reason="starting") == 0
    assert value(samples, "dockyard_scoring_timeouts_total") == 1
    assert value(samples, "dockyard_run_failures_total") == 3
    assert value(samples, "dockyard_http_request_duration_seconds_count", route="/score") == total
    assert value(samples, "dockyard_run_duration_seconds_count") == 6 + ok_in_burst
    run_sum = value(samples, "dockyard_run_duration_seconds_sum")
    assert run_sum >= 0.6 * ok_in_burst
    assert value(samples, "dockyard_slot_wait_seconds_count") >= shed
    assert value(samples, "dockyard_http_requests_in_flight") == 1  # the scrape itself
    assert value(samples, "dockyard_workers") == 2
    assert value(samples, "dockyard_init_calls_total") == 2
    assert value(samples, "dockyard_worker_restarts_total") == 0
    for worker in ("0", "1"):
        init_s = value(samples, "dockyard_init_duration_seconds", worker=worker)
        assert 0.05 <= init_s < 5
    build = [key for key in samples if key[0] == "dockyard_build_info"]
    assert len(build) == 1 and dict(build[0][1])["version"]
    # Both workers' rows are summed: every scrape gives the same numbers, whichever worker answers.
    views = [_score_view(server.get("/metrics").text) for _ in range(8)]
    assert all(view == views[0] for view in views)
    assert views[0] == _score_view(scrape.text)


def test_a_worker_that_dies_is_counted_and_its_row_continues(start_server) -> None:  # type: ignore[no-untyped-def]
    script = SCRIPT + "\nimport os\ndef _die():\n    os._exit(9)\n"
    script = script.replace(
        '    if data == "fail":', '    if data == "die":\n        _die()\n    if data == "fail":'
    )
    server = start_server(script, env={**TWO_WORKERS, "DOCKYARD_RUN_INLINE": "auto"})
    for index in range(4):
        assert server.post("/score", content=f"x{index}").status_code == 200
    with contextlib.suppress(httpx.HTTPError):  # the connection ends with the worker
        server.post("/score", content="die")
    server.wait_log("starting a new one", timeout=10)
    deadline = time.monotonic() + 20
    samples = parse(server.get("/metrics").text)
    while value(samples, "dockyard_init_calls_total") < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
        samples = parse(server.get("/metrics").text)
    assert value(samples, "dockyard_worker_restarts_total") == 1
    assert value(samples, "dockyard_init_calls_total") == 3
    # The four answers before the crash are still counted (the new worker continues the row).
    assert value(samples, "dockyard_http_requests_total", route="/score", code="2xx") == 4
    assert value(samples, "dockyard_http_requests_in_flight") == 1


def test_key_auth_protects_metrics(start_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys.json"
    keys.write_text('{"primaryKey": "pk-123", "secondaryKey": "sk-456"}')
    server = start_server(SCRIPT, env={"DOCKYARD_KEYS_FILE": str(keys)})
    refused = server.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert server.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    allowed = server.get("/metrics", headers={"Authorization": "Bearer sk-456"})
    assert allowed.status_code == 200
    assert "dockyard_http_requests_total" in allowed.text
    assert server.get("/").status_code == 200  # liveness stays open


def test_metrics_off(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(SCRIPT, env={"DOCKYARD_METRICS": "0"})
    assert server.post("/score", content="a").status_code == 200
    assert server.get("/metrics").status_code == 404


def test_history_ring_file(start_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ring = tmp_path / "history" / "metrics.ring"
    server = start_server(
        SCRIPT,
        env={
            "WORKER_COUNT": "2",
            "DOCKYARD_METRICS_HISTORY": str(ring),
            "DOCKYARD_METRICS_INTERVAL_S": "0.2",
        },
    )
    for index in range(5):
        assert server.post("/score", content=f"r{index}").status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        samples = read_history(str(ring))
        if samples and samples[-1][2][SCORE_ROUTE * 4] == 5:
            break
        time.sleep(0.1)
    assert samples[-1][2][SCORE_ROUTE * 4] == 5
    assert samples[-1][1] == 1
    assert len(samples[-1][2]) == ROW
    times = [t for t, _, _ in samples]
    assert times == sorted(times) and len(times) >= 2
    assert abs(times[-1] - time.time()) < 5
