"""Deploy benchmark: call -> first successful score, dockyard vs `mlflow models serve` vs bare.

    .venv/bin/python benchmarks/deploy/run.py               # 5 interleaved rounds (~3-5 minutes)
    .venv/bin/python benchmarks/deploy/run.py --rounds 1 --quick   # smoke test, writes nothing

One clock for all: from the call (or the process start) to the first 200 answer carrying the right
prediction for the seed's ``test_sample``, on the bundled sample (samples/diabetes: a scikit-learn
Ridge on the diabetes data, trained into a temporary folder with samples/diabetes/train.py).

Variants, interleaved round by round (the order rotates each round):

* ``deploy_env``: ``Model.deploy`` with the sample's conda environment (environment cache warm:
  one untimed deploy first), then ``service.run(test_sample)`` until it succeeds;
* ``reload``: on that service, append a line to score.py, ``service.reload()``, then ``run``;
* ``deploy_noenv``: ``Model.deploy`` with no environment (dockyard's own interpreter);
* ``mlflow``: ``mlflow models serve --env-manager local`` on the same model saved with
  ``mlflow.sklearn.save_model`` (own venv under .cache/bench-mlflow, same scikit-learn), process
  start -> first ``POST /invocations``;
* ``bare``: a ``python -c`` process, in the deployed environment's Python (same packages), that
  imports joblib + scikit-learn, loads the model and serves it with a tiny uvicorn ASGI app (the
  practical floor).

Each variant runs once untimed before the rounds (bytecode written, page cache warm). A profile
pass after the rounds re-deploys and reloads with ``PYTHONPROFILEIMPORTTIME=1`` and compares
imports with and without bytecode. Per timed round it also splits dockyard's time into steps
from the service's events, the supervisor's status and the server log. Results go to
benchmarks/deploy/results/deploy-<UTC time>.json and to the "Deploying" section of
benchmarks/README.md (between the deploy-benchmark markers; the rest of the file is kept).
Everything listens on 127.0.0.1; every process started here is stopped by its PID.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import importlib.metadata
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLE = REPO / "samples" / "diabetes"
README = REPO / "benchmarks" / "README.md"
RESULTS = HERE / "results"
MLFLOW_VENV = REPO / ".cache" / "bench-mlflow"
HOST = "127.0.0.1"
START, END = "<!-- deploy-benchmark:start -->", "<!-- deploy-benchmark:end -->"
GEN_START, GEN_END = (
    "<!-- deploy-benchmark:results:start -->",
    "<!-- deploy-benchmark:results:end -->",
)

ROWS = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]
TEST_SAMPLE = json.dumps({"data": ROWS})  # the seed's test_sample
MLFLOW_BODY = json.dumps({"inputs": ROWS})
FIRST_SCORE_TIMEOUT = 180.0
VARIANTS = ("deploy_env", "reload", "reload_cold", "deploy_noenv", "mlflow", "bare")
#: Seconds between deploying and editing score.py in the `reload` variant: a person editing a
#: file. It gives the service's warm parent time to preload the packages (docs/deploy.md).
EDIT_PAUSE_S = 3.0
LABELS = {
    "deploy_env": "dockyard `Model.deploy`, conda environment, cache warm",
    "reload": "dockyard `service.reload()` after editing score.py (3 s after the deploy)",
    "reload_cold": "dockyard `service.reload()` at once after the deploy (no warm parent yet)",
    "deploy_noenv": "dockyard `Model.deploy`, no environment (dockyard's interpreter)",
    "mlflow": "`mlflow models serve --env-manager local` (process start)",
    "bare": "bare: `python -c` joblib + sklearn + tiny uvicorn app, the environment's Python (process start)",
}

# The practical floor: import, load, serve one route with no framework.
BARE_CODE = """\
import json, sys
import joblib, numpy, sklearn.linear_model, uvicorn
model = joblib.load(sys.argv[1])

async def app(scope, receive, send):
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    rows = numpy.array(json.loads(body)["data"])
    payload = json.dumps(model.predict(rows).tolist()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), loop="uvloop", http="httptools",
            lifespan="off", log_level="warning")
"""

SAVE_MLFLOW_CODE = """\
import sys, joblib, mlflow.sklearn
mlflow.sklearn.save_model(joblib.load(sys.argv[1]), sys.argv[2])
"""

PROBE_CODE = """\
import os, sys, time
t = time.perf_counter()
import joblib, numpy, sklearn.linear_model
imported = time.perf_counter() - t
t = time.perf_counter()
joblib.load(sys.argv[1])
loaded = time.perf_counter() - t
sys.stdout.write(f"{imported} {loaded}\\n")
sys.stdout.flush()
sys.stdin.read()
if sys.argv[2].endswith("os_exit"):
    os._exit(0)
