"""Reading a service's log: the lines of one request (``get_logs(request_id=...)``), and the
small text helpers the error messages share."""

from __future__ import annotations

import re

#: How much of the log get_logs(request_id=...) searches.
REQUEST_LOG_SEARCH_LINES = 200_000

_LOG_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def request_lines(text: str, request_id: str) -> str:
    """The lines of ``text`` (a server log) that belong to request ``request_id``.

    The server tags a request's records with ``rid=<id>`` (its print() and logging lines, the
    access line, and the ``Encountered Exception (rid=...)`` record); a record's continuation
    lines (a traceback) follow it without a timestamp and are kept with it.
    """
    tag = re.compile(rf"rid={re.escape(request_id)}(?![\w-])")
    out: list[str] = []
    keep = False
    for line in text.splitlines(keepends=True):
        if _LOG_RECORD_START.match(line):
            keep = bool(tag.search(line))
        if keep:
            out.append(line)
    return "".join(out)


def step_of(error: str) -> str | None:
    """The step a recorded error names (``[environment] ...``)."""
    match = re.match(r"\[([^\]]+)\]", error)
    return match.group(1) if match else None


def tail_lines(text: str, count: int) -> str:
    lines = text.rstrip().splitlines()
    if len(lines) <= count:
        return "\n".join(lines)
    return "...\n" + "\n".join(lines[-count:])
