"""Request-id headers (given, generated, oversize), TraceId, unknown routes, wrong methods."""

from __future__ import annotations

import pytest

from .compare import Answer, assert_same

pytestmark = pytest.mark.oracle

LONG = "x" * 101
EXACT = "y" * 100

ID_CASES = [
    ("none", {}),
    ("request-id", {"x-request-id": "rid-1"}),
    ("request-id-100", {"x-request-id": EXACT}),
    ("request-id-101", {"x-request-id": LONG}),
    ("client-id", {"x-ms-client-request-id": "cid"}),
    ("client-id-101", {"x-ms-client-request-id": LONG}),
    ("legacy-id", {"x-ms-request-id": "legacy"}),
    ("legacy-id-101", {"x-ms-request-id": LONG}),
    ("legacy-and-client", {"x-ms-request-id": "legacy", "x-ms-client-request-id": "cid"}),
    ("all-three", {"x-request-id": "r", "x-ms-request-id": "l", "x-ms-client-request-id": "c"}),
    ("trace-id", {"TraceId": "trace-1"}),
    ("empty-request-id", {"x-request-id": ""}),
]


@pytest.mark.parametrize(("case", "headers"), ID_CASES, ids=[c[0] for c in ID_CASES])
@pytest.mark.parametrize(
    "route", ["GET /", "GET /score", "POST /score", "GET /swagger.json", "GET /nope"]
)
def test_request_id_headers(pool, case: str, headers: dict, route: str) -> None:
    method, path = route.split()
    pool.get("echo").check(
        method, path, headers=headers, content=b"x" if method == "POST" else None
    )


def test_generated_request_ids_are_uuids_and_consistent(pool) -> None:
    oracle, dockyard = pool.get("echo").exchange("GET", "/score")
    for answer in (oracle, dockyard):
        assert answer.header("x-request-id") == answer.header("x-ms-request-id")
        assert answer.header("x-ms-client-request-id") is None


@pytest.mark.parametrize(
    "route",
    ["GET /nope", "POST /nope", "GET /score/", "GET //score", "GET /SCORE", "GET /swagger.json/"],
)
def test_unknown_routes(pool, route: str) -> None:
    method, path = route.split()
    pool.get("echo").check(method, path)


def check_405(pair, method: str, path: str) -> None:
    """405 with the oracle's body and headers; dockyard also sends ``Allow`` (MISMATCHES.md D2)."""
    oracle, dockyard = pair.exchange(method, path)
    assert oracle.status == 405
    assert oracle.header("allow") is None  # azmlinfsrv's error handler drops werkzeug's Allow
    if pair.dockyard.kind == "oracle":
        return
    allow = dockyard.header("allow")
    assert allow, "dockyard must send Allow with 405 (RFC 9110)"
    allowed = {m.strip().upper() for m in allow.split(",")}
    assert "GET" in allowed and method not in allowed
    for other in allowed - {"HEAD", "OPTIONS"}:
        answer, _ = pair.exchange(other, path)
        assert answer.status != 405, f"Allow lists {other} but the oracle answers 405 to it"
    headers = tuple(h for h in dockyard.headers if h[0] != "allow")
    assert_same(
        oracle, Answer(dockyard.status, headers, dockyard.body), f"{method} {path} (no Allow)"
    )


@pytest.mark.parametrize("script", ["echo", "rawhttp_app"])
@pytest.mark.parametrize(
    "route",
    [
        "PUT /score",
        "DELETE /score",
        "PATCH /score",
        "POST /",
        "PUT /",
        "POST /swagger.json",
        "DELETE /swagger.json",
    ],
)
def test_wrong_method(pool, script: str, route: str) -> None:
    method, path = route.split()
    check_405(pool.get(script), method, path)


@pytest.mark.parametrize(
    "route", ["OPTIONS /", "OPTIONS /swagger.json", "HEAD /", "HEAD /score", "HEAD /swagger.json"]
)
def test_options_and_head_elsewhere(pool, route: str) -> None:
    method, path = route.split()
    if route == "HEAD /score":  # Flask routes HEAD to run()'s parser, which refuses it: 405
        check_405(pool.get("echo"), method, path)
    else:
        pool.get("echo").check(method, path)


CORS_ENV = {"AML_CORS_ORIGINS": "http://a.example, http://b.example"}
PREFLIGHT = {
    "Origin": "http://b.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}
CORS_CASES = [
    ("allowed-origin", "POST", "/score", {"Origin": "http://a.example"}),
    ("other-origin", "POST", "/score", {"Origin": "http://evil.example"}),
    ("no-origin", "POST", "/score", {}),
    ("preflight", "OPTIONS", "/score", PREFLIGHT),
    ("liveness", "GET", "/", {"Origin": "http://a.example"}),
    ("swagger", "GET", "/swagger.json", {"Origin": "http://b.example"}),
]


@pytest.mark.parametrize(
    ("case", "method", "path", "headers"), CORS_CASES, ids=[c[0] for c in CORS_CASES]
)
def test_cors_origins(pool, case: str, method: str, path: str, headers: dict) -> None:
    content = b"x" if method == "POST" else None
    pool.get("echo", env=CORS_ENV).check(method, path, headers=headers, content=content)