"""


# --- small helpers ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def right_prediction(answer: Any, expected: list[float]) -> bool:
    if isinstance(answer, dict) and "predictions" in answer:  # mlflow's envelope
        answer = answer["predictions"]
    return (
        isinstance(answer, list)
        and len(answer) == len(expected)
        and all(
            isinstance(a, int | float) and math.isclose(a, e, rel_tol=1e-9)
            for a, e in zip(answer, expected, strict=True)
        )
    )


def post_json(port: int, path: str, body: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data


def until_scored(
    attempt: Callable[[], Any], expected: list[float], alive: Callable[[], bool]
) -> int:
    """Call ``attempt`` until it returns the right prediction; returns the number of tries."""
    deadline = time.monotonic() + FIRST_SCORE_TIMEOUT
    tries = 0
    last: object = None
    while time.monotonic() < deadline:
        tries += 1
        try:
            answer = attempt()
        except Exception as exc:  # connection refused, 503 while loading, ...
            last = exc
        else:
            if right_prediction(answer, expected):
                return tries
            last = answer
        if not alive():
            raise RuntimeError(f"the server exited before answering (last: {last!r})")
        time.sleep(0.01)
    raise RuntimeError(f"no right answer within {FIRST_SCORE_TIMEOUT:g} s (last: {last!r})")


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stop a process started with start_new_session=True, and its whole group, by its PID."""
    pgid = proc.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.05)
    if _group_alive(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait()


def _group_alive(pgid: int) -> bool:
    """Any live (non-zombie) process left in group ``pgid``?"""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def git_commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def version_in(python: Path, name: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return out.stdout.strip() or "-"


def summary(values: list[float]) -> dict[str, float | int]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


# --- set-up -------------------------------------------------------------------------------------
def ensure_mlflow_venv(sklearn_version: str) -> Path:
    """The venv `mlflow models serve` runs from, created here when missing."""
    python = MLFLOW_VENV / "bin" / "python"
    marker = MLFLOW_VENV / ".bench-ready"
    if (
        python.exists()
        and marker.exists()
        and version_in(python, "scikit-learn") == sklearn_version
    ):
        return python
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        sys.exit("uv is not installed in this venv (it comes with dockyard[sdk])")
    print(f"creating {MLFLOW_VENV} (mlflow, scikit-learn=={sklearn_version})", flush=True)
    subprocess.run(
        [uv, "venv", "-q", "--allow-existing", "--python", sys.executable, str(MLFLOW_VENV)],
        check=True,
    )
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--compile-bytecode",
            "--python",
            str(python),
            "mlflow",
            f"scikit-learn=={sklearn_version}",
        ],
        check=True,
    )
    marker.write_text("ok\n")
    return python


