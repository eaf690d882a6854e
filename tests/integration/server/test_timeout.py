"""The scoring timeout, both ways (as azmlinfsrv): TimeoutError is raised inside run()."""

from __future__ import annotations

import time

import pytest

SLEEPY = """
import time
def init(): pass
def run(data):
    if data.startswith("catch"):
        try:
            time.sleep(float(data.split()[1]))
        except TimeoutError as exc:
            return {"error": "caught " + type(exc).__name__}
        return {"slept": True}
    if data.startswith("spin"):
        end = time.monotonic() + float(data.split()[1])
        while time.monotonic() < end:
            pass
        return "spun"
    time.sleep(float(data))
    return "slept"
"""


@pytest.mark.parametrize("mode", ["auto", "never"])
def test_timeout_without_try_except_is_500(start_server, mode: str) -> None:  # type: ignore[no-untyped-def]
    server = start_server(SLEEPY, env={"SCORING_TIMEOUT_MS": "500", "DOCKYARD_RUN_INLINE": mode})
    started = time.monotonic()
    r = server.post("/score", content="3")
    elapsed = time.monotonic() - started
    assert r.status_code == 500
    assert r.json() == {"message": "Scoring timeout after 500 ms"}
    assert r.headers["x-ms-run-function-failed"] == "True"
    assert elapsed < 2.0
    server.wait_log("Scoring timeout after 500 ms")
    assert server.post("/score", content="0").json() == "slept"  # the worker is still usable


def test_timeout_with_try_except_answers_what_run_returns(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(SLEEPY, env={"SCORING_TIMEOUT_MS": "500"})
    started = time.monotonic()
    r = server.post("/score", content="catch 3")
    assert (r.status_code, r.json()) == (200, {"error": "caught TimeoutError"})
    assert time.monotonic() - started < 2.0


def test_timeout_interrupts_python_code_after_inline_promotion(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(SLEEPY, env={"SCORING_TIMEOUT_MS": "600"})
    with server.client() as client:
        for _ in range(50):  # fast calls: the executor starts running them inline
            assert client.post("/score", content="0").status_code == 200
        started = time.monotonic()
        r = client.post("/score", content="spin 5")
    assert r.status_code == 500 and r.json() == {"message": "Scoring timeout after 600 ms"}
    assert time.monotonic() - started < 2.5


def test_liveness_answers_while_run_is_slow(start_server) -> None:  # type: ignore[no-untyped-def]
    import threading

    server = start_server(SLEEPY)
    worker = threading.Thread(target=server.post, args=("/score",), kwargs={"content": "1.5"})
    worker.start()
    time.sleep(0.3)
    with server.client() as client:
        for _ in range(5):
            started = time.monotonic()
            assert client.get("/").status_code == 200
            assert time.monotonic() - started < 0.1
    worker.join()
