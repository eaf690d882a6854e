"""Overload: N slots, run() of duration D, wait W -> bounded concurrency, timely 503s, live liveness."""

from __future__ import annotations

import threading
import time

import httpx

COUNTING = """
import json, threading, time
lock = threading.Lock()
active = 0
peak = 0
def init(): pass
def run(data):
    global active, peak
    if data == "stats":
        return {"peak": peak}
    with lock:
        active += 1
        peak = max(peak, active)
    try:
        time.sleep(float(data))
    finally:
        with lock:
            active -= 1
    return "done"
"""


def _burst(url: str, count: int, body: str) -> list[tuple[int, float, dict[str, str]]]:
    results: list[tuple[int, float, dict[str, str]]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def one() -> None:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            started = time.monotonic()
            r = client.post(url + "/score", content=body)
            with lock:
                results.append((r.status_code, time.monotonic() - started, dict(r.headers)))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_overload_is_bounded_and_sheds_with_503(start_server) -> None:  # type: ignore[no-untyped-def]
    slots, duration, wait, burst = 2, 0.4, 0.5, 12
    server = start_server(
        COUNTING,
        env={
            "DOCKYARD_MAX_CONCURRENT_REQUESTS": str(slots),
            "DOCKYARD_MAX_REQUEST_WAIT_TIME_MS": str(int(wait * 1000)),
        },
    )
    live_times: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            while not stop.is_set():
                started = time.monotonic()
                assert client.get("/").status_code == 200
                live_times.append(time.monotonic() - started)
                time.sleep(0.02)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        results = _burst(server.url, burst, str(duration))
    finally:
        stop.set()
        prober.join()

    statuses = [status for status, _, _ in results]
    ok, busy = statuses.count(200), statuses.count(503)
    assert ok + busy == burst, statuses
    # slots * (1 + floor(wait / duration)) can start within the wait; allow one round of slack
    assert slots <= ok <= slots * (2 + int(wait / duration)), statuses
    assert busy >= burst - slots * (2 + int(wait / duration))
    assert max(elapsed for _, elapsed, _ in results) < wait + duration * 2 + 1.0
    for status, elapsed, headers in results:
        if status == 503:
            assert int(headers["retry-after"]) >= 1
            assert elapsed < wait + 0.5
    assert server.post("/score", content="stats").json()["peak"] <= slots
    assert live_times and max(live_times) < 0.1, max(live_times)


def test_default_wait_queues_instead_of_shedding(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(COUNTING)
    results = _burst(server.url, 6, "0.1")
    assert [status for status, _, _ in results] == [200] * 6
    assert server.post("/score", content="stats").json()["peak"] == 1


def test_zero_wait_rejects_at_once(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(COUNTING, env={"DOCKYARD_MAX_REQUEST_WAIT_TIME_MS": "0"})
    results = _burst(server.url, 4, "0.3")
    statuses = sorted(status for status, _, _ in results)
    assert statuses.count(200) >= 1 and statuses.count(503) >= 1
    assert all(elapsed < 0.25 for status, elapsed, _ in results if status == 503)
