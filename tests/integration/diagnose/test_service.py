"""``dockyard.diagnose(ws, SERVICE)`` on real local services (server processes on 127.0.0.1): a
healthy one passes every step and is left as it was; a crash-looping one shows its traceback in
the user's own file; 5xx answers are named by request id; 503s are read as overload with advice
in numbers from the service's configuration; a taken port names its holder. Each fix is applied
where it can be, and the step passes after it."""

from __future__ import annotations

import concurrent.futures
import json
import math
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import dockyard
from dockyard import InferenceConfig, LocalWebservice, Model, Webservice, Workspace
from dockyard.errors import WebserviceError
from dockyard.ops import records
from tests.integration.diagnose.conftest import diagnose_cli, write_script

pytestmark = pytest.mark.slow

SCORE = """\
import json
import time

def init():
    print("forecast ready")

def run(data):
    asked = json.loads(data)
    if asked == "boom":
        raise ValueError("the request asked for a failure")
    time.sleep(asked.get("sleep", 0) if isinstance(asked, dict) else 0)
    return {"echo": asked}
"""


def deploy(
    ws: Workspace, model: Model, folder: Path, name: str, services: list[str], **config: object
) -> Webservice:
    services.append(name)
    deployment = LocalWebservice.deploy_configuration()
    for key, value in config.items():
        setattr(deployment, key, value)
    inference = InferenceConfig(entry_script="score.py", source_directory=str(folder))
    return Model.deploy(ws, name, [model], inference, deployment, overwrite=True)


def access_lines(service: Webservice, count: int) -> None:
    """Wait until the service's log has ``count`` access lines of /score (the server writes them
    within 50 ms of the answer), as a diagnosis run a moment later would find them."""
    deadline = time.monotonic() + 10
    while service.get_logs().count(" dockyard.access - POST /score ") < count:
        assert time.monotonic() < deadline, service.get_logs()
        time.sleep(0.05)


def test_a_healthy_service_passes_every_step_and_is_left_as_it_was(
    ws: Workspace, model: Model, tmp_path: Path, services: list[str]
) -> None:
    service = deploy(ws, model, write_script(tmp_path / "src", SCORE), "calm", services)
    service.wait_for_deployment()
    assert service.run({"city": "Seoul"}) == {"echo": {"city": "Seoul"}}
    access_lines(service, 1)
    before = (service.serialize(), len(records.events(ws, "calm")))

    report = dockyard.diagnose(ws, "calm")
    assert report.ok, report
    assert [(s.step, s.status) for s in report.steps] == [
        ("port", "passed"), ("state", "passed"), ("readiness", "passed"), ("errors", "passed"),
        ("overload", "passed"),
    ]  # fmt: skip
    assert report.step("state").finding == "Healthy (0 restart(s))"
    assert (
        f"GET http://127.0.0.1:{service.port}/health/ready: 200" in report.step("readiness").finding
    )
    assert "among the last 1 request(s) in the log" in report.step("errors").finding

    after = (Webservice(ws, "calm").serialize(), len(records.events(ws, "calm")))
    assert after == before  # read-only: same state, restarts, port, config, no new event

    code, data, _ = diagnose_cli(ws, "calm")
    assert code == 0 and data["ok"] is True and data["subject"] == "service 'calm' (Local)"
    assert [s["status"] for s in data["steps"]] == ["passed"] * 5


