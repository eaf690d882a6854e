"""Routes, input modes, errors and headers of a real server, as a client sees them.

The expected bytes are azmlinfsrv's (checked against it by hand and by tests/compat).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import Server, launch

PLAIN = """
import logging, time
def init():
    print("init called")
def run(data):
    print("run got", data)
    logging.getLogger("user").warning("user warning")
    if data == "boom":
        raise ValueError("bad thing")
    return {"echo": data, "n": 1.5, "u": "é"}
"""

SCHEMA = """
import numpy as np, pandas as pd
from inference_schema.schema_decorators import input_schema, output_schema
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
def init(): pass
@input_schema("data", NumpyParameterType(np.array([[1.0, 2.0]])))
@input_schema("frame", PandasParameterType(pd.DataFrame({"a": [1], "b": ["x"]})))
@input_schema("k", StandardPythonParameterType(3))
@output_schema(StandardPythonParameterType({"s": 1.0}))
def run(data, frame, k=5, request_headers=None):
    if k == 99:
        return np.array([1, 2])
    return {"s": float(data.sum()), "rows": len(frame), "k": k, "agent": request_headers.get("X-Agent")}
"""

RAW = """
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse
def init(): pass
@rawhttp
def run(request):
    if request.method == "OPTIONS":
        return AMLResponse("opts", 203, {"X-A": "1, 2", "Content-Type": "text/plain"})
    if request.method == "GET":
        mode = request.args.get("mode")
        if mode == "err":
            return AMLResponse({"bad": True}, 503, {"X-B": "q"}, json_str=True)
        if mode == "none":
            return AMLResponse(None, 201)
        return {"args": request.args.to_dict(flat=False), "full_path": request.full_path, "path": request.path,
                "foo": request.headers.get("x-foo")}
    return {"data": request.get_data(as_text=True)[:60], "json": request.get_json(silent=True),
            "form": request.form.to_dict(flat=False),
            "files": {k: [f.filename, f.content_type, f.read().decode()] for k, f in request.files.items()},
            "mimetype": request.mimetype, "is_json": request.is_json}
