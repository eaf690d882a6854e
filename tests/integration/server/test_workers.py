"""Several workers (``WORKER_COUNT``) sharing one port: all serve, a dead one is replaced, and a
worker that is still in ``init()`` takes no request (so no client sees a 503 from it)."""

from __future__ import annotations

import os
import signal
import time

import httpx

# init() is quick for the first two workers and slow (2 s) for every later one: a replacement.
STAGGERED = """
import os, time

def init():
    os.makedirs("inits", exist_ok=True)
    open(os.path.join("inits", str(os.getpid())), "w").close()
    for slot in range({quick}):  # claimed atomically: workers start at the same moment
        try:
            os.close(os.open(os.path.join("inits", "quick-%d" % slot), os.O_CREAT | os.O_EXCL))
            return
        except FileExistsError:
            continue
    time.sleep(2)

def run(data):
    return os.getpid()
"""


def _score_pid(server) -> tuple[int, int | None]:  # type: ignore[no-untyped-def]
    """One request on a new connection (so the kernel may hand it to any worker)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post("/score", content="x")
    return response.status_code, response.json() if response.status_code == 200 else None


def _pids_seen(server, wanted: int, timeout: float = 30.0) -> set[int]:  # type: ignore[no-untyped-def]
    pids: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(pids) < wanted and time.monotonic() < deadline:
        status, pid = _score_pid(server)
        assert status == 200
        pids.add(pid)  # type: ignore[arg-type]
    return pids


def test_two_workers_serve_and_a_killed_worker_is_replaced(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(STAGGERED.format(quick=2), env={"WORKER_COUNT": "2"})
    workers = _pids_seen(server, 2)
    assert len(workers) == 2, workers
    assert server.process.pid not in workers  # the parent supervises, the children serve
    assert server.log().count("ready for serving traffic") == 2

    victim, survivor = sorted(workers)
    os.kill(victim, signal.SIGKILL)
    # the service keeps answering (every request succeeds) while the replacement runs init()
    statuses, seen = [], set()
    deadline = time.monotonic() + 60
    replacement = None
    while replacement is None and time.monotonic() < deadline:
        status, pid = _score_pid(server)
        statuses.append(status)
        seen.add(pid)
        replacement = next((p for p in seen if p not in workers), None)
    assert set(statuses) == {200}, statuses
    assert victim not in seen
    assert replacement is not None, f"no replacement worker answered:\n{server.log()}"
    log = server.log()
    assert f"(pid {victim}) died with code -9; starting a new one" in log
    assert log.count("ready for serving traffic") == 3
    assert _pids_seen(server, 2) == {survivor, replacement}
    assert server.stop() == 0


def test_a_worker_still_in_init_takes_no_requests(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(STAGGERED.format(quick=1), env={"WORKER_COUNT": "2"})
    # ready (one worker has finished init()); the other one needs about 2 s more
    started = time.monotonic()
    statuses, pids = [], []
    while len(set(pids)) < 2 and time.monotonic() - started < 30:
        status, pid = _score_pid(server)
        statuses.append(status)
        pids.append(pid)
    assert set(statuses) == {200}, statuses
    assert len(set(pids)) == 2  # the slow worker joins once its init() is done
    assert len(pids) >= 5  # and many requests came while it was still in init()
    assert server.stop() == 0


SLOW_INIT = """
import time

def init():
    time.sleep(4)

def run(data):
    return "ok"
"""


def _port_open(server) -> None:  # type: ignore[no-untyped-def]
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.01)
    raise AssertionError("the port never opened")


def test_two_workers_early_request_waits_for_init_then_is_answered(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(SLOW_INIT, env={"WORKER_COUNT": "2"}, wait=False)
    _port_open(server)
    sent = time.monotonic()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post("/score", content="x")
    assert (response.status_code, response.json()) == (200, "ok")
    assert time.monotonic() - sent > 1.0  # it waited for init()


def test_two_workers_wait_is_bounded_then_the_parent_answers_503(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        SLOW_INIT,
        env={"WORKER_COUNT": "2", "DOCKYARD_STARTUP_REQUEST_WAIT_S": "1"},
        wait=False,
    )
    _port_open(server)
    sent = time.monotonic()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post("/score", content="x")
    waited = time.monotonic() - sent
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert "init() has not finished yet" in response.json()["message"]
    assert waited < 3.5
    deadline = time.monotonic() + 30
    while True:  # and once a worker is ready, requests are served again
        with httpx.Client(base_url=server.url, timeout=30) as client:
            response = client.post("/score", content="x")
        if response.status_code == 200:
            break
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
    assert response.json() == "ok"
