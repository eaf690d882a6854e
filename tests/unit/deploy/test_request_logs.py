"""get_logs(request_id=...): the lines of one request, its traceback included, out of a server log."""

from __future__ import annotations

from dockyard.webservice.scoring_client import server_message as _server_message
from dockyard.webservice.service_logs import request_lines

LOG = """\
2026-01-01 12:00:00 [dockyard] Healthy: ready in 0.21s (generation 1)
2026-01-01 12:00:01,100 I [7] dockyard.print rid=abc - scoring hello
2026-01-01 12:00:01,101 I [7] dockyard.access - POST /score 200 0.4ms 15 rid=abc
2026-01-01 12:00:02,200 I [7] dockyard.print rid=abcd - scoring boom
2026-01-01 12:00:02,201 E [7] dockyard.server - Encountered Exception (rid=abcd): Traceback (most recent call last):
  File "/app/score.py", line 7, in run
    raise ValueError('boom')
ValueError: boom

2026-01-01 12:00:02,202 I [7] dockyard.access - POST /score 500 1.2ms 92 rid=abcd
2026-01-01 12:00:03 [dockyard] warm parent pid 9 preloading 4 package(s)
"""


def test_only_the_requests_lines_with_its_traceback() -> None:
    lines = request_lines(LOG, "abcd").splitlines()
    assert lines[0].endswith("rid=abcd - scoring boom")
    assert "Encountered Exception (rid=abcd)" in lines[1]
    assert "    raise ValueError('boom')" in lines and "ValueError: boom" in lines
    assert lines[-1].endswith("POST /score 500 1.2ms 92 rid=abcd")
    assert not any("hello" in line or "warm parent" in line for line in lines)


def test_an_id_that_is_a_prefix_of_another_does_not_match_it() -> None:
    text = request_lines(LOG, "abc")
    assert "scoring hello" in text and "rid=abc\n" in text
    assert "boom" not in text
    assert request_lines(LOG, "ab") == ""


def test_the_servers_message_and_debug_details() -> None:
    assert _server_message(b'{"message": "An unexpected error occurred"}') == (
        "An unexpected error occurred",
        "",
    )
    message, extra = _server_message(
        b'{"message": "m", "error": "ValueError: x", "traceback": "Traceback ...\\n"}'
    )
    assert message == "m" and extra == "ValueError: x\nTraceback ..."
    assert _server_message(b"plain text answer") == ("plain text answer", "")
    assert _server_message(b"") == ("(empty body)", "")
