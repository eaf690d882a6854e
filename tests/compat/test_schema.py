"""@input_schema / @output_schema (standard, numpy, pandas types) and request_headers."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.oracle

JSON = {"Content-Type": "application/json"}

STANDARD_CASES = [
    ("ok", "POST", {"json": {"a": 1, "b": "x", "c": [1.5]}}),
    ("default-param", "POST", {"json": {"a": 1, "b": "x"}}),
    ("extra-key", "POST", {"json": {"a": 1, "b": "x", "extra": 5}}),
    ("missing-param", "POST", {"json": {"b": "x"}}),
    ("type-mismatch", "POST", {"json": {"a": "notint", "b": "x"}}),
    ("float-for-int", "POST", {"json": {"a": 1.5, "b": "x"}}),
    ("body-is-list", "POST", {"json": [1, 2]}),
    ("body-is-string", "POST", {"json": "str"}),
    ("body-is-null", "POST", {"content": b"null", "headers": JSON}),
    ("empty-body", "POST", {"content": b"", "headers": JSON}),
    ("bad-json", "POST", {"content": b"{bad", "headers": JSON}),
    ("non-utf8-json", "POST", {"content": b"\xff", "headers": JSON}),
    ("no-content-type", "POST", {"content": b'{"a": 1, "b": "x"}'}),
    ("text-plain", "POST", {"content": b'{"a": 1, "b": "x"}', "headers": {"Content-Type": "text/plain"}}),
    ("plus-json", "POST", {"content": b'{"a": 1, "b": "x"}', "headers": {"Content-Type": "application/vnd.api+json"}}),
    ("json-charset", "POST", {"content": b'{"a": 1, "b": "x"}', "headers": {"Content-Type": "application/json; charset=utf-8"}}),
    ("json-upper", "POST", {"content": b'{"a": 1, "b": "x"}', "headers": {"Content-Type": "Application/JSON"}}),
    ("get-query", "GET", {"params": {"a": "2", "b": "y", "c": "[1,2]"}}),
    ("get-repeated", "GET", {"params": [("a", "2"), ("a", "3"), ("b", "y")]}),
    ("get-missing", "GET", {"params": {"b": "y"}}),
    ("get-string-for-int", "GET", {"params": {"a": "two", "b": "y"}}),
    ("options", "OPTIONS", {}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "method", "kwargs"), STANDARD_CASES, ids=[c[0] for c in STANDARD_CASES]
)
def test_standard_types(pool, case: str, method: str, kwargs: dict) -> None:
    pool.get("schema_standard").check(method, "/score", **kwargs)


IRIS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
NUMPY_CASES = [
    ("ok", {"json": {"data": IRIS}}),
    ("wrong-shape", {"json": {"data": [1, 2, 3]}}),
    ("strings", {"json": {"data": [["a", "b", "c", "d"]]}}),
    ("missing", {"json": {"other": IRIS}}),
    ("not-object", {"json": IRIS}),
]


@pytest.mark.parametrize(("case", "kwargs"), NUMPY_CASES, ids=[c[0] for c in NUMPY_CASES])
def test_numpy_types(pool, case: str, kwargs: dict) -> None:
    pool.get("schema_numpy").check("POST", "/score", **kwargs)


def test_deliberate_numpy_array_from_schema_run(pool) -> None:
    """MISMATCHES.md D1: run() returns a numpy array; azmlinfsrv 500, dockyard the list."""
    pair = pool.get("schema_numpy")
    oracle, dockyard = pair.exchange("POST", "/score", json={"data": [[0, 0, 0, 0]]})
    assert oracle.status == 500
    assert oracle.json() == {
        "message": "An unexpected internal error occurred. Check the logs for more info."
    }
    if pair.dockyard.kind != "oracle":
        assert (dockyard.status, dockyard.body) == (200, b"[7]")


PANDAS_CASES = [
    ("ok", {"json": {"frame": [{"sepal_length": 5.0, "species": "x", "count": 1}], "scale": 3.0}}),
    ("columns-split", {"json": {"frame": {"sepal_length": [1.0, 2.0], "species": ["a", "b"], "count": [1, 2]}, "scale": 1.0}}),
    ("missing-scale", {"json": {"frame": [{"sepal_length": 5.0, "species": "x", "count": 1}]}}),
    ("bad-frame", {"json": {"frame": "nope", "scale": 1.0}}),
    ("int-scale", {"json": {"frame": [{"sepal_length": 5.0, "species": "x", "count": 1}], "scale": 2}}),
    ("extra-column", {"json": {"frame": [{"sepal_length": 5.0, "species": "x", "count": 1, "z": 0}], "scale": 1.0}}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "kwargs"), PANDAS_CASES, ids=[c[0] for c in PANDAS_CASES])
def test_pandas_types_and_request_headers(pool, case: str, kwargs: dict) -> None:
    pool.get("schema_pandas").check("POST", "/score", **kwargs)


REQUEST_HEADER_CASES = [
    ("plain", {"content": b'{"k": 1}'}),
    (
        "custom",
        {"content": b"[1]", "headers": {"X-Custom": "v", "x-lower": "w", "X-UPPER-Case": "u"}},
    ),
    ("json", {"json": {"k": 2}, "headers": {"Authorization": "Bearer t", "TraceId": "t-1"}}),
    ("repeated", {"content": b"1", "headers": [("X-Rep", "a"), ("X-Rep", "b")]}),
    ("get", {"params": {"q": "1"}}),
]


@pytest.mark.parametrize(
    ("case", "kwargs"), REQUEST_HEADER_CASES, ids=[c[0] for c in REQUEST_HEADER_CASES]
)
def test_request_headers_parameter(pool, case: str, kwargs: dict) -> None:
    method = "GET" if "params" in kwargs else "POST"
    answer = pool.get("request_headers").check(method, "/score", **kwargs)
    assert answer.status == 200, answer.body
    assert "names" in json.loads(answer.body)