def train_model(work: Path) -> Path:
    out = subprocess.run(
        [sys.executable, str(SAMPLE / "train.py"), str(work / "outputs")],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def expected_prediction(model_file: Path) -> list[float]:
    import joblib
    import numpy as np

    return [float(x) for x in joblib.load(model_file).predict(np.array(ROWS)).tolist()]


def save_mlflow_model(python: Path, model_file: Path, dest: Path) -> None:
    subprocess.run(
        [str(python), "-c", SAVE_MLFLOW_CODE, str(model_file), str(dest)],
        check=True,
        env=child_env(),
        capture_output=True,
    )


def child_env(extra_path: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if extra_path is not None:
        env["PATH"] = f"{extra_path}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(extra_path.parent)
    return env


# --- the variants -------------------------------------------------------------------------------
class Bench:
    def __init__(self, work: Path, expected: list[float], mlflow_python: Path) -> None:
        from dockyard import Environment, Model, Workspace

        self.work = work
        self.expected = expected
        self.mlflow_python = mlflow_python
        self.ws = Workspace.create("bench", path=str(work / "ws"), exist_ok=True)
        self.src = work / "src"
        shutil.copytree(
            SAMPLE, self.src, ignore=shutil.ignore_patterns("outputs", "__pycache__", "*.pyc")
        )
        self.score_py = self.src / "score.py"
        self.original_score = self.score_py.read_text()
        self.model_file = work / "outputs" / "sklearn_regression_model.pkl"
        self.model = Model.register(
            workspace=self.ws, model_path=str(self.model_file), model_name="diabetes"
        )
        self.environment = Environment.from_conda_specification(
            name="diabetes-env", file_path=str(self.src / "environment.yml")
        )
        self.mlflow_model = work / "mlflow-model"
        self.service: Any = None  # the deploy_env service, reloaded then deleted
        self.counter = 0
        self.env_python: str | None = None  # set after the first deploy built the environment

    # dockyard ------------------------------------------------------------------------------------
    def deploy(self, with_env: bool) -> dict[str, Any]:
        from dockyard import InferenceConfig, LocalWebservice, Model

        self.counter += 1
        name = f"bench-{'env' if with_env else 'noenv'}-{self.counter}"
        inference_config = InferenceConfig(
            entry_script="score.py",
            source_directory=str(self.src),
            environment=self.environment if with_env else None,
        )
        deployment_config = LocalWebservice.deploy_configuration()
        wall0 = time.time()
        t0 = time.perf_counter()
        service = Model.deploy(self.ws, name, [self.model], inference_config, deployment_config)
        returned = time.perf_counter() - t0
        tries = until_scored(lambda: service.run(TEST_SAMPLE), self.expected, lambda: True)
        seconds = time.perf_counter() - t0
        result = {"seconds": seconds, "call_returned": returned, "tries": tries, "name": name}
        wait_supervisor_healthy(
            service
        )  # (after the clock) its "ready in" event has the spawn time
        result["steps"] = deploy_steps(self.ws, service, wall0, wall0 + seconds)
        return result | {"_service": service}

    def reload(self, service: Any, mark: str) -> dict[str, Any]:
        from dockyard.targets.local import LocalTarget

        service_dir = service._service_dir()
        before = LocalTarget().status(service.name, service_dir).generation
        log_offset = (service_dir / "server.log").stat().st_size
        self.score_py.write_text(self.original_score + f"\nBENCH_EDIT = {mark!r}\n")
        wall0 = time.time()
        t0 = time.perf_counter()
        service.reload()
        returned = time.perf_counter() - t0
        tries = until_scored(lambda: service.run(TEST_SAMPLE), self.expected, lambda: True)
        seconds = time.perf_counter() - t0
        after = LocalTarget().status(service.name, service_dir)
        app_root = Path(json.loads((service_dir / "deployment.json").read_text())["app_root"])
        served = (app_root / "src" / "score.py").read_text()
        if after.generation <= before or f"BENCH_EDIT = {mark!r}" not in served:
            raise RuntimeError("reload() returned but the edited score.py is not the one serving")
        steps = reload_steps(self.ws, service, wall0, wall0 + seconds, log_offset, after.generation)
        self.score_py.write_text(self.original_score)
        return {"seconds": seconds, "call_returned": returned, "tries": tries, "steps": steps}

    # processes -----------------------------------------------------------------------------------
    def process(
        self, argv: list[str], env: dict[str, str], port: int, path: str, body: str
    ) -> dict[str, Any]:
        log = open(self.work / "process.log", "ab")  # noqa: SIM115
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(self.work),
        )
        try:
            tries = until_scored(
                lambda: _ok_json(post_json(port, path, body)),
                self.expected,
                lambda: proc.poll() is None,
            )
            seconds = time.perf_counter() - t0
        finally:
            stop_group(proc)
            log.close()
        if not port_free(port):
            raise RuntimeError(f"port {port} is still taken after stopping pid {proc.pid}")
        return {"seconds": seconds, "tries": tries, "pid": proc.pid}

    def mlflow(self) -> dict[str, Any]:
        port = free_port()
        argv = [
            str(self.mlflow_python.parent / "mlflow"),
            "models",
            "serve",
            "-m",
            str(self.mlflow_model),
            "--env-manager",
            "local",
            "-h",
            HOST,
            "-p",
            str(port),
        ]
        env = child_env(self.mlflow_python.parent)
        return self.process(argv, env, port, "/invocations", MLFLOW_BODY)

    def bare(self) -> dict[str, Any]:
        port = free_port()
        # the deployed environment's Python: the same packages as deploy_env (its .pth file
        # appends dockyard's server runtime, so uvicorn, httptools and uvloop are there too)
        python = self.env_python or sys.executable
        argv = [python, "-c", BARE_CODE, str(self.model_file), str(port)]
        return self.process(argv, child_env(), port, "/score", TEST_SAMPLE)


def _ok_json(answer: tuple[int, Any]) -> Any:
    status, data = answer
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {data!r}")
    return data


# --- where dockyard's time goes ----------------------------------------------------------------
LOG_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w \[(\d+)\] (\S+)(?: rid=\S+)? - (.*)$"
)


def server_lines(text: str) -> list[tuple[float, int, str]]:
    """(UTC epoch seconds, pid, message) for the scoring server's log lines."""
    out = []
    for line in text.splitlines():
        match = LOG_LINE.match(line)
        if match:
            stamp = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
            epoch = stamp.replace(tzinfo=dt.UTC).timestamp()
            out.append((epoch, int(match.group(2)), match.group(4)))
    return out


def _first(lines: list[tuple[float, int, str]], pid: int | None, prefix: str) -> float | None:
    for at, line_pid, message in lines:
        if (pid is None or line_pid == pid) and message.startswith(prefix):
            return at
    return None


def _epoch(at: Any) -> float:
    """An event's time: epoch seconds (supervisor) or an aware datetime (the store)."""
    return float(at) if isinstance(at, int | float) else float(at.timestamp())


def _event_at(events: list[dict[str, Any]], prefix: str) -> float | None:
    for event in events:
        if str(event["message"]).startswith(prefix):
            return _epoch(event["at"])
    return None


