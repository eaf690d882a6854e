"""Request -> run() arguments, and the small HTTP pieces (request ids, CORS, AMLResponse)."""

from __future__ import annotations

import inspect
import json

import pytest

from dockyard.server import wire
from dockyard.server.cors import Cors
from dockyard.server.request import AMLRequest
from dockyard.server.run_input import (
    BadInput,
    SchemaParameters,
    UnsupportedInput,
    plain_get_input,
    plain_post_input,
)
from dockyard.server.run_output import AMLResponse, dump_output, response_parts


def test_plain_inputs() -> None:
    assert plain_post_input(b"hi", b"text/plain") == "hi"
    assert plain_post_input(b"a=1", b"application/x-www-form-urlencoded; charset=utf-8") == ""
    with pytest.raises(BadInput, match="Input cannot be decoded as UTF-8"):
        plain_post_input(b"\xff", None)
    assert json.loads(plain_get_input(b"a=1&a=x&b=null&c=%7B%7D")) == {
        "a": [1, "x"],
        "b": None,
        "c": {},
    }


def _params(fn):  # type: ignore[no-untyped-def]
    return SchemaParameters(list(inspect.signature(fn).parameters.values()))


def test_schema_parameters() -> None:
    params = _params(lambda a, b=2: None)
    assert params.from_post(b'{"a": 1}', b"application/json") == {"a": 1, "b": 2}
    assert params.from_post(b'{"a": 1}', b"application/problem+json") == {"a": 1, "b": 2}
    with pytest.raises(UnsupportedInput):
        params.from_post(b"{}", b"text/plain")
    with pytest.raises(BadInput, match="'a' parameter"):
        params.from_post(b"{}", b"application/json")
    with pytest.raises(BadInput, match="JSON dictionary"):
        params.from_post(b"[]", b"application/json")
    assert params.from_get(b"a=[1,2]") == {"a": [1, 2], "b": 2}


def test_request_ids() -> None:
    ids = wire.RequestIds()
    found = wire.scan_headers([(b"x-request-id", b"r1"), (b"x-ms-request-id", b"old")])
    assert wire.resolve_ids(found, ids) == (b"r1", b"old", b"old", None)
    rid, legacy, client, error = wire.resolve_ids(wire.scan_headers([]), ids)
    assert len(rid) == 36 and legacy == rid and client == b"" and error is None
    assert (
        wire.resolve_ids(wire.scan_headers([(b"x-request-id", b"a" * 101)]), ids)[3]
        == wire.RID_TOO_LONG_BODY
    )


def test_cors_rules() -> None:
    two = Cors("http://a.com, http://b.com")
    assert two.headers("GET", "http://A.com", None, None, None) == [
        (b"access-control-allow-origin", b"http://A.com"),
        (b"vary", b"Origin"),
    ]
    assert two.headers("GET", "http://c.com", None, None, None) == []
    assert two.headers("GET", None, None, None, None)[0] == (
        b"access-control-allow-origin",
        b"http://a.com",
    )
    assert Cors("*").headers("GET", None, None, None, None) == [
        (b"access-control-allow-origin", b"*")
    ]
    one = Cors("http://a.com")
    assert one.headers("OPTIONS", "http://a.com", "put", None, None) == [
        (b"access-control-allow-origin", b"http://a.com")
    ]


def test_amlresponse_headers_in_werkzeug_order() -> None:
    r = AMLResponse("opts", 203, {"X-A": "1, 2", "Content-Type": "text/plain"})
    assert response_parts(r) == (
        203,
        [
            ("Content-Length", "4"),
            ("x-ms-run-function-failed", "False"),
            ("X-A", "1"),
            ("X-A", "2"),
            ("Content-Type", "text/plain"),
        ],
        b"opts",
    )
    r = AMLResponse({"a": 1}, 200, json_str=True, run_function_failed=True)
    assert response_parts(r)[1] == [
        ("Content-Type", "application/json"),
        ("Content-Length", "8"),
        ("x-ms-run-function-failed", "True"),
    ]
    assert AMLResponse(None, 201).get_data() == b"{}"


def test_dump_output() -> None:
    assert dump_output({"a": "é"}) == b'{"a": "\\u00e9"}'
    assert dump_output(None) == b"{}"
    np = pytest.importorskip("numpy")
    assert dump_output(np.array([1, 2])) == b"[1, 2]"
    assert dump_output({"x": np.int64(3)}) == b'{"x": 3}'
    with pytest.raises(TypeError):
        dump_output(b"bytes")


def test_rawhttp_request_object() -> None:
    scope = {
        "method": "POST",
        "path": "/score",
        "query_string": b"a=1&a=2",
        "headers": [
            (b"host", b"h:1"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"x-a", b"1"),
            (b"x-a", b"2"),
        ],
        "client": ("1.2.3.4", 5),
    }
    request = AMLRequest(scope, b"f=1&f=2")
    assert request.args.getlist("a") == ["1", "2"] and request.full_path == "/score?a=1&a=2"
    assert (
        request.headers.get("X-A") == "1,2"
        and request.host == "h:1"
        and request.remote_addr == "1.2.3.4"
    )
    assert request.form.getlist("f") == ["1", "2"]
    assert request.get_data() == b""  # the form parser consumed the body first, as in werkzeug
    assert request.get_json(silent=True) is None