def test_a_crash_looping_service_shows_the_traceback_in_the_users_file(
    ws: Workspace, model: Model, tmp_path: Path, services: list[str]
) -> None:
    broken = SCORE.replace('    print("forecast ready")\n', '    raise RuntimeError("no forecast model")\n')  # fmt: skip
    folder = write_script(tmp_path / "src", broken)
    service = deploy(ws, model, folder, "crashy", services)
    deadline = time.monotonic() + 60
    while service.state != "CrashLoopBackOff":
        assert time.monotonic() < deadline, service.state
        time.sleep(0.2)

    report = dockyard.diagnose(ws, "crashy")
    failed = report.failed
    assert failed is not None and failed.step == "state"
    assert report.step("port").status == "passed"  # its own supervisor holds it
    assert failed.finding.startswith("CrashLoopBackOff: importing score.py or its init() fails")
    assert failed.finding.endswith("RuntimeError: no forecast model")
    script = folder.resolve() / "score.py"
    assert f'File "{script}", line 5, in init' in failed.evidence  # the user's file, not a copy
    assert "`dockyard service reload crashy`" in failed.fix
    check = re.search(r"`(dockyard diagnose --entry-script [^`]+)`", failed.fix)
    assert check is not None and "--model summer:1" in check.group(1)

    write_script(folder, SCORE)  # the fix, checked with the command the finding gives
    command = [*shlex.split(check.group(1))[1:], "--workspace", str(ws.path), "-o", "json"]
    checked = subprocess.run(
        [sys.executable, "-m", "dockyard", *command], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["ok"] is True
    service.reload(wait=True)  # then rolled out as it says
    assert dockyard.diagnose(ws, "crashy").ok


def test_5xx_answers_are_named_by_request_id(
    ws: Workspace, model: Model, tmp_path: Path, services: list[str]
) -> None:
    folder = write_script(tmp_path / "src", SCORE)
    service = deploy(ws, model, folder, "errs", services)
    service.wait_for_deployment()
    with pytest.raises(WebserviceError) as caught:
        service.run('"boom"')
    request_id = caught.value.request_id
    assert request_id
    access_lines(service, 1)

    report = dockyard.diagnose(ws, "errs")
    failed = report.failed
    assert failed is not None and failed.step == "errors"
    assert "1 of the last 1 request(s) got a 5xx answer; the last: 500" in failed.finding
    assert f"(request id {request_id})" in failed.finding
    assert "ValueError: the request asked for a failure" in failed.evidence
    assert f'File "{folder.resolve() / "score.py"}", line 10, in run' in failed.evidence
    assert f"`dockyard service logs errs --request-id {request_id}`" in failed.fix
    assert report.step("overload").status == "skipped"

    shown = subprocess.run(  # the command of the fix prints the request's traceback
        [sys.executable, "-m", "dockyard", "service", "logs", "errs", "--request-id", request_id,
         "--workspace", str(ws.path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "ValueError: the request asked for a failure" in shown.stdout


def test_503s_are_read_as_overload_with_the_advice_in_numbers(
    ws: Workspace, model: Model, tmp_path: Path, services: list[str]
) -> None:
    folder = write_script(tmp_path / "src", SCORE)
    service = deploy(ws, model, folder, "busy", services, max_request_wait_time=100)
    service.wait_for_deployment()
    uri = service.scoring_uri or ""

    def post(_: int) -> int:
        return httpx.post(uri, content='{"sleep": 0.5}', timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = sorted(pool.map(post, range(4)))
    assert answers.count(503) >= 2, answers
    access_lines(service, 4)

    report = dockyard.diagnose(ws, "busy")
    failed = report.failed
    assert failed is not None and failed.step == "overload"
    assert report.step("errors").status == "passed"  # 503s are not run() failures
    busy = answers.count(503)
    assert failed.finding.startswith(f"{busy} of the last 4 request(s) got 503")
    assert failed.evidence.count(" POST 503 rid=") == busy
    assert "replica_max_concurrent_requests=1 run() call(s) at once" in failed.fix
    assert "max_request_wait_time=100 ms" in failed.fix
    took = re.search(r"the busiest second had 4 request\(s\); run\(\) took (0\.5\d*) s", failed.fix)
    assert took is not None, failed.fix
    # 4 requests x 0.5 s in one second: about 2 run() calls at once (Little's law)
    need = math.ceil(round(4 * float(took.group(1)), 1))
    assert need in (2, 3) and f"raise replica_max_concurrent_requests to {need} " in failed.fix
    assert "`dockyard service capacity busy`" in failed.fix


def test_a_stopped_service_whose_port_is_taken_names_the_holder(
    ws: Workspace, model: Model, tmp_path: Path, services: list[str]
) -> None:
    service = deploy(ws, model, write_script(tmp_path / "src", SCORE), "parked", services)
    service.wait_for_deployment()
    port = service.port
    assert port
    service.stop()
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", port))
    squatter.listen()
    try:
        report = dockyard.diagnose(ws, "parked")
        failed = report.failed
        assert failed is not None and failed.step == "port"
        assert failed.finding == (
            f"port {port} of the Stopped service is taken: port {port} is held by another program"
        )
        assert f"stop what holds port {port}, then `dockyard service start parked`" in failed.fix
    finally:
        squatter.close()  # the fix: what held it stops, and the service starts again
    stopped = dockyard.diagnose(ws, "parked")
    assert stopped.step("port").status == "passed"
    assert stopped.failed is not None and stopped.failed.step == "state"
    assert "`dockyard service start parked`" in stopped.failed.fix
    service.start()
    service.wait_for_deployment()
    assert dockyard.diagnose(ws, "parked").ok


def test_the_sdks_503_and_timeout_errors_say_what_to_do_next(
    ws: Workspace, model: Model, tmp_path: Path, services: list[str]
) -> None:
    """service.run() on a busy service: a 503 that is overload, not a broken service, points to
    the diagnosis that gives numbers; a scoring timeout names scoring_timeout_ms and the
    request's log call (the CLI says the same with its commands)."""
    from dockyard.cli.advice import render_error

    folder = write_script(tmp_path / "src", SCORE)
    service = deploy(ws, model, folder, "queue", services, max_request_wait_time=100, scoring_timeout_ms=1500)  # fmt: skip
    service.wait_for_deployment()

    def call(_: int) -> WebserviceError | None:
        try:
            Webservice(ws, "queue").run({"sleep": 0.6})
        except WebserviceError as exc:
            return exc
        return None

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        errors = [e for e in pool.map(call, range(3)) if e is not None]
    busy = [e for e in errors if e.status_code == 503]
    assert busy, errors
    assert "the service is busy, not broken" in (busy[0].hint or "")
    assert "dockyard.diagnose(ws, 'queue')" in (busy[0].hint or "")
    assert "`dockyard diagnose queue`" in render_error(busy[0])
    assert not dockyard.diagnose(ws, "queue").ok  # and the diagnosis it points to finds them

    with pytest.raises(WebserviceError) as slow:
        service.run({"sleep": 3})
    assert slow.value.status_code == 500
    hint = slow.value.hint or ""
    assert "run() took longer than the service's scoring_timeout_ms" in hint
    assert f"service.get_logs(request_id={slow.value.request_id!r})" in hint