"""


def _server(
    tmp_path_factory: pytest.TempPathFactory, name: str, script: str, **kwargs: object
) -> Iterator[Server]:
    server = launch(tmp_path_factory.mktemp(name), script, **kwargs)  # type: ignore[arg-type]
    assert server.exit_code is None, server.log()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(tmp_path_factory, "plain", PLAIN)


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(tmp_path_factory, "schema", SCHEMA)


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(tmp_path_factory, "raw", RAW)


TEXT = {"Content-Type": "text/plain"}
JSON = {"Content-Type": "application/json"}


def test_liveness_and_readiness(plain: Server) -> None:
    r = plain.get("/")
    assert (r.status_code, r.text, r.headers["content-type"]) == (
        200,
        "Healthy",
        "text/html; charset=utf-8",
    )
    assert r.headers["x-request-id"] == r.headers["x-ms-request-id"]
    assert plain.get("/health/ready").status_code == 200
    assert plain.get("/health/live").status_code == 200


def test_plain_post_gets_the_body_as_text(plain: Server) -> None:
    r = plain.post("/score", content="hello", headers=TEXT)
    assert r.status_code == 200
    assert (
        r.content == b'{"echo": "hello", "n": 1.5, "u": "\\u00e9"}'
    )  # json.dumps bytes, ensure_ascii
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-ms-run-function-failed"] == "False"
    assert float(r.headers["x-ms-run-fn-exec-ms"]) >= 0
    assert (
        "." in r.headers["x-ms-run-fn-exec-ms"]
        and len(r.headers["x-ms-run-fn-exec-ms"].split(".")[1]) == 3
    )


def test_plain_form_body_is_empty_as_in_flask(plain: Server) -> None:
    r = plain.post(
        "/score", content="a=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.json()["echo"] == ""


def test_plain_non_utf8_body_is_400(plain: Server) -> None:
    r = plain.post("/score", content=b"\xff\xfe", headers=TEXT)
    assert r.status_code == 400
    assert r.json() == {
        "message": "Input cannot be decoded as UTF-8: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
    }
    assert r.headers["x-ms-run-function-failed"] == "False"


def test_plain_get_passes_query_parameters_as_json(plain: Server) -> None:
    r = plain.get("/score?a=1&b=[1,2]&c=x&a=3&d=&g=a+b%20c")
    assert r.status_code == 200
    assert json.loads(r.json()["echo"]) == {
        "a": [1, 3],
        "b": [1, 2],
        "c": "x",
        "d": "",
        "g": "a b c",
    }


def test_run_exception_is_500_with_details_only_in_the_log(plain: Server) -> None:
    r = plain.post("/score", content="boom", headers={**TEXT, "x-request-id": "boom-1"})
    assert r.status_code == 500
    assert r.json() == {
        "message": "An unexpected error occurred in scoring script. Check the logs for more info."
    }
    assert r.headers["x-ms-run-function-failed"] == "True"
    assert "x-ms-run-fn-exec-ms" not in r.headers
    log = plain.wait_log("ValueError: bad thing")
    assert "rid=boom-1" in log


def test_methods(plain: Server) -> None:
    r = plain.request("OPTIONS", "/score")
    assert (r.status_code, r.content, r.headers["content-type"]) == (
        200,
        b"",
        "text/html; charset=utf-8",
    )
    for method in ("PUT", "DELETE", "PATCH"):
        r = plain.request(method, "/score")
        assert r.status_code == 405
        assert r.json() == {"message": "The method is not allowed for the requested URL."}
        assert "x-request-id" not in r.headers
    r = plain.request("HEAD", "/score")
    assert r.status_code == 405 and r.headers["content-length"] == "33"
    r = plain.request("OPTIONS", "/")
    assert r.status_code == 200 and set(r.headers["allow"].split(", ")) == {
        "GET",
        "HEAD",
        "OPTIONS",
    }


def test_unknown_path_is_404_without_request_ids(plain: Server) -> None:
    r = plain.get("/nope")
    assert r.status_code == 404
    assert r.json()["message"].startswith("The requested URL was not found on the server.")
    assert "x-request-id" not in r.headers


def test_request_id_headers(plain: Server) -> None:
    r = plain.post("/score", content="x", headers={"x-request-id": "abc", "TraceId": "t1"})
    assert (r.headers["x-request-id"], r.headers["x-ms-request-id"], r.headers["traceid"]) == (
        "abc",
        "abc",
        "t1",
    )
    assert "x-ms-client-request-id" not in r.headers
    r = plain.post("/score", content="x", headers={"x-ms-request-id": "legacy"})
    assert (r.headers["x-ms-request-id"], r.headers["x-ms-client-request-id"]) == (
        "legacy",
        "legacy",
    )
    r = plain.post("/score", content="x", headers={"x-ms-client-request-id": "cli"})
    assert (r.headers["x-ms-request-id"], r.headers["x-ms-client-request-id"]) == ("cli", "cli")
    assert r.headers["x-request-id"] not in ("cli", "")


def test_long_request_ids_are_431(plain: Server) -> None:
    r = plain.post("/score", content="x", headers={"x-request-id": "a" * 101})
    assert r.status_code == 431
    assert r.json() == {"message": "x-request-id must not exceed 100 characters"}
    assert "x-request-id" not in r.headers
    r = plain.get("/", headers={"x-ms-client-request-id": "a" * 101})
    assert r.status_code == 431
    assert r.json() == {
        "message": "x-ms-request-id and x-ms-client-request-id must not exceed 100 characters"
    }
    assert "x-request-id" in r.headers
    assert plain.post("/score", content="x", headers={"x-request-id": "a" * 100}).status_code == 200


def test_swagger_versions(plain: Server) -> None:
    v2 = plain.get("/swagger.json")
    assert v2.status_code == 200 and v2.json()["swagger"] == "2.0"
    assert v2.json()["definitions"]["ServiceInput"] == {"type": "object", "example": {}}
    assert plain.get("/swagger.json?version=3").json()["openapi"] == "3.0.3"
    assert plain.get("/swagger.json?version=3.1").json()["openapi"] == "3.1.0"
    r = plain.get("/swagger.json?version=4")
    assert r.status_code == 404
    assert r.json() == {
        "message": "Swagger version [4] is not valid. Supported versions: [2, 3, 3.1]."
    }


def test_print_and_logging_carry_the_request_id(plain: Server) -> None:
    r = plain.post("/score", content="logged", headers={"x-request-id": "log-42"})
    log = plain.wait_log("dockyard.access - POST /score 200 ")
    log = plain.wait_log(f" {len(r.content)} rid=log-42")
    assert "dockyard.print rid=log-42 - run got logged" in log
    assert "user rid=log-42 - user warning" in log
    assert "init called" in log


def test_schema_mode(schema: Server) -> None:
    body = {"data": [[1, 2], [3, 4]], "frame": [{"a": 1, "b": "y"}, {"a": 2, "b": "z"}], "k": 2}
    r = schema.post("/score", json=body, headers={"X-Agent": "probe"})
    assert r.status_code == 200
    assert r.json() == {"s": 10.0, "rows": 2, "k": 2, "agent": "probe"}
    r = schema.post(
        "/score", content=json.dumps(body), headers={"Content-Type": "application/vnd.x+json"}
    )
    assert r.status_code == 200
    r = schema.get('/score?data=[[1,2]]&frame=[{"a":1,"b":"y"}]')
    assert r.json()["k"] == 5


@pytest.mark.parametrize(
    ("content", "headers", "status", "message"),
    [
        ('{"data": [[1,2]]}', JSON, 400, "A value is not provided for the 'frame' parameter."),
        ("[1,2]", JSON, 400, "POST body should be a JSON dictionary."),
        ("", JSON, 400, "POST body is empty. Expecting a JSON dictionary."),
        (
            "{bad",
            JSON,
            400,
            "POST body could not be decoded as JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        ("{}", TEXT, 415, "Expects Content-Type to be application/json"),
    ],
)
def test_schema_mode_errors(
    schema: Server, content: str, headers: dict[str, str], status: int, message: str
) -> None:
    r = schema.post("/score", content=content, headers=headers)
    assert (r.status_code, r.json()) == (status, {"message": message})


def test_schema_type_mismatch_is_a_run_failure(schema: Server) -> None:
    r = schema.post("/score", json={"data": "notarray", "frame": [{"a": 1, "b": "y"}]})
    assert r.status_code == 500 and r.headers["x-ms-run-function-failed"] == "True"


def test_numpy_output_is_serialised(schema: Server) -> None:
    # deliberate difference: azmlinfsrv answers 500 here
    r = schema.post("/score", json={"data": [[1, 2]], "frame": [{"a": 1, "b": "y"}], "k": 99})
    assert (r.status_code, r.json()) == (200, [1, 2])


def test_schema_swagger_comes_from_the_decorators(schema: Server) -> None:
    doc = schema.get("/swagger.json?version=3").json()
    props = doc["components"]["schemas"]["ServiceInput"]["properties"]
    assert props["data"]["format"] == "numpy.ndarray"
    assert props["frame"]["format"] == "pandas.DataFrame:records"
    assert doc["components"]["schemas"]["ServiceOutput"]["example"] == {"s": 1.0}


def test_rawhttp_get_and_options(raw: Server) -> None:
    r = raw.get("/score?a=1&a=2&b=%20x&c", headers={"X-Foo": "bar"})
    assert r.json() == {
        "args": {"a": ["1", "2"], "b": [" x"], "c": [""]},
        "full_path": "/score?a=1&a=2&b=%20x&c",
        "path": "/score",
        "foo": "bar",
    }
    r = raw.request("OPTIONS", "/score")
    assert (r.status_code, r.text) == (203, "opts")
    assert r.headers.get_list("x-a") == ["1", "2"]
    assert r.headers["content-type"] == "text/plain"
    assert r.headers["x-ms-run-function-failed"] == "False"


def test_amlresponse_status_500_and_up_marks_the_run_failed(raw: Server) -> None:
    r = raw.get("/score?mode=err")
    assert (r.status_code, r.content, r.headers["x-b"]) == (503, b'{"bad": true}', "q")
    assert r.headers["x-ms-run-function-failed"] == "True"
    r = raw.get("/score?mode=none")
    assert (r.status_code, r.content) == (201, b"{}")


def test_rawhttp_post_json_form_and_files(raw: Server) -> None:
    r = raw.post("/score", json={"x": [1]})
    assert r.json()["json"] == {"x": [1]} and r.json()["is_json"] is True
    r = raw.post("/score", data={"a": ["1", "2"], "b": "3"})
    assert r.json()["form"] == {"a": ["1", "2"], "b": ["3"]}
    r = raw.post(
        "/score", files={"f": ("a.txt", b"line1\nline2", "text/x-python")}, data={"name": "val"}
    )
    body = r.json()
    assert body["files"] == {"f": ["a.txt", "text/x-python", "line1\nline2"]}
    assert body["form"] == {"name": ["val"]} and body["mimetype"] == "multipart/form-data"


def test_rawhttp_undecodable_body_is_replaced_not_rejected(raw: Server) -> None:
    r = raw.post("/score", content=b"\xff", headers=TEXT)
    assert r.status_code == 200 and r.json()["data"] == "\ufffd"


def test_keep_alive_connection_serves_many_requests(plain: Server) -> None:
    with httpx.Client(base_url=plain.url) as client:
        for i in range(20):
            assert client.post("/score", content=str(i)).json()["echo"] == str(i)


def test_server_root_is_the_working_directory(tmp_path: Path, start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        """
        import os
        def init(): pass
        def run(data): return {"cwd": os.getcwd(), "root": os.environ["AML_APP_ROOT"], "model": os.environ.get("AZUREML_MODEL_DIR")}
        """,
        args=["--model-dir", "models"],
        files={"models/m.txt": "x"},
    )
    body = server.post("/score", content="x").json()
    assert body["cwd"] == body["root"] == str(server.root)
    assert body["model"] == "models"  # --model-dir's value verbatim, as azmlinfsrv exports it
