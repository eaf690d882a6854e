"""The short story of a failed start, cut from what the scoring server printed.

When import or ``init()`` fails, the server logs (as azmlinfsrv does) the traceback, a one-line
summary and a listing of the model folder, after a start-up banner of some twenty lines. A target
that reports the failure (the local supervisor, the container target) wants only the part that
explains it: :func:`start_failure_report` returns the last failure's traceback once, without
log prefixes and without the server's own frames, then the summary and the model-folder listing.

Standard library only: the targets call it on log text they read from a file or a container.
"""

from __future__ import annotations

import re

_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]) \[(?P<pid>\d+)\] (?P<logger>\S+) - "
    r"(?P<message>.*)$"
)
_STAMPED = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d")  # a line of some other program
_NOISE = ("User's init function failed",)
_EXCEPTION_PREFIX = "Encountered Exception "
_OWN_FRAME = re.compile(r'^\s*File ".*[/\\]dockyard[/\\]server[/\\][^"]*", line \d+, in ')
_CARETS = re.compile(r"^\s*[\^~]+\s*$")  # Python 3.11's markers under a frame's code line


def start_failure_report(log_text: str) -> str | None:
    """The last start failure in ``log_text`` (see the module docstring); ``None`` if there is none."""
    lines = log_text.splitlines()
    parsed = [_LINE.match(line) for line in lines]
    last_error = next(
        (i for i in range(len(lines) - 1, -1, -1) if parsed[i] and parsed[i]["level"] == "E"),  # type: ignore[index]
        None,
    )
    if last_error is None:
        return None
    pid = parsed[last_error]["pid"]  # type: ignore[index]
    start = last_error
    while start > 0:
        before = parsed[start - 1]
        if before is None or (before["level"] == "E" and before["pid"] == pid):
            start -= 1
            continue
        break
    end = last_error + 1
    while end < len(lines):
        match = parsed[end]
        if match is None and _STAMPED.match(lines[end]):
            break
        if match is not None and (match["pid"] != pid or match["logger"] != "dockyard.server"):
            break
        end += 1
    out: list[str] = []
    skip_code_line = skip_carets = False
    for line, match in zip(lines[start:end], parsed[start:end], strict=True):
        text = match["message"] if match else line
        if text in _NOISE:
            continue
        if text.startswith(_EXCEPTION_PREFIX):
            text = text[len(_EXCEPTION_PREFIX) :]
        if _OWN_FRAME.match(text):
            skip_code_line = True
            continue
        if skip_carets:
            skip_carets = False
            if _CARETS.match(text):
                continue
        if skip_code_line:
            skip_code_line = False
            if text.startswith("    ") and not text.lstrip().startswith("File "):
                skip_carets = True
                continue
        out.append(text.rstrip())
    while out and not out[-1]:
        out.pop()
    return "\n".join(line for i, line in enumerate(out) if line or (i and out[i - 1])) or None