def _server_marks(lines: list[tuple[float, int, str]], pid: int | None) -> dict[str, float | None]:
    return {
        "banner": _first(lines, pid, "dockyard scoring server"),
        "script_imported": _first(lines, pid, "Found user script"),
        "init_done": _first(lines, pid, "Users's init has completed"),
        "ready": _first(lines, pid, "Script loaded and init() done"),
    }


def _durations(marks: list[tuple[str, float | None]]) -> dict[str, float | None]:
    """Seconds from the previous known mark to each mark (None where a mark is missing)."""
    out: dict[str, float | None] = {}
    previous = marks[0][1]
    for name, at in marks[1:]:
        out[name] = None if at is None or previous is None else at - previous
        if at is not None:
            previous = at
    return out


def wait_supervisor_healthy(service: Any, timeout: float = 10.0) -> None:
    status_file = service._service_dir() / "status.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(status_file.read_text()).get("state") == "Healthy":
                return
        time.sleep(0.02)


def deploy_steps(ws: Any, service: Any, wall0: float, scored: float) -> dict[str, Any]:
    from dockyard.ops import records

    service_dir = service._service_dir()
    events = records.events(ws, service.name)
    status = json.loads((service_dir / "status.json").read_text())
    ready_event = next(
        (e for e in status["events"] if str(e["message"]).startswith("ready in")), None
    )
    spawned = None
    if ready_event:
        took = float(re.search(r"ready in ([\d.]+)s", ready_event["message"]).group(1))  # type: ignore[union-attr]
        spawned = ready_event["at"] - took
    lines = server_lines((service_dir / "server.log").read_text(errors="replace"))
    server = _server_marks(lines, None)
    marks = [
        ("call", wall0),
        ("record", _event_at(events, "deployment requested")),
        ("environment", _event_at(events, "environment:")),
        ("layout", _event_at(events, "layout:")),
        ("start_recorded", _event_at(events, "start:")),
        ("supervisor_spawned_server", spawned),
        ("server_imports_banner", server["banner"]),
        ("score_py_import", server["script_imported"]),
        ("init", server["init_done"]),
        ("ready", server["ready"]),
        ("first_score", scored),
    ]
    steps = _durations(marks)
    steps["_supervisor_ready_event"] = None if not ready_event else ready_event["at"] - wall0
    return steps


def reload_steps(
    ws: Any, service: Any, wall0: float, scored: float, log_offset: int, generation: int
) -> dict[str, Any]:
    from dockyard.ops import records

    service_dir = service._service_dir()
    events = [e for e in records.events(ws, service.name) if _epoch(e["at"]) >= wall0 - 0.001]
    status = json.loads((service_dir / "status.json").read_text())
    sup = [e for e in status["events"] if e["at"] >= wall0]
    with open(service_dir / "server.log", "rb") as handle:
        handle.seek(log_offset)
        text = handle.read().decode("utf-8", "replace")
    found = re.search(rf"generation {generation}: started server pid\(s\) \[(\d+)", text)
    pid = int(found.group(1)) if found else None
    lines = server_lines(text)
    server = _server_marks(lines, pid)
    old_last = max((at for at, p, _ in lines if pid is not None and p != pid), default=None)
    marks = [
        ("call", wall0),
        ("environment", _event_at(events, "reload: environment: Python")),
        ("layout", _event_at(events, "reload: layout:")),
        ("supervisor_started_new", _event_at(sup, "starting generation")),
        ("server_imports_banner", server["banner"]),
        ("score_py_import", server["script_imported"]),
        ("init", server["init_done"]),
        ("ready", server["ready"]),
        # the supervisor's last save: the switch, made after the old server has stopped (it
        # records no event for it: the state stays Healthy)
        ("switched_old_stopped", status.get("updated_at")),
        ("reload_returned", _event_at(events, "reload: done")),
        ("first_score", scored),
    ]
    steps = _durations(marks)
    steps["_old_server_last_line"] = None if old_last is None else old_last - wall0
    return steps


# --- profile pass -------------------------------------------------------------------------------
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_profile(text: str) -> dict[str, Any]:
    """Top-level imports of one process (``-X importtime`` lines), by cumulative time."""
    top: dict[str, float] = {}
    total = 0.0
    for line in text.splitlines():
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        total += int(match.group(1)) / 1e6
        if len(match.group(3)) == 1:  # a top-level import (one space of indentation)
            package = match.group(4).split(".")[0]
            top[package] = top.get(package, 0.0) + int(match.group(2)) / 1e6
    ranked = sorted(top.items(), key=lambda kv: -kv[1])
    return {"total_s": total, "top": [[name, seconds] for name, seconds in ranked[:10]]}


