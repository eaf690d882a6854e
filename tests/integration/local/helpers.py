"""Helpers of the local-target tests: an entry script in a folder, the CLI on a workspace, and
the processes that hold a port (read from /proc, independently of the code under test)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from dockyard import Workspace


def script_folder(folder: Path, score: str) -> Path:
    """``folder`` (created) holding ``score.py`` with the text ``score``."""
    folder.mkdir()
    (folder / "score.py").write_text(score)
    return folder


def run_cli(ws: Workspace, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``dockyard ARGS --workspace WS`` in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args, "--workspace", str(ws.path)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def holders_of_port(port: int) -> list[int]:
    """PIDs of every process with a socket listening on 127.0.0.1:``port`` open."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{entry}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{entry}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        pids.append(int(entry))
                        break
    return pids
