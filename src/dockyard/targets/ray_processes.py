"""The processes of a Ray cluster that dockyard started, as Linux shows them in ``/proc``.

A local cluster is started in a session of its own (``setsid``): the head's processes (GCS,
raylet, dashboard, agents) and every worker the raylet starts later (Serve's controller, proxy and
replicas) share that session id. These functions find them, say on which addresses they listen and
stop them, by process id only: never by name (``ray stop`` kills every Ray process of the machine,
other people's included).

A process is named by its pid *and* its start time (:class:`ProcessId`), so that a pid the kernel
gave to another process after a reboot or a long time is never taken for ours.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

_PROC = Path("/proc")
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp*


class ProcessId(NamedTuple):
    """A process: its pid and its start time (clock ticks after boot, from /proc/PID/stat)."""

    pid: int
    started: int


class Listener(NamedTuple):
    """A listening TCP socket held by a process."""

    pid: int
    address: str
    port: int


def boot_id() -> str:
    """This boot's id: pids recorded under another boot id name nothing any more."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _stat(pid: int) -> list[str] | None:
    """Fields 3 and on of /proc/PID/stat (state, ppid, pgrp, session, ...); None when gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def identify(pid: int) -> ProcessId | None:
    """``pid`` with its start time, or None when no such process runs (a zombie is gone)."""
    fields = _stat(pid)
    if fields is None or fields[0] in {"Z", "X"}:
        return None
    return ProcessId(pid, int(fields[19]))


def is_running(process: ProcessId) -> bool:
    """Is this very process (same pid, same start time) still running?"""
    return identify(process.pid) == process


def session_members(session: int) -> list[ProcessId]:
    """Every running process of session ``session``, by pid."""
    found = []
    for entry in os.listdir(_PROC):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields and fields[0] not in {"Z", "X"} and int(fields[3]) == session:
                found.append(ProcessId(int(entry), int(fields[19])))
    return sorted(found)


def descendants(pids: Iterable[int]) -> list[int]:
    """``pids`` and every running process below them (children, grandchildren ...)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir(_PROC):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields and fields[0] not in {"Z", "X"}:
                parents.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [p for p in pids if identify(p) is not None]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(parents.get(pid, ()))
    return sorted(found)


def _address(hex_address: str) -> tuple[str, int]:
    raw, port = hex_address.rsplit(":", 1)
    data = bytes.fromhex(raw)
    if len(data) == 4:
        return socket.inet_ntop(socket.AF_INET, data[::-1]), int(port, 16)
    words = b"".join(data[i : i + 4][::-1] for i in range(0, 16, 4))
    text = socket.inet_ntop(socket.AF_INET6, words)
    if text.startswith("::ffff:") and "." in text:  # an IPv4 address on an IPv6 socket
        text = text.removeprefix("::ffff:")
    return text, int(port, 16)


def listeners(pids: Iterable[int]) -> list[Listener]:
    """Every TCP socket in the LISTEN state that the processes ``pids`` hold (IPv4 and IPv6;
    an IPv4-mapped IPv6 address is given as the IPv4 address)."""
    listening: dict[str, tuple[str, int]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[3] == _LISTEN:
                    listening[f"socket:[{fields[9]}]"] = _address(fields[1])
    found = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(_PROC / str(pid) / "fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(_PROC / str(pid) / "fd" / fd)
                    if target in listening:
                        found.add(Listener(pid, *listening[target]))
    return sorted(found)


def command_line(pid: int) -> str:
    """The process's command line, for messages ('' when it is gone)."""
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def terminate(processes: Iterable[ProcessId], grace_s: float, timeout_s: float) -> list[int]:
    """SIGTERM each process still running, SIGKILL those left after ``grace_s``, and wait up to
    ``timeout_s`` in all for them to be gone. Returns the pids that are still there (none,
    unless the kernel holds a process in uninterruptible sleep)."""
    ours = [p for p in processes if is_running(p)]
    deadline = time.monotonic() + timeout_s
    for sig, until in ((signal.SIGTERM, time.monotonic() + grace_s), (signal.SIGKILL, deadline)):
        for process in ours:
            if is_running(process):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(process.pid, sig)
        while time.monotonic() < min(until, deadline):
            ours = [p for p in ours if is_running(p)]
            if not ours:
                return []
            time.sleep(0.1)
    return [p.pid for p in ours if is_running(p)]


__all__ = [
    "Listener",
    "ProcessId",
    "boot_id",
    "command_line",
    "descendants",
    "identify",
    "is_running",
    "listeners",
    "session_members",
    "terminate",
]
