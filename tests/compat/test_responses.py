"""AMLResponse returned from run(), and @rawhttp requests (GET/POST/OPTIONS, forms, files)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.oracle

CASES = [
    "plain", "headers", "content_type", "json_str", "json_text", "none",
    "error_500", "error_503", "error_500_flag", "bad_request", "empty_204", "unknown",
]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_aml_response(pool, case: str) -> None:
    answer = pool.get("aml_response").check("GET", f"/score?case={case}")
    if answer.status >= 500:
        assert answer.header("x-ms-run-function-failed") == "True"


BOUNDARY = "compat-boundary-1234"
RAW_CASES = [
    ("get-query", "GET", "/score?a=1&a=2&b=x", {}),
    ("get-no-query", "GET", "/score", {}),
    ("post-json", "POST", "/score?q=1", {"json": {"k": [1, 2]}}),
    ("post-plus-json", "POST", "/score", {"content": b'{"k": 1}', "headers": {"Content-Type": "application/merge-patch+json"}}),
    ("post-bad-json", "POST", "/score", {"content": b"{nope", "headers": {"Content-Type": "application/json"}}),
    ("post-text", "POST", "/score", {"content": b"hello", "headers": {"Content-Type": "text/plain", "X-Trace": "1"}}),
    ("post-non-utf8", "POST", "/score", {"content": b"\xff\xfe"}),
    ("post-form", "POST", "/score", {"data": {"f1": "v1", "f2": ["a", "b"]}}),
    (
        "post-files",
        "POST",
        "/score",
        {
            "data": {"f1": "v1"},
            "files": {"up": ("hello.txt", b"file content", "text/plain"), "bin": ("b.bin", b"\x00\x01", "application/octet-stream")},
            "headers": {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        },
    ),
    ("options", "OPTIONS", "/score", {}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "method", "path", "kwargs"), RAW_CASES, ids=[c[0] for c in RAW_CASES]
)
def test_rawhttp(pool, case: str, method: str, path: str, kwargs: dict) -> None:
    if case == "put":
        pytest.skip(
            "covered by test_headers.py::test_wrong_method (Allow is a deliberate difference)"
        )
    pool.get("rawhttp_app").check(method, path, **kwargs)
