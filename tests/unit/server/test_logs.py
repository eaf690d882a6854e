"""The access line's exact text (its format is what log readers parse) and its batching."""

from __future__ import annotations

import calendar
import os

import pytest

from dockyard.server import logs

NOON = calendar.timegm((2026, 1, 1, 12, 0, 0))


@pytest.mark.parametrize(
    ("fraction", "stamp"),
    [(0.0, "12:00:00,000"), (0.0072, "12:00:00,007"), (0.9999, "12:00:00,999")],
)
def test_access_line_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fraction: float, stamp: str
) -> None:
    monkeypatch.setattr(logs, "_time", lambda: NOON + fraction)
    sink = logs.LogSink()  # no event loop attached: written at once
    sink.access("POST", "/score?a=1", 200, 0.41249, 37, "abc")
    assert capsys.readouterr().out == (
        f"2026-01-01 {stamp} I [{os.getpid()}] dockyard.access - "
        "POST /score?a=1 200 0.412ms 37 rid=abc\n"
    )


def test_access_lines_are_batched_until_the_loop_flushes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scheduled = []

    class Loop:
        def call_later(self, delay: float, callback: object) -> None:
            scheduled.append((delay, callback))

    clock = iter([NOON + 0.5, NOON + 1.25])
    monkeypatch.setattr(logs, "_time", lambda: next(clock))
    sink = logs.LogSink()
    sink.attach_loop(Loop())
    sink.access("GET", "/", 200, 1.0, 7, "r1")
    sink.access("GET", "/score", 503, 2.5, 90, "-")
    assert capsys.readouterr().out == ""
    assert len(scheduled) == 1 and scheduled[0][0] == 0.05
    sink.write_now("a record\n")  # other records flush the queued lines first, keeping the order
    assert capsys.readouterr().out.splitlines() == [
        f"2026-01-01 12:00:00,500 I [{os.getpid()}] dockyard.access - GET / 200 1.000ms 7 rid=r1",
        f"2026-01-01 12:00:01,250 I [{os.getpid()}] dockyard.access - GET /score 503 2.500ms 90 rid=-",
        "a record",
    ]
