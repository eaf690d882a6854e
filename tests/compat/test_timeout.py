"""SCORING_TIMEOUT_MS: run() past the timeout, with and without the seed's try/except."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.oracle, pytest.mark.slow]

ENV = {"SCORING_TIMEOUT_MS": "300"}


def test_timeout_without_try_except_is_500(pool) -> None:
    pair = pool.get("slow", env=ENV)
    answer = pair.check("POST", "/score", content=b"1.0")
    assert answer.status == 500
    assert answer.json() == {"message": "Scoring timeout after 300 ms"}
    assert answer.header("x-ms-run-function-failed") == "True"
    # The server is still serving afterwards, and a fast call is not affected.
    assert pair.check("POST", "/score", content=b"0.01").status == 200


def test_timeout_inside_try_except_is_caught_by_run(pool) -> None:
    pair = pool.get("slow_try_except", env=ENV)
    answer = pair.check("POST", "/score", content=b"1.0")
    assert answer.status == 200
    assert answer.json() == '{"error": "TimeoutError: "}'
    assert pair.check("POST", "/score", content=b"0.01").status == 200


def test_under_the_timeout(pool) -> None:
    pair = pool.get("slow", env=ENV)
    assert pair.check("POST", "/score", content=b"0.1").status == 200
