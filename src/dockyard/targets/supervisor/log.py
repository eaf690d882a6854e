"""``server.log``: the servers' stdout and stderr, and the supervisor's own lines.

The supervisor's lines are stamped and tagged ``[dockyard]`` so that a crash report can leave
them out. The file is rotated (to ``server.log.1``) when a generation starts and it has grown past
``LOG_ROTATE_BYTES``.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import IO

LOG_ROTATE_BYTES = 64 * 1024 * 1024
#: How much of a generation's output a crash report reads at most.
READ_LIMIT_BYTES = 4 * 1024 * 1024
#: Marks the supervisor's own lines.
OWN_TAG = " [dockyard] "


class ServiceLog:
    """The open log file, appended to by the supervisor and by every server it starts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[bytes] = open(path, "ab", buffering=0)  # noqa: SIM115

    def say(self, message: str) -> None:
        """Append one of the supervisor's own lines."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self.handle.write(f"{stamp}{OWN_TAG}{message}\n".encode())

    def size(self) -> int:
        """The file's size now (0 if it cannot be read): where a new generation's output starts."""
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def rotate_if_big(self) -> None:
        """Move a big log to ``server.log.1`` and go on in a fresh file. Servers already running
        keep writing to the old one."""
        with contextlib.suppress(OSError):
            if self.path.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(self.path, self.path.with_suffix(".log.1"))
                self.handle.close()
                self.handle = open(self.path, "ab", buffering=0)  # noqa: SIM115

    def servers_lines_since(self, offset: int) -> list[str]:
        """The servers' lines written after ``offset`` (the supervisor's own lines left out)."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                text = handle.read(READ_LIMIT_BYTES).decode("utf-8", "replace")
        except OSError:
            text = ""
        return [line for line in text.splitlines() if OWN_TAG not in line]
