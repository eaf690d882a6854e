"""A service's log, followed: server-sent events, one per batch of new lines.

The first event holds the last ``tail`` lines (``service.get_logs()``); after it the log is read
again every half second and only the lines after the last ones sent go out (found by the last
few lines, so a line repeated elsewhere does not confuse it). Each read runs in a worker thread;
the stream ends when the browser goes away.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence

from starlette.concurrency import run_in_threadpool

#: How many lines are read again on each poll (more new lines than this between two polls are
#: shown after a gap marker).
POLL_LINES = 2000
POLL_SECONDS = 0.5
#: A keep-alive comment after this many polls without a new line (15 s).
KEEP_ALIVE_POLLS = 30
_ANCHOR = 3


def new_lines(lines: Sequence[str], anchor: Sequence[str]) -> tuple[list[str], bool]:
    """The lines after the last occurrence of ``anchor`` (the last lines already sent), and
    whether the anchor was found (not found: the log was cut or rotated; all lines are new)."""
    if not anchor:
        return list(lines), True
    size = len(anchor)
    for end in range(len(lines), size - 1, -1):
        if list(lines[end - size : end]) == list(anchor):
            return list(lines[end:]), True
    return list(lines), False


def _event(kind: str, lines: Sequence[str]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'lines': list(lines)})}\n\n"


async def follow(read: Callable[[int], str], tail: int) -> AsyncIterator[str]:
    """Server-sent events of the log that ``read(num_lines)`` returns (a blocking SDK call)."""
    try:
        text = await run_in_threadpool(read, tail)
    except Exception as exc:  # the page shows why the log cannot be read, and stops following
        yield f"event: failure\ndata: {json.dumps({'error': str(exc)})}\n\n"
        return
    lines = text.splitlines()
    yield _event("lines", lines)
    anchor = lines[-_ANCHOR:]
    quiet = 0
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            text = await run_in_threadpool(read, POLL_LINES)
        except Exception as exc:  # e.g. the service was deleted meanwhile
            yield f"event: failure\ndata: {json.dumps({'error': str(exc)})}\n\n"
            return
        lines = text.splitlines()
        fresh, found = new_lines(lines, anchor)
        if not found:
            yield _event("gap", [])
        if fresh:
            yield _event("lines", fresh)
            anchor = lines[-_ANCHOR:]
            quiet = 0
        else:
            quiet += 1
            if quiet % KEEP_ALIVE_POLLS == 0:  # a comment line keeps proxies from closing it
                yield ": keep-alive\n\n"
