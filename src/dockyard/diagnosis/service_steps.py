"""Diagnosing a deployed service, on any target, without changing it.

``port`` (a service that is not running: is its port taken, and by whom) -> ``state`` (Healthy,
and the restarts; for CrashLoopBackOff the last traceback) -> ``readiness`` (``GET
/health/ready``) -> ``errors`` (recent 5xx answers, with their request ids and the traceback of
the last) -> ``overload`` (503s: how many, and the seed's advice in numbers from the service's own
configuration). It reads the service's state, log and configuration and sends one readiness
request; it never reloads, restarts or updates anything.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from typing import TYPE_CHECKING, Any

from dockyard.diagnosis.access_log import load_of, overload_advice, requests_of
from dockyard.diagnosis.probe_steps import clean, error_line, shorten
from dockyard.diagnosis.report import FAILED, PASSED, SKIPPED, DiagnosisReport, Step, run_steps
from dockyard.ops import records
from dockyard.ops.services import port_holder
from dockyard.ops.user_paths import user_paths
from dockyard.server import contract
from dockyard.targets.base import CRASH_LOOP, HEALTHY, STOPPED
from dockyard.targets.base import FAILED as SERVICE_FAILED
from dockyard.webservice.base import Webservice
from dockyard.webservice.config import config_from_record
from dockyard.webservice.service_logs import request_lines

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

#: How much of the service's log the errors and overload steps read.
LOG_LINES = 20_000
READINESS_TIMEOUT_S = 10.0
_SHOWN_REQUESTS = 10


class _Service:
    """What the steps read of one service, each read once."""

    def __init__(self, ws: Workspace, name: str) -> None:
        self.ws, self.name = ws, name
        self.service = Webservice(ws, name)
        self.data = self.service.serialize()
        self.config: dict[str, Any] = dict(self.data.get("deploymentConfig") or {})
        self._log: str | None = None

    @property
    def log(self) -> str:
        if self._log is None:
            self._log = self.service.get_logs(num_lines=LOG_LINES)
        return self._log

    def roll_out(self) -> str:
        """The command that rolls a fixed score.py out to this service."""
        if config_from_record(self.config).reloadable:
            return f"`dockyard service reload {self.name}`"
        return f"`dockyard service update {self.name} --ic inferenceconfig.json`"

    @property
    def inference(self) -> dict[str, Any]:
        """The recorded inference config (``inferenceconfig.json``'s keys)."""
        return dict(records.require(self.ws, self.name).spec.get("inference") or {})

    def user_paths(self, text: str) -> str:
        """``text`` with the deployed copies of the user's files named by their originals."""
        return user_paths(self.inference, text)

    def check_script(self) -> str:
        """The ``dockyard diagnose`` command that checks the recorded script before a roll-out."""
        inference = self.inference
        words = ["dockyard diagnose"]
        if inference.get("entryScript"):
            words.append(f"--entry-script {inference['entryScript']}")
        if inference.get("sourceDirectory"):
            words.append(f"--source-directory {inference['sourceDirectory']}")
        words += [f"--model {m}" for m in self.service.models]
        if inference.get("condaFile"):
            words.append(f"--conda-file {inference['condaFile']}")
        return f"`{' '.join(words)}`"


def diagnose_service(ws: Workspace, name: str) -> DiagnosisReport:
    """The service steps of ``name`` (see the module docstring)."""
    s = _Service(ws, name)
    steps = run_steps(
        [
            ("port", lambda: _port(s)),
            ("state", lambda: _state(s)),
            ("readiness", lambda: _readiness(s)),
            ("errors", lambda: _errors(s)),
            ("overload", lambda: _overload(s)),
        ]
    )
    return DiagnosisReport(f"service {name!r} ({s.data.get('computeType')})", steps)


# --- port -----------------------------------------------------------------------------------------
def port_taken(port: int) -> bool:
    """Is something listening on 127.0.0.1:``port``?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _port(s: _Service) -> Step:
    state, port = s.data["state"], s.data.get("port")
    if not port:
        return Step("port", SKIPPED, f"no port of its own ({state}): nothing to check")
    if state == HEALTHY:
        return Step("port", PASSED, f"port {port}: the service answers there")
    if getattr(config_from_record(s.config), "runs_on_cluster", False):
        listening = "listens" if port_taken(port) else "does not listen (is the cluster up?)"
        return Step(
            "port", PASSED, f"port {port} is the cluster's Serve proxy, shared by every service "
            f"on it, and it {listening}: the state step says more",
        )  # fmt: skip
    if not port_taken(port):
        return Step("port", PASSED, f"port {port} is free for the service ({state})")
    owner = port_holder(s.ws, port, exclude=s.name)
    if f"dockyard service {s.name!r}" in owner or state not in (SERVICE_FAILED, STOPPED):
        return Step("port", PASSED, f"port {port} is held by the service itself ({state})")
    return Step(
        "port",
        FAILED,
        f"port {port} of the {state} service is taken: {owner}",
        fix=f"stop what holds port {port}, then `dockyard service start {s.name}` "
        "(service.start()); or deploy it again with another port (--port)",
    )


# --- state ----------------------------------------------------------------------------------------
def _state(s: _Service) -> Step:
    state, restarts = s.data["state"], int(s.data.get("restartCount") or 0)
    error = clean(s.user_paths((s.data.get("error") or "").rstrip()))
    if state == HEALTHY:
        return Step("state", PASSED, f"Healthy ({restarts} restart(s))")
    logs = f"`dockyard service logs {s.name}`"
    if state == CRASH_LOOP:
        return Step(
            "state",
            FAILED,
            f"CrashLoopBackOff: importing score.py or its init() fails at every start "
            f"({restarts} restart(s)): {shorten(error_line(error)) or 'no traceback recorded'}",
            evidence=error,
            fix=f"fix what the traceback shows, check the fix with {s.check_script()}, then "
            f"roll it out: {s.roll_out()} (everything the server printed: {logs})",
        )
    if state == STOPPED:
        return Step(
            "state",
            FAILED,
            "Stopped: nothing serves it",
            fix=f"`dockyard service start {s.name}` (service.start())",
        )
    if state == SERVICE_FAILED:
        again = f"deploy it again (`dockyard model deploy --name {s.name} ... --overwrite`)"
        advice = re.search(r"^\s*What to do: (.+)$", error, re.MULTILINE)
        if advice:  # an error of dockyard's own (an engine, a port, ...) says what to do
            fix = f"{advice.group(1).rstrip('.')}; then {again}"
        else:
            fix = (
                f"fix what the error names (check it with {s.check_script()}), then {again}; "
                f"what failed: {logs}"
            )
        return Step(
            "state",
            FAILED,
            f"Failed: {shorten(error.splitlines()[0]) if error else 'no error recorded'}",
            evidence=error,
            fix=fix,
        )
    return Step(
        "state",
        FAILED,
        f"{state}: {shorten(error_line(error)) or 'not ready yet (import and init() may still run)'}",
        evidence=error,
        fix=f"follow its log: `dockyard service logs {s.name} --follow`; a start that hangs is "
        "init() waiting for something",
    )


# --- readiness ------------------------------------------------------------------------------------
def _readiness(s: _Service) -> Step:
    import httpx  # the SDK's HTTP client, only for this request

    scoring = s.data.get("scoringUri") or ""
    if not scoring:
        return Step("readiness", SKIPPED, "no scoring URI recorded: nothing to ask")
    uri = scoring[: -len(contract.SCORE_PATH)] + contract.READINESS_PATH
    headers = {}
    authorization = s.service.authorization_header()
    if authorization:
        headers["Authorization"] = authorization
    started = time.perf_counter()
    try:
        answer = httpx.get(uri, headers=headers, timeout=READINESS_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return Step(
            "readiness",
            FAILED,
            f"GET {uri} failed: {type(exc).__name__}: {exc}",
            fix=f"the server is not reachable although the state is Healthy: "
            f"`dockyard service logs {s.name}` and `dockyard service show {s.name}`",
        )
    took = (time.perf_counter() - started) * 1000
    if answer.status_code == 200:
        return Step("readiness", PASSED, f"GET {uri}: 200 in {took:.0f} ms")
    return Step(
        "readiness",
        FAILED,
        f"GET {uri}: {answer.status_code} {answer.text[:300]}",
        fix=f"`dockyard service logs {s.name}` shows why the server is not ready",
    )


# --- errors ---------------------------------------------------------------------------------------
def _errors(s: _Service) -> Step:
    requests = requests_of(s.log)
    failed = [r for r in requests if r.status >= 500 and r.status != 503]
    if not failed:
        return Step("errors", PASSED, f"no 5xx answer (503s aside) {_among(requests)}")
    last = failed[-1]
    shown = [f"{r.at:%Y-%m-%d %H:%M:%S} {r.method} {r.status} rid={r.rid}" for r in failed]
    lines = s.user_paths(request_lines(s.log, last.rid).rstrip())
    evidence = "\n".join([*shown[-_SHOWN_REQUESTS:], "", f"request {last.rid}:", lines])
    return Step(
        "errors",
        FAILED,
        f"{len(failed)} of the last {len(requests)} request(s) got a 5xx answer; the last: "
        f"{last.status} at {last.at:%Y-%m-%d %H:%M:%S} (request id {last.rid})",
        evidence=evidence.strip(),
        fix=f"`dockyard service logs {s.name} --request-id {last.rid}` prints that request's "
        f"lines and traceback; fix run() where it points, then {s.roll_out()}",
    )


# --- overload -------------------------------------------------------------------------------------
def _overload(s: _Service) -> Step:
    requests = requests_of(s.log)
    busy = [r for r in requests if r.status == 503]
    if not busy:
        return Step("overload", PASSED, f"no 503 {_among(requests)}")
    replicas = None
    with contextlib.suppress(TypeError, ValueError):
        replicas = int(s.data["replicas"]) if s.data.get("replicas") is not None else None
    advice = overload_advice(load_of(requests), s.config, replicas)
    shown = [f"{r.at:%Y-%m-%d %H:%M:%S} {r.method} 503 rid={r.rid}" for r in busy]
    return Step(
        "overload",
        FAILED,
        f"{len(busy)} of the last {len(requests)} request(s) got 503: every run() slot stayed "
        "taken past the wait for one (overload)",
        evidence="\n".join(shown[-_SHOWN_REQUESTS:]),
        fix=f"{advice}; `dockyard service capacity {s.name}` measures what one replica serves "
        "and recommends the settings",
    )


def _among(requests: list[Any]) -> str:
    if not requests:
        return "(no request in the log yet)"
    return f"among the last {len(requests)} request(s) in the log"


__all__ = ["LOG_LINES", "diagnose_service", "port_taken"]
