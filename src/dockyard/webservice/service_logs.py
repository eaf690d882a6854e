"""Reading a service's log: the lines of one request (``get_logs(request_id=...)``), following
it as it grows (``follow_logs()``), and the small text helpers the error messages share."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

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


def follow(service: Any, seen: str) -> Iterator[str]:
    """New log text of ``service`` after ``seen`` (what ``get_logs()`` returned), as it is
    written, until the caller stops iterating: a local process service's log file is read as it
    grows (every 0.2 s); other targets' logs are asked for again every second."""
    path = service._service_dir() / "server.log"
    if not path.exists():
        yield from _poll(service, seen)
        return
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        while True:
            line = handle.readline()
            if line:
                yield line.decode("utf-8", "replace")
            else:
                time.sleep(0.2)


def _poll(service: Any, seen: str) -> Iterator[str]:
    last = seen.splitlines()[-1] if seen.strip() else None
    while True:
        time.sleep(1.0)
        lines = service.get_logs(num_lines=1000).splitlines()
        start = 0
        if last is not None and last in lines:
            start = len(lines) - lines[::-1].index(last)
        for line in lines[start:]:
            yield line + "\n"
        if lines:
            last = lines[-1]
