"""The child side of the probe: score.py loaded and called by the scoring server's own code, in
the environment and app root a deployment would have, one step at a time.

The parent (:mod:`dockyard.diagnosis.probe`) runs this file's text with ``python -c`` in the
built environment, in the laid-out app root, with the variables a target sets
(``AZUREML_MODEL_DIR``, ``AML_APP_ROOT``, ``AZUREML_ENTRY_SCRIPT`` ...). Nothing here is a second
copy of the server: the script is imported and checked by
:func:`dockyard.server.user_script.load_script`, ``init()`` is called by ``call_init``, the
swagger documents are the server's (:class:`dockyard.server.swagger.Swagger`), and the sample is
answered by the server's own ASGI app (:mod:`dockyard.server.app`: input modes, run(), the JSON
answer), called in-process with one ``POST /score``.

What each step found is written as JSON to the result file after every step (``running`` names
the step under way, so a parent that had to stop a hung child knows where it hung). The child
adds only what the server does not record: the ``Model.get_model_path`` calls ``init()`` made
(each with its caller's file and line), a check that ``init()`` takes no required argument, and
the value run() returned when it is not JSON. Standard library and ``dockyard.server`` only: it
runs where only the server runtime is installed.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
import time
from typing import Any

from dockyard.server.app import create_app
from dockyard.server.logs import SINK, configure_logging, redirect_print, walk_path
from dockyard.server.responder import READY
from dockyard.server.run_output import dump_output
from dockyard.server.settings import export_environment, load_settings
from dockyard.server.swagger import Swagger
from dockyard.server.user_script import ScriptLoadError, call_init, load_script, prepare_sys_path

#: The request id of the sample request (in the access line and the run() log lines).
REQUEST_ID = "dockyard-diagnose"
_LISTING_LINES = 60


class Recorder:
    """The result file: ``{"running": step or None, "phases": [{"phase", "ok", ...}, ...]}``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.data: dict[str, Any] = {"running": None, "phases": []}

    def start(self, phase: str) -> None:
        self.data["running"] = phase
        self._write()

    def done(self, phase: str, ok: bool | None, **details: Any) -> None:
        self.data["phases"].append({"phase": phase, "ok": ok, **details})
        self.data["running"] = None
        self._write()

    def _write(self) -> None:
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle, default=repr)
        os.replace(tmp, self.path)


def watch_get_model_path(calls: list[dict[str, Any]]) -> None:
    """Record every ``Model.get_model_path`` call (the stand-in's, or azureml-core's where it is
    installed): its arguments, its answer or error, and the file and line that called it."""
    try:
        from azureml.core.model import Model
    except Exception:  # noqa: BLE001 - nothing to watch: the script cannot call it either
        return
    original = Model.get_model_path

    def get_model_path(model_name: Any, version: Any = None, _workspace: Any = None) -> Any:
        caller = sys._getframe(1)
        call: dict[str, Any] = {
            "model_name": model_name,
            "version": version,
            "file": caller.f_code.co_filename,
            "line": caller.f_lineno,
        }
        calls.append(call)
        try:
            call["result"] = original(model_name, version, _workspace)
        except BaseException as exc:
            call["error"] = f"{type(exc).__name__}: {exc}"
            raise
        return call["result"]

    Model.get_model_path = staticmethod(get_model_path)  # type: ignore[method-assign,assignment]