def profile(bench: Bench) -> dict[str, Any]:
    """One deploy + one reload with PYTHONPROFILEIMPORTTIME=1 (untimed), and bytecode effect."""
    out: dict[str, Any] = {}
    os.environ["PYTHONPROFILEIMPORTTIME"] = "1"  # inherited by the supervisor and the server
    try:
        deployed = bench.deploy(with_env=True)
        service = deployed.pop("_service")
        service_dir = service._service_dir()
        log = service_dir / "server.log"
        out["deploy_seconds_with_importtime"] = deployed["seconds"]
        out["server_imports"] = import_profile(log.read_text(errors="replace"))
        out["supervisor_imports"] = import_profile(
            (service_dir / "supervisor.log").read_text(errors="replace")
        )
        offset = log.stat().st_size
        bench.score_py.write_text(bench.original_score + "\nBENCH_EDIT = 'profile'\n")
        service.reload()
        with open(log, "rb") as handle:
            handle.seek(offset)
            out["reload_server_imports"] = import_profile(handle.read().decode("utf-8", "replace"))
        bench.score_py.write_text(bench.original_score)
        service.delete()
    finally:
        os.environ.pop("PYTHONPROFILEIMPORTTIME", None)
    out["env_python"] = str(deployed_python(bench))
    out["env_python_probe"] = probe_env_python(bench, Path(out["env_python"]))
    return out


def probe_env_python(bench: Bench, env_python: Path, rounds: int = 3) -> dict[str, Any]:
    """In the deployed environment's Python: import joblib + numpy + sklearn (with and without
    bytecode), joblib.load once they are imported (init() in a pre-imported process), and how long
    the process takes to exit afterwards (normal interpreter teardown vs ``os._exit``)."""
    empty = bench.work / "no-pycache"
    empty.mkdir(exist_ok=True)
    kinds = ("bytecode", "no_bytecode", "bytecode_os_exit")
    found: dict[str, dict[str, list[float]]] = {
        k: {"import_s": [], "load_after_import_s": [], "exit_s": []} for k in kinds
    }
    for _ in range(rounds):
        for kind in kinds:
            env = child_env()
            argv = [str(env_python), "-c", PROBE_CODE, str(bench.model_file), kind]
            if kind == "no_bytecode":
                env["PYTHONPYCACHEPREFIX"] = str(empty)  # empty: every module compiles again
                argv.insert(1, "-B")
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            assert proc.stdin is not None and proc.stdout is not None
            imported, loaded = (float(x) for x in proc.stdout.readline().split())
            t0 = time.perf_counter()
            proc.stdin.close()
            proc.wait(timeout=60)
            found[kind]["exit_s"].append(time.perf_counter() - t0)
            found[kind]["import_s"].append(imported)
            found[kind]["load_after_import_s"].append(loaded)
    return {
        kind: {name: statistics.median(values) for name, values in parts.items()} | {"runs": parts}
        for kind, parts in found.items()
    }


def deployed_python(bench: Bench) -> str:
    from dockyard.builders.envs import ensure_environment
    from dockyard.ops.release import environments_cache

    spec = bench.environment.to_spec()
    return str(
        ensure_environment(
            spec, environments_cache(Path(bench.ws.path)), progress=lambda _: None
        ).python
    )


