"""WORKER_COUNT > 1: a worker still in init() must not answer /score on the shared port.

azmlinfsrv's gunicorn workers start accepting only after init(), so once the first 200 arrives
every later request is served (by the ready worker) until the slow one joins.
"""

from __future__ import annotations

import time

import httpx
import pytest

from .test_startup import compare_early_answers

pytestmark = [pytest.mark.oracle, pytest.mark.slow]


def statuses_right_after_first_200(server, window: float = 2.0) -> list[int]:
    """Statuses of /score for ``window`` seconds after the first 200 (the slow init() takes 3 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.post(server.base_url + "/score", content=b"x", timeout=10).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    # a new connection per request, so that the kernel spreads them over the workers
    statuses: list[int] = []
    end = time.monotonic() + window
    while time.monotonic() < end and len(statuses) < 400:
        statuses.append(
            httpx.post(server.base_url + "/score", content=b"x", timeout=10).status_code
        )
    return statuses


def test_no_503_from_a_worker_still_in_init(pool) -> None:
    servers = [
        pool.start_one(kind, "staggered_init", env={"WORKER_COUNT": "2"}, model=False)
        for kind in ("oracle", pool.second_kind)
    ]
    try:
        results = [statuses_right_after_first_200(server) for server in servers]
    finally:
        for server in servers:
            server.stop()
    assert set(results[0]) == {200}, f"oracle: {sorted(set(results[0]))}"
    codes = {code: results[1].count(code) for code in set(results[1])}
    assert set(results[1]) == {200}, f"{pool.second_kind}: {codes} in {len(results[1])} requests"


def test_requests_sent_during_init_get_the_oracle_answers_with_two_workers(pool) -> None:
    """WORKER_COUNT=2: requests sent the moment the port opens wait for init() as azmlinfsrv's."""
    compare_early_answers(pool, workers=2)