def init_signature_problem(init: Any) -> str | None:
    """Why the server's ``init()`` call (no arguments) cannot work, or None."""
    try:
        parameters = inspect.signature(init).parameters.values()
    except (TypeError, ValueError):
        return None
    required = [
        p.name
        for p in parameters
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if required:
        return (
            f"init() requires the argument(s) {', '.join(required)}, but the server calls init() "
            "with none"
        )
    return None


def listing(path: str | None) -> str:
    if not path or not os.path.exists(path):
        return f"{path} does not exist"
    lines = list(walk_path(path))
    more = len(lines) - _LISTING_LINES
    return "\n".join(lines[:_LISTING_LINES] + ([f"... and {more} more"] if more > 0 else []))


def schema_example(swagger: Swagger) -> Any:
    """The ``@input_schema`` example of the swagger document, or None."""
    for version in ("3", "2"):
        document = swagger.documents.get(version)
        if not document:
            continue
        data = json.loads(document)
        schemas = data.get("components", {}).get("schemas") or data.get("definitions") or {}
        example = (schemas.get("ServiceInput") or {}).get("example")
        if example:
            return example
    return None


async def post_score(app: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """One ``POST /score`` through the app, as uvicorn would hand it over."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", REQUEST_ID.encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/score",
        "raw_path": b"/score",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 5001),
    }
    sent = False
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never goes away
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    answer = {k.decode("latin-1"): v.decode("latin-1") for k, v in started.get("headers", [])}
    return int(started.get("status", 0)), answer, b"".join(chunks)


def main(argv: list[str]) -> int:
    record = Recorder(argv[0])
    sample_text = None
    if len(argv) > 1 and argv[1]:
        with open(argv[1], encoding="utf-8") as handle:
            sample_text = handle.read()
    settings = load_settings([], os.environ)
    configure_logging(settings.log_level, [settings.app_root])
    redirect_print()
    export_environment(settings)
    os.chdir(settings.app_root)
    prepare_sys_path(settings.app_root, settings.source_dir, settings.entry_script)
    calls: list[dict[str, Any]] = []
    watch_get_model_path(calls)

    record.start("import")
    started = time.perf_counter()
    try:
        script = load_script(settings.entry_script, settings.app_root)
    except ScriptLoadError as exc:
        failed = {"summary": exc.summary, "traceback": exc.traceback_text}
        if exc.phase == "import":
            record.done("import", False, **failed)
        else:
            record.done("import", True, seconds=time.perf_counter() - started)
            record.done("signatures", False, **failed)
        return 0
    record.done("import", True, seconds=time.perf_counter() - started)
    problem = init_signature_problem(script.init)
    if problem:
        record.done("signatures", False, summary=problem, traceback="")
        return 0
    record.done(
        "signatures", True, mode=script.mode, run=f"run{inspect.signature(script.run)}",
        init=f"init{inspect.signature(script.init)}",
    )  # fmt: skip

    record.start("init")
    started = time.perf_counter()
    models_dir = os.path.join(settings.app_root, "azureml-models")
    try:
        call_init(script)
        swagger = Swagger(
            settings.app_root, script.run, settings.service_name, settings.service_version,
            settings.service_path_prefix,
        )  # fmt: skip
    except ScriptLoadError as exc:
        record.done(
            "init", False, summary=exc.summary, traceback=exc.traceback_text, calls=calls,
            listing=listing(models_dir),
        )  # fmt: skip
        return 0
    except Exception as exc:  # noqa: BLE001 - building the swagger documents failed: the start fails
        record.done(
            "init", False, summary=f"Building /swagger.json failed: {exc}", traceback="",
            calls=calls, listing=listing(models_dir), swagger=True,
        )  # fmt: skip
        return 0
    record.done("init", True, seconds=time.perf_counter() - started, calls=calls)

    source = "--sample"
    if sample_text is None:
        example = schema_example(swagger) if script.mode == "schema" else None
        if example is None:
            record.done("score", None, mode=script.mode)
            return 0
        sample_text, source = json.dumps(example), "the @input_schema example"
    record.start("score")
    returned: list[Any] = []
    run = script.run

    def keep_result(*args: Any, **kwargs: Any) -> Any:
        value = run(*args, **kwargs)
        returned.append(value)
        return value

    script.run = keep_result
    app = create_app(settings)
    app.responder.script, app.responder.swagger = script, swagger
    app.responder.state = READY
    started = time.perf_counter()
    status, headers, body = asyncio.run(post_score(app, sample_text.encode("utf-8")))
    seconds = time.perf_counter() - started
    app.executor.stop()
    not_json = None
    if status == 500 and returned and headers.get("x-ms-run-function-failed") != "True":
        try:
            dump_output(returned[-1])
        except Exception as exc:  # noqa: BLE001 - what json.dumps said about the value
            not_json = f"{type(exc).__name__}: {exc} (run() returned {type(returned[-1]).__name__})"
    SINK.flush()
    record.done(
        "score", status == 200, status=status, headers=headers,
        body=body.decode("utf-8", "replace"), source=source, sample=sample_text,
        seconds=seconds, not_json=not_json,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
