"""Starting a generation's servers on the shared socket, and stopping or retiring them.

The "servers" here are small Python programs that behave as the scoring server does towards the
supervisor: they find the listening socket in ``DOCKYARD_LISTEN_FD`` and write their ready file.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockyard.server import contract
from dockyard.targets.base import DeploymentSpec
from dockyard.targets.supervisor import generations
from dockyard.targets.supervisor.generations import Generation, Retiring, wait_until_not_accepting
from dockyard.targets.supervisor.log import ServiceLog
from dockyard.targets.supervisor.port import bind_port
from dockyard.targets.supervisor.spawn import Starter
from dockyard.targets.supervisor.warm import FAST_RELOAD_ENV

SERVER = """
import json, os, signal, socket, stat, sys, time
fd = int(os.environ["DOCKYARD_LISTEN_FD"])
mode = os.environ.get("FAKE_MODE", "serve")
if mode == "crash":
    sys.exit(3)
if mode == "close-on-term":
    def close(*_):
        os.close(fd)
        time.sleep(5)
        sys.exit(0)
    signal.signal(signal.SIGTERM, close)
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
info = {
    "pid": os.getpid(),
    "is_socket": stat.S_ISSOCK(os.fstat(fd).st_mode),
    "argv": sys.argv[1:],
    "workers": os.environ["WORKER_COUNT"],
    "modules": [],
}
with open(os.environ["DOCKYARD_READY_FILE"], "w") as out:
    json.dump(info, out)
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def sock() -> Iterator[socket.socket]:
    listening = bind_port("127.0.0.1", 0)
    yield listening
    listening.close()


@pytest.fixture
def start(tmp_path: Path, sock: socket.socket) -> Iterator[Callable[..., Generation]]:
    started: list[Generation] = []
    starter = Starter(sock, ServiceLog(tmp_path / "server.log"))
    number = iter(range(5, 100))

    def _start(mode: str = "serve", workers: int = 1, timeout: float | None = None) -> Generation:
        spec = DeploymentSpec(
            name="svc",
            service_dir=tmp_path,
            app_root=tmp_path,
            python=sys.executable,
            env={"FAKE_MODE": mode, FAST_RELOAD_ENV: "0"},
            port=sock.getsockname()[1],
            worker_count=workers,
            startup_timeout_seconds=timeout,
            server_argv=(sys.executable, "-c", SERVER),
        )
        gen = starter.start(next(number), spec)
        started.append(gen)
        return gen

    yield _start
    for gen in started:
        generations.stop(gen)


def _until(condition: Callable[[], bool], what: str, limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"waited {limit:g} s for {what}"
        time.sleep(0.02)


def test_each_worker_gets_the_socket_and_its_own_ready_file_then_stop_cleans_up(
    start: Callable[..., Generation], sock: socket.socket, tmp_path: Path
) -> None:
    gen = start(workers=2)
    assert [p.name for p in gen.ready_files] == ["ready.5.0", "ready.5.1"]
    _until(lambda: gen.all_said_ready(gen.exit_codes()), "both servers' ready files")
    for path in gen.ready_files:
        info = json.loads(path.read_text())
        assert info["is_socket"] and info["workers"] == "1"
        assert info["argv"][:6] == ["--host", "127.0.0.1", "--port", str(sock.getsockname()[1]),
                                    "--workers", "1"]  # fmt: skip
    assert sorted(gen.alive_pids()) == sorted(p.pid for p in gen.procs)
    assert "generation 5: started server pid(s)" in (tmp_path / "server.log").read_text()

    generations.stop(gen)
    assert all(code is not None for code in gen.exit_codes())
    assert not any(path.exists() for path in gen.ready_files)


def test_a_server_that_fails_to_start_is_seen_exiting_not_ready(
    start: Callable[..., Generation],
) -> None:
    gen = start(mode="crash")
    _until(lambda: gen.exit_codes() != [None], "the server's exit")
    assert gen.exit_codes() == [contract.EXIT_SCRIPT_FAILED]
    assert not gen.all_said_ready(gen.exit_codes())


def test_startup_timeout(start: Callable[..., Generation]) -> None:
    assert not start(timeout=None).startup_timed_out()
    gen = start(timeout=0.1)
    time.sleep(0.2)
    assert gen.startup_timed_out()


def test_a_retired_generation_that_ignores_sigterm_is_killed_after_its_grace(
    start: Callable[..., Generation], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generations, "STOP_GRACE_SECONDS", 0.5)
    gen = start(mode="ignore-term")
    _until(lambda: gen.all_said_ready(gen.exit_codes()), "the ready file")
    retiring = Retiring()
    retiring.retire(gen)
    retiring.reap()
    assert retiring.gens and gen.exit_codes() == [None]  # still finishing its requests
    time.sleep(0.6)
    retiring.reap()
    assert retiring.gens == []
    assert gen.exit_codes() == [-9]
    assert not gen.ready_files[0].exists()


def test_a_switch_waits_until_the_old_version_closed_the_socket(
    start: Callable[..., Generation], sock: socket.socket
) -> None:
    said: list[str] = []
    gen = start(mode="close-on-term")
    _until(lambda: gen.all_said_ready(gen.exit_codes()), "the ready file")
    generations.terminate(gen)
    started = time.monotonic()
    wait_until_not_accepting(gen, sock, said.append)
    assert time.monotonic() - started < 2.5
    assert said and "generation 5 stopped accepting after" in said[0]
    assert gen.exit_codes() == [None]  # its in-flight requests may still finish


def test_a_switch_goes_on_after_its_bound_when_the_old_version_keeps_the_socket(
    start: Callable[..., Generation], sock: socket.socket
) -> None:
    said: list[str] = []
    gen = start(mode="ignore-term")
    _until(lambda: gen.all_said_ready(gen.exit_codes()), "the ready file")
    generations.terminate(gen)
    started = time.monotonic()
    wait_until_not_accepting(gen, sock, said.append, limit=0.3)
    assert 0.3 <= time.monotonic() - started < 2
    assert "generation 5 still holds the port after" in said[0]
    assert "switching anyway" in said[0]
    os.kill(gen.procs[0].pid, 9)
