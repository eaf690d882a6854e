"""Debugging with debugpy, both ways, against a real debugpy adapter driven like VS Code does.

* ``AZUREML_DEBUG_PORT`` (azmlinfsrv's): the IDE listens (a ``debugpy.adapter`` told to listen by a
  DAP ``attach`` with ``listen``, as VS Code's "listen" configuration does) and the server dials
  out, then waits; a breakpoint in ``init()`` is hit before the server serves.
* ``DOCKYARD_DEBUGPY_LISTEN``: the server listens and the IDE attaches (``attach`` with
  ``connect``); without an IDE, the server starts after ``DOCKYARD_DEBUGPY_WAIT_S``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.integration.debugger.dap_client import Dap as DapClient

from .conftest import Server, free_port

pytest.importorskip("debugpy")

SCRIPT = """\
import os

def init():
    global ready
    ready = "init done"  # line 5: the breakpoint

def run(data):
    return {"ready": ready, "pid": os.getpid()}
"""
BREAKPOINT_LINE = 5


def _launch_config(log: str, key: str) -> dict[str, Any]:
    """The VS Code launch.json configuration the server logged (a JSON object after the title)."""
    start = log.index("VS Code launch.json configuration")
    text = log[log.index("{", start) :]
    config, _ = json.JSONDecoder().raw_decode(text)
    assert key in config, config
    return config  # type: ignore[no-any-return]


def _wait_ready(server: Server, timeout: float = 60.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.log()
        try:
            if server.get("/health/ready").status_code == 200:
                return time.monotonic()
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"not ready:\n{server.log()}")


@pytest.fixture
def adapter() -> Iterator[int]:
    """A debugpy adapter (what VS Code starts) accepting IDE clients on 127.0.0.1; its port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "debugpy.adapter", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield port
    finally:
        process.kill()
        process.wait(10)


def test_debug_port_dials_out_to_the_ide_and_stops_at_a_breakpoint_in_init(
    start_server, adapter: int
) -> None:  # type: ignore[no-untyped-def]
    ide = DapClient(adapter)
    try:
        ide.send("initialize", adapterID="debugpy", clientID="vscode")
        debug_port = free_port()
        ide.send("attach", listen={"host": "127.0.0.1", "port": debug_port})
        ide.event("debugpyWaitingForServer")
        server = start_server(SCRIPT, env={"AZUREML_DEBUG_PORT": str(debug_port)}, wait=False)
        script = os.path.realpath(server.root / "score.py")

        ide.event("initialized")  # the server has connected
        log = server.wait_log(f"** Connecting to debugger at port {debug_port}...")
        assert "DEBUGGING mode because AZUREML_DEBUG_PORT is set" in log
        config = _launch_config(log, "listen")
        assert config["request"] == "attach"
        assert config["listen"] == {"host": "127.0.0.1", "port": debug_port}
        assert config["pathMappings"] == [
            {"localRoot": "${workspaceFolder}", "remoteRoot": str(server.root)}
        ]
        assert server.get("/health/ready").status_code == 503  # waiting for the IDE, before init()

        seq = ide.send(
            "setBreakpoints", source={"path": script}, breakpoints=[{"line": BREAKPOINT_LINE}]
        )
        ide.response(seq)
        ide.send("configurationDone")
        stopped = ide.event("stopped")
        assert stopped["body"]["reason"] == "breakpoint"
        seq = ide.send("stackTrace", threadId=stopped["body"]["threadId"])
        frame = ide.response(seq)["body"]["stackFrames"][0]
        assert (frame["name"], frame["line"]) == ("init", BREAKPOINT_LINE)
        assert os.path.realpath(frame["source"]["path"]) == script
        # (while stopped, debugpy suspends every thread, the HTTP one too, as in any IDE session)
        ide.send("continue", threadId=stopped["body"]["threadId"])
        _wait_ready(server)
        assert server.post("/score", content="x").json()["ready"] == "init done"
    finally:
        ide.close()
    assert server.stop() == 0


