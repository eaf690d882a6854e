"""Key auth (with rotation), the request body limit (chunked too), CORS and --debug."""

from __future__ import annotations

import concurrent.futures
import json
import os
import socket
import time
from pathlib import Path

import httpx

ECHO = """
def init(): pass
def run(data):
    if data == "boom":
        raise ValueError("secret detail")
    return {"len": len(data)}
"""


def _write_keys(path: Path, primary: str, secondary: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"primaryKey": primary, "secondaryKey": secondary}))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def test_key_auth_and_rotation_without_restart(start_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys.json"
    _write_keys(keys, "primary-1", "secondary-1")
    server = start_server(ECHO, env={"DOCKYARD_KEYS_FILE": str(keys)})

    r = server.post("/score", content="x")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in r.json()["message"]
    assert r.headers["x-request-id"]
    assert (
        server.post("/score", content="x", headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    assert (
        server.post("/score", content="x", headers={"Authorization": "primary-1"}).status_code
        == 401
    )
    for key in ("primary-1", "secondary-1"):
        assert (
            server.post(
                "/score", content="x", headers={"Authorization": f"Bearer {key}"}
            ).status_code
            == 200
        )
    # liveness, readiness and the swagger document stay open
    assert server.get("/").status_code == 200
    assert server.get("/health/ready").status_code == 200
    assert server.get("/swagger.json").status_code == 200

    _write_keys(keys, "primary-2", "secondary-1")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if (
            server.post(
                "/score", content="x", headers={"Authorization": "Bearer primary-2"}
            ).status_code
            == 200
        ):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the rotated key was not accepted")
    assert (
        server.post(
            "/score", content="x", headers={"Authorization": "Bearer primary-1"}
        ).status_code
        == 401
    )
    assert (
        server.post(
            "/score", content="x", headers={"Authorization": "Bearer secondary-1"}
        ).status_code
        == 200
    )


def test_missing_keys_file_is_a_bad_setting(start_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = start_server(ECHO, env={"DOCKYARD_KEYS_FILE": str(tmp_path / "nope.json")})
    assert server.exit_code == 2
    assert "DOCKYARD_KEYS_FILE" in server.log()


def test_body_limit_413(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(ECHO, env={"DOCKYARD_MAX_REQUEST_BODY_BYTES": "1000"})
    assert server.post("/score", content="a" * 1000).json() == {"len": 1000}
    r = server.post("/score", content="a" * 1001)
    assert r.status_code == 413
    assert "1000 bytes" in r.json()["message"]

    def chunks():  # no Content-Length: Transfer-Encoding: chunked
        for _ in range(50):
            yield b"a" * 100

    r = server.post("/score", content=chunks())
    assert r.status_code == 413
    r = server.post("/score", content=iter([b"a" * 400, b"b" * 400]))
    assert r.json() == {"len": 800}


def test_huge_declared_length_is_refused_before_reading(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(ECHO, env={"DOCKYARD_MAX_REQUEST_BODY_BYTES": "1000"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n")
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413")
    assert "connection: close" in answer.lower()


def test_cors(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(ECHO, env={"AML_CORS_ORIGINS": "http://a.example, http://b.example"})
    r = server.post("/score", content="x", headers={"Origin": "http://a.example"})
    assert r.headers["access-control-allow-origin"] == "http://a.example"
    assert r.headers["vary"] == "Origin"
    r = server.post("/score", content="x", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    r = server.request(
        "OPTIONS",
        "/score",
        headers={
            "Origin": "http://b.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, Authorization",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "http://b.example"
    assert r.headers["access-control-allow-methods"] == "GET, POST"
    assert r.headers["access-control-allow-headers"] == "Authorization, Content-Type"


def test_debug_puts_error_details_in_the_response(start_server) -> None:  # type: ignore[no-untyped-def]
    quiet = start_server(ECHO)
    r = quiet.post("/score", content="boom")
    assert r.status_code == 500 and "secret detail" not in r.text
    loud = start_server(ECHO, args=["--debug"])
    r = loud.post("/score", content="boom")
    body = r.json()
    assert r.status_code == 500
    assert (
        body["message"]
        == "An unexpected error occurred in scoring script. Check the logs for more info."
    )
    assert body["error"] == "ValueError: secret detail"
    assert "Traceback" in body["traceback"]
    assert "secret detail" in quiet.wait_log("ValueError: secret detail")


SLOW_INIT = """
    import time
    def init():
        time.sleep({seconds})
    def run(data):
        return "ok"
    """


def _wait_live(server) -> float:  # type: ignore[no-untyped-def]
    """Wait until liveness answers (the port is open); returns when it did."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(server.url + "/", timeout=2).status_code == 200:
                return time.monotonic()
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"liveness never answered:\n{server.log()}")


def test_requests_sent_during_init_wait_for_it_and_get_their_answer(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(SLOW_INIT.format(seconds=2), wait=False)
    _wait_live(server)  # liveness answers while init() runs
    assert server.get("/health/ready").status_code == 503
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        score = pool.submit(server.post, "/score", content="x")
        options = pool.submit(server.request, "OPTIONS", "/score")
        swagger = pool.submit(server.get, "/swagger.json")
        assert score.result().status_code == 200 and score.result().json() == "ok"
        assert options.result().status_code == 200
        assert swagger.result().status_code == 200 and swagger.result().json()["swagger"] == "2.0"
    assert server.get("/health/ready").status_code == 200


def test_the_wait_during_init_is_bounded_then_503_with_retry_after(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        SLOW_INIT.format(seconds=4),
        env={"DOCKYARD_STARTUP_REQUEST_WAIT_S": "0.5"},
        wait=False,
    )
    _wait_live(server)
    sent = time.monotonic()
    r = server.post("/score", content="x")
    waited = time.monotonic() - sent
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert "init() has not finished yet" in r.json()["message"]
    assert 0.4 < waited < 3.5
    swagger = server.get("/swagger.json")
    assert swagger.status_code == 503 and swagger.headers["retry-after"] == "1"


def test_early_503_is_an_opt_in(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        SLOW_INIT.format(seconds=2), env={"DOCKYARD_STARTUP_REQUEST_WAIT_S": "0"}, wait=False
    )
    _wait_live(server)
    sent = time.monotonic()
    r = server.post("/score", content="x")
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert time.monotonic() - sent < 1.0
    deadline = time.monotonic() + 20
    while server.get("/health/ready").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert server.post("/score", content="x").json() == "ok"


def test_requests_waiting_for_a_failing_init_get_503_naming_the_failure(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        """
        import time
        def init():
            time.sleep(1.5)
            raise RuntimeError("model file is corrupt")
        def run(data):
            return "ok"
        """,
        wait=False,
    )
    _wait_live(server)
    r = server.post("/score", content="x")
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert "failed to start" in r.json()["message"]
    assert server.process.wait(20) == 3
