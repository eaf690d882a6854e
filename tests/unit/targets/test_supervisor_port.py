"""The supervisor's port: binding it, and answering 503 on a real socket while nothing serves."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from dockyard.server import contract
from dockyard.server.settings import DEFAULT_STARTUP_REQUEST_WAIT_S
from dockyard.targets.base import CRASH_LOOP, FAILED, TRANSITIONING
from dockyard.targets.supervisor import port
from dockyard.targets.supervisor.port import PortUnavailable, Unserved, bind_port, startup_wait


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    sock = bind_port("127.0.0.1", 0)
    yield sock
    sock.close()


def _request(sock: socket.socket) -> socket.socket:
    client = socket.create_connection(sock.getsockname()[:2], timeout=5)
    client.sendall(b"POST /score HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
    return client


def _read_answer(client: socket.socket) -> tuple[str, dict[str, str], dict[str, str]]:
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return status, headers, json.loads(body)


def test_a_free_port_is_bound_listening_inheritable_and_non_blocking(
    listening: socket.socket,
) -> None:
    host, number = listening.getsockname()[:2]
    assert host == "127.0.0.1" and number > 0
    assert listening.get_inheritable() and not listening.getblocking()
    socket.create_connection((host, number), timeout=2).close()


def test_a_taken_port_is_refused_naming_it_and_what_to_do(
    listening: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(port, "PORT_RELEASE_SECONDS", 0.3)
    number = listening.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(PortUnavailable) as caught:
        bind_port("127.0.0.1", number)
    assert time.monotonic() - started < 2  # retried for the release bound, not for ever
    message = str(caught.value)
    assert f"Port {number} on 127.0.0.1 is taken" in message
    assert "`dockyard service list`" in message


def test_crash_loop_answers_at_once_with_503_retry_after_and_the_logs_command(
    listening: socket.socket,
) -> None:
    client = _request(listening)
    time.sleep(0.05)
    Unserved().answer(listening, CRASH_LOOP, "svc", {}, restart_at=time.monotonic() + 4.2)
    status, headers, body = _read_answer(client)
    assert status == "HTTP/1.1 503 Service Unavailable"
    assert headers["retry-after"] == "4"
    assert body["state"] == CRASH_LOOP
    assert "being retried" in body["message"]
    assert "`dockyard service logs svc`" in body["message"]


def test_failed_answers_at_once_and_says_it_is_not_retried(listening: socket.socket) -> None:
    client = _request(listening)
    time.sleep(0.05)
    Unserved().answer(listening, FAILED, "svc", {}, restart_at=None)
    status, headers, body = _read_answer(client)
    assert status.startswith("HTTP/1.1 503")
    assert headers["retry-after"] == str(port.RETRY_AFTER_WHEN_FAILED)
    assert body["state"] == FAILED and "not retried" in body["message"]


def test_a_starting_service_lets_connections_wait_then_answers_past_the_bound(
    listening: socket.socket,
) -> None:
    env = {contract.STARTUP_REQUEST_WAIT_ENV: "0.3"}
    unserved = Unserved()
    client = _request(listening)
    time.sleep(0.05)
    unserved.answer(listening, TRANSITIONING, "svc", env, restart_at=None)
    client.settimeout(0.1)
    with pytest.raises(TimeoutError):  # still waiting, as for azmlinfsrv during init()
        client.recv(1)
    time.sleep(0.3)
    unserved.answer(listening, TRANSITIONING, "svc", env, restart_at=None)
    client.settimeout(5)
    status, _, body = _read_answer(client)
    assert status.startswith("HTTP/1.1 503")
    assert body["state"] == TRANSITIONING
    assert "within 0.3 s (DOCKYARD_STARTUP_REQUEST_WAIT_S)" in body["message"]


def test_the_wait_counts_from_when_no_version_serves_again(listening: socket.socket) -> None:
    unserved = Unserved()
    unserved.since = time.monotonic() - 60  # long unserved ...
    unserved.served()  # ... then a version served: the next start waits afresh
    client = _request(listening)
    time.sleep(0.05)
    unserved.answer(listening, TRANSITIONING, "svc", {}, restart_at=None)
    client.settimeout(0.1)
    with pytest.raises(TimeoutError):
        client.recv(1)
    client.close()


def test_startup_wait_reads_the_servers_setting() -> None:
    assert startup_wait({contract.STARTUP_REQUEST_WAIT_ENV: "2.5"}) == 2.5
    assert (
        startup_wait({contract.STARTUP_REQUEST_WAIT_ENV: "soon"}) == DEFAULT_STARTUP_REQUEST_WAIT_S
    )
    assert startup_wait({}) == DEFAULT_STARTUP_REQUEST_WAIT_S