# --- the run ------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def versions(mlflow_python: Path, env_python: str | None) -> dict[str, str]:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    uv_version = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.split()
    out = {
        "python": platform.python_version(),
        "dockyard_commit": git_commit(),
        "dockyard": importlib.metadata.version("dockyard"),
        "uvicorn": importlib.metadata.version("uvicorn"),
        "scikit-learn": importlib.metadata.version("scikit-learn"),
        "numpy": importlib.metadata.version("numpy"),
        "joblib": importlib.metadata.version("joblib"),
        "uv": uv_version[1] if len(uv_version) > 1 else "-",
        "mlflow": version_in(mlflow_python, "mlflow"),
        "mlflow_venv_uvicorn": version_in(mlflow_python, "uvicorn"),
        "mlflow_venv_scikit-learn": version_in(mlflow_python, "scikit-learn"),
    }
    if env_python:
        out["deploy_env_uvicorn"] = version_in(Path(env_python), "uvicorn")
        out["deploy_env_scikit-learn"] = version_in(Path(env_python), "scikit-learn")
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    import sklearn

    started = dt.datetime.now(dt.UTC)
    # A typical shell does not set it; with it set, the environments dockyard builds (uv writes no
    # bytecode) would compile every module on every start. Its effect is measured in the profile.
    dont_write_bytecode = os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    mlflow_python = ensure_mlflow_venv(sklearn.__version__)
    work = Path(tempfile.mkdtemp(prefix="dockyard-deploy-bench-"))
    os.environ["DOCKYARD_HOME"] = str(work / "home")  # the workspace index stays in the temp dir
    os.environ.pop("DOCKYARD_ENV_CACHE", None)  # the cache is the temp workspace's own
    load_before = loadavg()
    began = time.monotonic()
    raw: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    warmup: dict[str, Any] = {}
    services: list[Any] = []
    try:
        train_model(work)
        expected = expected_prediction(work / "outputs" / "sklearn_regression_model.pkl")
        bench = Bench(work, expected, mlflow_python)
        t0 = time.perf_counter()
        save_mlflow_model(mlflow_python, bench.model_file, bench.mlflow_model)
        warmup["mlflow_save_model_s"] = time.perf_counter() - t0

        print("warm-up (untimed): first deploy builds the environment", flush=True)
        first = bench.deploy(with_env=True)
        services.append(first.pop("_service"))
        warmup["deploy_env_first_s"] = first["seconds"]
        bench.env_python = deployed_python(bench)
        warmup["reload_first_s"] = bench.reload(services[-1], "warmup")["seconds"]
        services.pop().delete()
        noenv = bench.deploy(with_env=False)
        services.append(noenv.pop("_service"))
        services.pop().delete()
        warmup["deploy_noenv_first_s"] = noenv["seconds"]
        warmup["mlflow_first_s"] = bench.mlflow()["seconds"]
        warmup["bare_first_s"] = bench.bare()["seconds"]
        print(f"  {json.dumps({k: round(v, 2) for k, v in warmup.items()})}", flush=True)

        units = ["dockyard_env", "deploy_noenv", "mlflow", "bare"]
        for rnd in range(args.rounds):
            order = units[rnd % len(units) :] + units[: rnd % len(units)]
            for unit in order:
                if unit == "dockyard_env":
                    deployed = bench.deploy(with_env=True)
                    services.append(deployed.pop("_service"))
                    raw["deploy_env"].append(deployed)
                    raw["reload_cold"].append(bench.reload(services[-1], f"cold {rnd + 1}"))
                    time.sleep(EDIT_PAUSE_S)
                    raw["reload"].append(bench.reload(services[-1], f"round {rnd + 1}"))
                    services.pop().delete()
                elif unit == "deploy_noenv":
                    deployed = bench.deploy(with_env=False)
                    services.append(deployed.pop("_service"))
                    services.pop().delete()
                    raw["deploy_noenv"].append(deployed)
                elif unit == "mlflow":
                    raw["mlflow"].append(bench.mlflow())
                else:
                    raw["bare"].append(bench.bare())
            line = ", ".join(f"{v} {raw[v][-1]['seconds']:.2f}s" for v in VARIANTS)
            print(f"round {rnd + 1}/{args.rounds}: {line} (load {loadavg()})", flush=True)

        print("profile pass (untimed): PYTHONPROFILEIMPORTTIME=1, bytecode on/off", flush=True)
        prof = profile(bench) if not args.no_profile else {}
        env_python = prof.get("env_python") or deployed_python(bench)
        result = {
            "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
            "rounds": args.rounds,
            "command": " ".join(["benchmarks/deploy/run.py", *sys.argv[1:]]),
            "duration_s": time.monotonic() - began,
            "machine": machine() | {"load_before": load_before, "load_after": loadavg()},
            "versions": versions(mlflow_python, env_python),
            "pythondontwritebytecode_in_caller": dont_write_bytecode,
            "warmup": warmup,
            "summary": {v: summary([r["seconds"] for r in raw[v]]) for v in VARIANTS if raw[v]},
            "steps": {v: step_summary(raw[v]) for v in ("deploy_env", "reload", "deploy_noenv")},
            "raw": raw,
            "profile": prof,
            "mlflow_model_format": mlflow_format(bench.mlflow_model),
        }
    finally:
        for service in services:
            with contextlib.suppress(Exception):
                service.delete()
        shutil.rmtree(work, ignore_errors=True)
        if dont_write_bytecode is not None:
            os.environ["PYTHONDONTWRITEBYTECODE"] = dont_write_bytecode
    return result


def mlflow_format(model_dir: Path) -> str:
    with contextlib.suppress(OSError):
        found = re.search(r"serialization_format: (\S+)", (model_dir / "MLmodel").read_text())
        if found:
            return found.group(1)
    return "unknown"


def step_summary(rounds: list[dict[str, Any]]) -> dict[str, float | None]:
    names = [k for k in (rounds[0]["steps"] if rounds else {}) if not k.startswith("_")]
    out: dict[str, float | None] = {}
    for name in names:
        values = [r["steps"][name] for r in rounds if r["steps"].get(name) is not None]
        out[name] = statistics.median(values) if values else None
    return out


