"""The failed-start report: the traceback once, no banner, no server frames, the model listing."""

from __future__ import annotations

from dockyard.server.failure_report import start_failure_report

BANNER = """\
2026-11-30 06:01:46,563 I [{pid}] dockyard.server - dockyard scoring server 0.1.0 (Python 3.11.7)
2026-11-30 06:01:46,567 I [{pid}] dockyard.server - Entry script:        /app/score.py
2026-11-30 06:01:46,567 I [{pid}] dockyard.server - Workers:             2
2026-11-30 06:01:46,586 I [{pid}] dockyard.server.user_script - Invoking user's init function
"""
FAILURE = """\
2026-11-30 06:01:46,586 E [{pid}] dockyard.server - User's init function failed
2026-11-30 06:01:46,586 E [{pid}] dockyard.server - Encountered Exception Traceback (most recent call last):
  File "/usr/lib/python3/site-packages/dockyard/server/user_script.py", line 204, in call_init
    script.init()
  File "/app/score.py", line 3, in init
    raise RuntimeError("the model file is corrupt")
RuntimeError: the model file is corrupt

2026-11-30 06:01:46,586 E [{pid}] dockyard.server - init() in /app/score.py raised RuntimeError: the model file is corrupt
2026-11-30 06:01:46,586 I [{pid}] dockyard.server - Model Directory Contents:
2026-11-30 06:01:46,587 I [{pid}] dockyard.server - 1/
2026-11-30 06:01:46,587 I [{pid}] dockyard.server -     model.pkl
"""


def test_two_workers_failing_give_one_traceback_without_banner_or_server_frames() -> None:
    log = (
        BANNER.format(pid=10)
        + FAILURE.format(pid=11)
        + FAILURE.format(pid=12)
        + "2026-11-30 06:01:47 [dockyard] CrashLoopBackOff: restart in 1s\n"
    )
    report = start_failure_report(log)
    assert report is not None
    assert report.count("Traceback (most recent call last):") == 1
    assert report.count("RuntimeError: the model file is corrupt") == 2  # traceback + summary
    assert "Entry script:" not in report and "[dockyard]" not in report
    assert "user_script.py" not in report and "script.init()" not in report
    assert report.splitlines()[-3:] == ["Model Directory Contents:", "1/", "    model.pkl"]
    assert '  File "/app/score.py", line 3, in init' in report


def test_no_error_in_the_log_gives_none() -> None:
    assert start_failure_report(BANNER.format(pid=1)) is None


def test_the_markers_under_a_dropped_server_frame_go_with_it() -> None:
    log = "\n".join(
        [
            "2026-11-30 10:00:00,000 E [7] dockyard.server - Encountered Exception Traceback (most recent call last):",
            '  File "/x/dockyard/server/user_script.py", line 204, in call_init',
            "    script.init()",
            "    ^^^^^^^^^^^^^",
            '  File "/app/score.py", line 3, in init',
            "    raise ValueError('no model')",
            "ValueError: no model",
        ]
    )
    report = start_failure_report(log)
    assert report is not None
    assert "^^^" not in report
    assert "script.init()" not in report
    assert 'File "/app/score.py", line 3, in init' in report
