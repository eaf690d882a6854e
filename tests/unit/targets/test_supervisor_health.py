"""The readiness probe: Unhealthy after two unanswered probes in a row, Healthy on the next answer."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from dockyard.targets.base import HEALTHY, UNHEALTHY
from dockyard.targets.supervisor.health import Prober, answers_ready


class _Ready(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(self.status if self.path == "/health/ready" else 404)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.HTTPServer]:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_answers_ready_only_for_a_200_on_the_readiness_route(
    server: http.server.HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = server.server_address[:2]
    assert answers_ready(str(host), port)
    monkeypatch.setattr(_Ready, "status", 503)
    assert not answers_ready(str(host), port)
    assert not answers_ready("127.0.0.1", _free_port(), timeout=1)


def test_two_failures_in_a_row_make_a_healthy_service_unhealthy_and_an_answer_heals_it(
    server: http.server.HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = str(server.server_address[0]), server.server_address[1]
    prober = Prober()
    assert prober.check(host, port, HEALTHY) is None  # answers: nothing changes

    monkeypatch.setattr(_Ready, "status", 503)
    prober.next_at = 0.0
    assert prober.check(host, port, HEALTHY) is None  # one failure is not enough
    prober.next_at = 0.0
    change = prober.check(host, port, HEALTHY)
    assert change is not None
    state, message, error = change
    assert (state, message) == (UNHEALTHY, "not answering")
    assert error is not None and "/health/ready did not answer 2 times in a row" in error
    assert "get_logs()" in error

    monkeypatch.setattr(_Ready, "status", 200)
    prober.next_at = 0.0
    assert prober.check(host, port, UNHEALTHY) == (HEALTHY, "answering again", None)
    assert prober.failures == 0


def test_no_probe_before_it_is_due() -> None:
    prober = Prober()
    prober.restart()  # a version just became ready: the first probe waits one interval
    assert prober.check("127.0.0.1", _free_port(), HEALTHY) is None
    assert prober.failures == 0