# --- the README section -------------------------------------------------------------------------
def render(result: dict[str, Any]) -> str:
    m, v, s = result["machine"], result["versions"], result["summary"]
    lines = [
        f"Run {result['started_utc']} (`{result.get('command', 'benchmarks/deploy/run.py')}`): "
        f"{result['rounds']} interleaved rounds, {result['duration_s']:.0f} s in all. Raw results: "
        f"`benchmarks/deploy/results/{result['file']}`.",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"load average before {m['load_before']}, after {m['load_after']}. The machine is shared "
        "with other builds, tests and benchmarks running at the same time (the load average on 2 "
        "cores says how busy): figures are indicative, re-run on a quiet machine for final ones.",
        f"Versions: Python {v['python']}, dockyard {v['dockyard']} (commit "
        f"{v['dockyard_commit']}), uvicorn {v['uvicorn']}, scikit-learn {v['scikit-learn']}, "
        f"numpy {v['numpy']}, joblib {v['joblib']}, uv {v['uv']}; mlflow {v['mlflow']} "
        f"(uvicorn {v['mlflow_venv_uvicorn']}, scikit-learn {v['mlflow_venv_scikit-learn']}; "
        f"model saved by `mlflow.sklearn.save_model` in its default `{result['mlflow_model_format']}` "
        "format).",
        "",
        "| variant | median s | min s | max s | goal |",
        "| --- | --- | --- | --- | --- |",
    ]
    goals = {
        "deploy_env": ("< 2 s", 2.0),
        "reload": ("< 1 s", 1.0),
        "reload_cold": ("< 1 s", 1.0),
    }
    mlflow_median = s.get("mlflow", {}).get("median")
    for variant in VARIANTS:
        if variant not in s:
            continue
        row = s[variant]
        goal = "-"
        if variant in goals:
            text, limit = goals[variant]
            goal = f"{text}: {'met' if row['median'] < limit else 'not met'}"
            if variant == "deploy_env" and mlflow_median:
                faster = row["median"] < mlflow_median
                goal += f"; faster than mlflow: {'yes' if faster else 'no'} ({mlflow_median / row['median']:.1f}x)"
        lines.append(
            f"| {LABELS[variant]} | {row['median']:.2f} | {row['min']:.2f} | {row['max']:.2f} | {goal} |"
        )
    if "deploy_env" in s and "bare" in s:
        lines += [
            "",
            f"dockyard's deploy minus the bare floor (medians): "
            f"{s['deploy_env']['median'] - s['bare']['median']:+.2f} s; mlflow minus the floor: "
            f"{s['mlflow']['median'] - s['bare']['median']:+.2f} s."
            if "mlflow" in s
            else "",
        ]
    w = result["warmup"]
    lines += [
        "",
        f"Untimed first runs (warm-up): deploy with the environment built from an empty "
        f"environment cache (uv's cache warm) {w['deploy_env_first_s']:.2f} s, first reload "
        f"{w['reload_first_s']:.2f} s, no-environment deploy {w['deploy_noenv_first_s']:.2f} s, "
        f"mlflow {w['mlflow_first_s']:.2f} s, bare {w['bare_first_s']:.2f} s.",
        "",
        "Where dockyard's time goes (median seconds per step over the rounds; from the service's "
        "events, the supervisor's status and the server's log lines):",
        "",
        "| step | deploy, environment | deploy, no environment | reload |",
        "| --- | --- | --- | --- |",
    ]
    steps = result["steps"]
    rows = [
        ("SDK: checks, first record (`deployment requested`)", "record", "record", None),
        ("environment check (cache hit)", "environment", "environment", "environment"),
        ("layout (app root: model links, source copy)", "layout", "layout", "layout"),
        (
            "record `start`; reload: SIGHUP -> supervisor starts the new server",
            "start_recorded",
            "start_recorded",
            "supervisor_started_new",
        ),
        (
            "supervisor start (python, imports, bind) -> server spawned",
            "supervisor_spawned_server",
            "supervisor_spawned_server",
            None,
        ),
        (
            "server: interpreter + dockyard.server imports -> banner",
            "server_imports_banner",
            "server_imports_banner",
            "server_imports_banner",
        ),
        (
            "server: import score.py (numpy, joblib)",
            "score_py_import",
            "score_py_import",
            "score_py_import",
        ),
        ("init(): joblib.load (imports scikit-learn)", "init", "init", "init"),
        ("swagger, ready", "ready", "ready", "ready"),
        (
            "reload: supervisor sees the ready file, stops the old server, records the switch",
            None,
            None,
            "switched_old_stopped",
        ),
        ("reload: `reload()` notices and returns", None, None, "reload_returned"),
        ("first request (client -> answer)", "first_score", "first_score", "first_score"),
    ]

    def cell(variant: str, key: str | None) -> str:
        value = steps.get(variant, {}).get(key) if key else None
        return "-" if value is None else f"{value:.3f}"

    for label, env_key, noenv_key, reload_key in rows:
        lines.append(
            f"| {label} | {cell('deploy_env', env_key)} | {cell('deploy_noenv', noenv_key)} | "
            f"{cell('reload', reload_key)} |"
        )
    prof = result.get("profile") or {}
    if prof:
        probe = prof["env_python_probe"]
        top = ", ".join(f"{n} {t:.2f}" for n, t in prof["server_imports"]["top"][:6])
        sup_top = ", ".join(f"{n} {t:.2f}" for n, t in prof["supervisor_imports"]["top"][:4])
        lines += [
            "",
            "Profile pass (untimed; `PYTHONPROFILEIMPORTTIME=1` on one deploy, then probes in the "
            "deployed environment's Python, medians of 3):",
            "",
            f"- the server process spends {prof['server_imports']['total_s']:.2f} s importing "
            f"(top-level imports, cumulative s: {top}); the supervisor "
            f"{prof['supervisor_imports']['total_s']:.2f} s ({sup_top}).",
            "- `import joblib, numpy, sklearn.linear_model`: "
            f"{probe['bytecode']['import_s']:.2f} s with bytecode, "
            f"{probe['no_bytecode']['import_s']:.2f} s without (what every start costs when "
            "`PYTHONDONTWRITEBYTECODE` is set, since uv installs no bytecode).",
            "- `joblib.load` of the model once scikit-learn is imported (init() in a process that "
            f"has the modules already): {probe['bytecode']['load_after_import_s'] * 1000:.1f} ms.",
            "- a process that has imported scikit-learn takes "
            f"{probe['bytecode']['exit_s']:.2f} s to exit normally (interpreter teardown), "
            f"{probe['bytecode_os_exit']['exit_s']:.3f} s with `os._exit`: reload() waits for "
            "the old server to exit before it records the switch.",
        ]
    if result.get("pythondontwritebytecode_in_caller"):
        lines += [
            "",
            "This machine's shell sets `PYTHONDONTWRITEBYTECODE=1`; the benchmark unsets it for "
            "its processes (as in a typical shell) so that the environments get bytecode on "
            "their first start.",
        ]
    return "\n".join(lines)


