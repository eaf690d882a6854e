"""The /proc readings a local cluster is stopped and checked with: listeners, sessions, start
times, and terminate() that stops exactly the given processes (SIGKILL after the grace)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from dockyard.targets.ray_processes import (
    ProcessId,
    descendants,
    identify,
    is_running,
    listeners,
    session_members,
    terminate,
)

IGNORES_TERM = (
    "import signal, subprocess, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def stubborn() -> Iterator[subprocess.Popen[str]]:
    """A process in a session of its own that ignores SIGTERM, with one child."""
    proc = subprocess.Popen(
        [sys.executable, "-c", IGNORES_TERM],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    proc.child = int(proc.stdout.readline())  # type: ignore[attr-defined,union-attr]
    yield proc
    for pid in (proc.child, proc.pid):  # type: ignore[attr-defined]
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    proc.wait(5)


def test_listeners_name_the_address_each_socket_of_a_process_listens_on() -> None:
    v4 = socket.socket()
    v4.bind(("127.0.0.1", 0))
    v4.listen()
    v6 = socket.socket(socket.AF_INET6)
    v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    v6.bind(("::ffff:127.0.0.1", 0))  # an IPv4 address on an IPv6 socket, as gRPC binds
    v6.listen()
    unbound = socket.socket()  # not listening: not reported
    try:
        found = {(entry.address, entry.port) for entry in listeners([os.getpid()])}
        assert ("127.0.0.1", v4.getsockname()[1]) in found
        assert ("127.0.0.1", v6.getsockname()[1]) in found
        assert all(entry.pid == os.getpid() for entry in listeners([os.getpid()]))
    finally:
        for sock in (v4, v6, unbound):
            sock.close()
    assert listeners([]) == []


def test_a_process_is_named_by_its_pid_and_start_time(stubborn: subprocess.Popen[str]) -> None:
    me = identify(stubborn.pid)
    assert me is not None and is_running(me)
    assert not is_running(ProcessId(stubborn.pid, me.started + 1))  # same pid, another process
    assert identify(2**22 + 1) is None


def test_session_members_and_descendants_find_the_child_too(
    stubborn: subprocess.Popen[str],
) -> None:
    child = stubborn.child  # type: ignore[attr-defined]
    assert {p.pid for p in session_members(stubborn.pid)} == {stubborn.pid, child}
    assert descendants([stubborn.pid]) == sorted([stubborn.pid, child])


def test_terminate_kills_what_ignores_sigterm_after_the_grace(
    stubborn: subprocess.Popen[str],
) -> None:
    members = session_members(stubborn.pid)
    began = time.monotonic()
    left = terminate(members, grace_s=0.5, timeout_s=10)
    took = time.monotonic() - began
    assert left == []
    assert 0.5 <= took < 5
    assert not any(is_running(p) for p in members)
    assert terminate(members, grace_s=0.5, timeout_s=1) == []  # again: nothing to do