def test_debug_port_without_a_listening_ide_is_a_one_line_error(start_server) -> None:  # type: ignore[no-untyped-def]
    port = free_port()  # nothing listens there
    server = start_server(SCRIPT, env={"AZUREML_DEBUG_PORT": str(port)})
    assert server.exit_code == 2
    assert f"cannot connect to a debugger on port {port}" in server.log()
    assert "start the IDE's debugpy listener first or unset AZUREML_DEBUG_PORT" in server.log()


def test_listen_mode_starts_serving_when_no_debugger_attaches(start_server) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    server = start_server(
        SCRIPT,
        env={
            "DOCKYARD_DEBUGPY_LISTEN": f"127.0.0.1:{port}",
            "DOCKYARD_DEBUGPY_WAIT_S": "4",
            "DOCKYARD_STARTUP_REQUEST_WAIT_S": "0.2",
        },
        wait=False,
    )
    log = server.wait_log("for a debugger to attach", timeout=30)
    listening_at = time.monotonic()
    assert f"debugpy is listening on 127.0.0.1:{port}; waiting up to 4 s" in log
    assert f"listens on 127.0.0.1:{port} (DOCKYARD_DEBUGPY_LISTEN), waits up to 4 s" in log
    config = _launch_config(server.wait_log('"pathMappings"'), "connect")
    assert config["request"] == "attach"
    assert config["connect"] == {"host": "127.0.0.1", "port": port}
    assert config["pathMappings"] == [
        {"localRoot": "${workspaceFolder}", "remoteRoot": str(server.root)}
    ]
    # while it waits: liveness answers, the script is not loaded yet
    assert server.get("/").status_code == 200
    assert server.post("/score", content="x").status_code == 503

    ready_at = _wait_ready(server)
    assert 2.5 < ready_at - listening_at < 40
    assert "No debugger attached within 4 s; starting without one" in server.log()
    assert server.post("/score", content="x").json()["ready"] == "init done"

    ide = DapClient(port)  # attaching later still works, and the server keeps serving
    try:
        ide.send("initialize", adapterID="debugpy", clientID="vscode")
        ide.send("attach", connect=config["connect"], pathMappings=config["pathMappings"])
        ide.event("initialized")
        ide.response(ide.send("configurationDone"))
        assert server.post("/score", content="x").json()["ready"] == "init done"
    finally:
        ide.close()
    assert server.stop() == 0


def test_listen_mode_the_ide_attaches_and_the_server_starts_at_once(start_server) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    server = start_server(
        SCRIPT,
        env={"DOCKYARD_DEBUGPY_LISTEN": str(port), "DOCKYARD_DEBUGPY_WAIT_S": "120"},
        wait=False,
    )
    server.wait_log(f"debugpy is listening on 127.0.0.1:{port}", timeout=30)
    ide = DapClient(port)
    try:
        ide.send("initialize", adapterID="debugpy", clientID="vscode")
        # what VS Code sends for the logged configuration
        config = _launch_config(server.wait_log('"pathMappings"'), "connect")
        ide.send("attach", connect=config["connect"], pathMappings=config["pathMappings"])
        ide.event("initialized")
        ide.response(ide.send("configurationDone"))
        started = time.monotonic()
        _wait_ready(server, timeout=60)
        assert time.monotonic() - started < 60  # well before the 120 s wait
        assert "Debugger attached" in server.log()
        assert server.post("/score", content="x").json()["ready"] == "init done"
    finally:
        ide.close()
    assert server.stop() == 0


def test_listen_mode_on_a_port_in_use_is_a_one_line_error(start_server) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start_server(SCRIPT, env={"DOCKYARD_DEBUGPY_LISTEN": f"127.0.0.1:{port}"})
    assert server.exit_code == 2
    assert f"debugpy cannot listen on 127.0.0.1:{port}" in server.log()
    assert "choose another DOCKYARD_DEBUGPY_LISTEN" in server.log()
