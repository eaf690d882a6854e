"""Undecorated run(): the body as a string, GET query parameters, return-value serialisation."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.oracle


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/score", {"json": {"data": [1, 2, 3]}}),
        (
            "POST",
            "/score",
            {"content": b'{"data": [1.5]}', "headers": {"Content-Type": "text/plain"}},
        ),
        ("POST", "/score", {"content": b"not json"}),  # run() raises: 500, run-function-failed
        ("POST", "/score", {"json": {"nodata": 1}}),
        ("POST", "/score", {"content": b""}),
        ("GET", "/score", {}),
        ("GET", "/score?data=[1,2]", {}),
        ("OPTIONS", "/score", {}),
        ("GET", "/", {}),
        ("HEAD", "/", {}),
    ],
    ids=lambda v: json.dumps(v, default=str)[:40],
)
def test_plain_run(pool, method, path, kwargs) -> None:
    pool.get("plain").check(method, path, **kwargs)


@pytest.mark.parametrize(
    "query",
    [
        "a=1&a=2",
        "a=1&b=x&c=[1,2]&d=null&e=true",
        "a=1&a=x&a={}",
        "k=%7B%22x%22%3A1%7D",
        "empty=&flag",
        "u=%C3%A9&u=%E2%98%83",
        "A=1&a=2",
    ],
)
def test_repeated_and_typed_query_keys(pool, query: str) -> None:
    pool.get("echo").check("GET", f"/score?{query}")


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe\x00", b"caf\xe9", b"ok \xc3\xa9", b"\xed\xa0\x80"],
    ids=["utf16-bom", "latin1", "utf8", "surrogate"],
)
def test_non_utf8_body(pool, body: bytes) -> None:
    pool.get("echo").check("POST", "/score", content=body)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "text/plain",
        "application/octet-stream",
        "application/vnd.api+json",
        None,
    ],
)
def test_echo_content_types(pool, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    pool.get("echo").check("POST", "/score", content=b'{"x": 1}', headers=headers)


SAME = [
    "none", "int", "float", "bool", "str", "unicode", "list", "tuple", "nested", "nan",
    "empty_dict", "empty_str", "big_int", "numpy_float", "bytes", "set", "decimal",
]  # fmt: skip


@pytest.mark.parametrize("value", SAME)
def test_return_values_serialise_like_json_dumps(pool, value: str) -> None:
    pool.get("returns").check("POST", "/score", content=value.encode())


@pytest.mark.parametrize(
    ("value", "expected"),
    [("numpy_array", np.array([1, 2, 3])), ("numpy_int", np.int64(3))],
)
def test_deliberate_numpy_return_values(pool, value: str, expected: object) -> None:
    """MISMATCHES.md D1: azmlinfsrv answers 500 here; dockyard serialises like ``.tolist()``."""
    pair = pool.get("returns")
    oracle, dockyard = pair.exchange("POST", "/score", content=value.encode())
    assert oracle.status == 500
    if pair.dockyard.kind == "oracle":
        return
    reference, _ = pair.exchange("POST", "/score", content=b"list")
    assert dockyard.status == 200
    assert dockyard.body == json.dumps(expected.tolist()).encode()  # type: ignore[attr-defined]
    assert dockyard.header("content-type") == reference.header("content-type")
    assert dockyard.header("x-ms-run-function-failed") == "False"
    assert dockyard.header("x-ms-run-fn-exec-ms") is not None


def test_seed_try_except_run(pool) -> None:
    pair = pool.get("seed_try_except")
    ok = pair.check("POST", "/score", json={"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]})
    assert json.loads(ok.json()) == {"result": [0, 2]}  # type: ignore[arg-type]
    for body in (b"not json", b'{"data": [[1, 2]]}', b'{"nodata": 1}', b""):
        answer = pair.check("POST", "/score", content=body)
        assert answer.status == 200 and "error" in json.loads(answer.json())  # type: ignore[arg-type]