METHOD = """\
`benchmarks/deploy/run.py` (one command: `.venv/bin/python benchmarks/deploy/run.py`; about 4
minutes). One clock for all: from the call (or the process start) to the first 200 answer with the
right prediction for the seed's `test_sample` (`{"data": [[1..10], [10..1]]}`), on the bundled
sample (samples/diabetes: scikit-learn Ridge on the diabetes data, trained into a temporary folder
by `samples/diabetes/train.py`), in a temporary workspace deleted afterwards. Variants, in
interleaved rounds (the order rotates each round), each run once untimed first:

- dockyard deploy: `Model.deploy(ws, name, [model], InferenceConfig(entry_script="score.py",
  source_directory=<copy of samples/diabetes>, environment=Environment.from_conda_specification(...
  environment.yml)), LocalWebservice.deploy_configuration())`, then `service.run(test_sample)`
  until it succeeds; the environment cache is warm (the untimed deploy built it); `service.delete()`
  after each round;
- dockyard reload: on that service, append a line to score.py, `service.reload()`, then `run`
  (the benchmark checks that the edited script is the one serving);
- dockyard deploy with no environment (dockyard's own interpreter, i.e. this repository's `.venv`);
- `mlflow models serve -m DIR --env-manager local -h 127.0.0.1 -p PORT` on the same model saved
  by `mlflow.sklearn.save_model`, from its own venv (`.cache/bench-mlflow`, created by the
  benchmark, same scikit-learn), process start to the first `POST /invocations` with
  `{"inputs": rows}`; its process group is stopped by PID after each round;
- bare: `python -c` in the deployed environment's Python importing joblib + scikit-learn, loading
  the model and serving it with a tiny uvicorn ASGI app, process start to the first score (the
  practical floor).
"""


def skeleton() -> str:
    return (
        f"{START}\n## Deploying: call -> first score\n\n{METHOD}\n{GEN_START}\n{GEN_END}\n{END}\n"
    )


def write_readme(text: str) -> None:
    readme = README.read_text()  # re-read right before editing: other sections may be in flight
    if START not in readme:
        readme = readme.rstrip("\n") + "\n\n" + skeleton()
    head, rest = readme.split(START, 1)
    section, tail = rest.split(END, 1)
    if GEN_START not in section:
        section = section.rstrip("\n") + f"\n\n{GEN_START}\n{GEN_END}\n"
    before, after = section.split(GEN_START, 1)
    _, after = after.split(GEN_END, 1)
    section = f"{before}{GEN_START}\n{text}\n{GEN_END}{after}"
    README.write_text(f"{head}{START}{section}{END}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="print only; write no results")
    parser.add_argument("--no-profile", action="store_true", help="skip the profile pass")
    args = parser.parse_args()
    result = run(args)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    result["file"] = f"deploy-{stamp}.json"
    text = render(result)
    print(text)
    if args.quick:
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / result["file"]).write_text(json.dumps(result, indent=1, default=str) + "\n")
    write_readme(text)
    print(f"wrote {RESULTS / result['file']} and {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
