"""Calling a service's scoring endpoint: ``Webservice.run`` and the errors a bad answer becomes.

A non-200 answer becomes a ``WebserviceException`` with the status, the server's message, the
request id on its own line (``error.request_id``) and the call that prints that request's log
lines; a service that cannot answer (CrashLoopBackOff, Failed, Stopped) fails at once.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from dockyard.errors import ValidationError, WebserviceError
from dockyard.targets.base import CRASH_LOOP, FAILED, HEALTHY, STOPPED, TargetStatus
from dockyard.webservice.service_logs import tail_lines

if TYPE_CHECKING:
    from dockyard.webservice.base import Webservice

#: run(): how long to wait for a connection (the answer itself waits up to the scoring timeout).
CONNECT_TIMEOUT_SECONDS = 10.0
#: Lines of a service's error shown by run() when the service cannot answer.
ERROR_TAIL_LINES = 25


def call(service: Webservice, input_data: Any) -> Any:
    """Call the scoring endpoint like Azure's ``service.run``.

    ``input_data`` may be a str, bytes, or any JSON-serialisable object; it is sent with
    ``Content-Type: application/json`` (and the primary key when auth is on). Returns the
    parsed JSON of a 200 answer; raises ``WebserviceException`` with the status, the
    server's message and the request id (``error.request_id``) otherwise. A service that
    cannot answer (CrashLoopBackOff, Failed, Stopped) fails at once with its state and error.
    """
    import httpx

    status = service._refresh()
    raise_if_down(service, status)
    base = service._base_uri(status.port or service._record.runtime.get("port"))
    if not base:
        raise WebserviceError(
            f"Service {service.name!r} has no scoring URI yet (state {status.state})",
            hint="wait until it is Healthy: service.wait_for_deployment()",
            state=status.state,
        )
    uri = f"{base}/score"
    if isinstance(input_data, bytes | str):
        body = input_data.encode() if isinstance(input_data, str) else input_data
    else:
        try:
            body = json.dumps(input_data).encode()
        except TypeError as exc:
            raise ValidationError(
                f"input_data is not JSON-serialisable: {exc}",
                hint="pass a str, bytes, or plain lists/dicts/numbers",
            ) from None
    request_id = str(uuid.uuid4())
    headers = {"Content-Type": "application/json", "x-request-id": request_id}
    authorization = service.authorization_header()
    if authorization:
        headers["Authorization"] = authorization
    timeout = service._record.spec.get("config", {}).get("scoring_timeout_ms", 60_000) / 1000 + 5
    try:
        response = httpx.post(
            uri,
            content=body,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_SECONDS),
        )
    except httpx.HTTPError as exc:
        now = service._refresh()
        raise_if_down(service, now)
        if isinstance(exc, httpx.ConnectTimeout):
            waited = f"no connection within {CONNECT_TIMEOUT_SECONDS:g} s"
        elif isinstance(exc, httpx.TimeoutException):
            waited = f"no answer within {timeout:g} s (the scoring timeout plus 5 s)"
        else:
            waited = f"{type(exc).__name__}: {exc}"
        raise WebserviceError(
            f"Could not reach service {service.name!r} at {uri} ({waited}); its state is "
            f"{now.state}.\nRequest id: {request_id}",
            hint=f"its log lines for this request: service.get_logs(request_id={request_id!r}); "
            + service._next_step(now),
            request_id=request_id,
            state=now.state,
        ) from None
    if response.status_code != 200:
        raise bad_response(service, response, request_id)
    try:
        return response.json()
    except ValueError:
        return response.text


def bad_response(service: Webservice, response: Any, sent_id: str) -> WebserviceError:
    """The error of a non-200 answer: status, the server's message, the request id and the
    call that prints that request's log lines and traceback."""
    request_id = response.headers.get("x-request-id") or sent_id
    message, extra = server_message(response.content)
    if response.status_code == 503:
        now = service._refresh()
        raise_if_down(service, now)
        retry = response.headers.get("retry-after")
        return WebserviceError(
            f"Service {service.name!r} answered 503 (not ready or busy; state {now.state}): "
            f"{message}\nRequest id: {request_id}",
            status_code=503,
            content=response.content,
            request_id=request_id,
            state=now.state,
            headers=dict(response.headers),
            hint=_busy_hint(service.name, retry, message, now.state),
        )
    failed_run = response.headers.get("x-ms-run-function-failed", "").lower() == "true"
    what = " (run() raised an exception)" if failed_run else ""
    text = (
        f"Received bad response from service {service.name!r}: {response.status_code}{what}\n"
        f"Request id: {request_id}\nServer message: {message}"
    )
    if extra:
        text += f"\n{extra}"
    hint = f"this request's log lines and traceback: service.get_logs(request_id={request_id!r})"
    if message.startswith("Scoring timeout after"):
        hint = (
            "run() took longer than the service's scoring_timeout_ms: make it faster, or deploy "
            "with a larger scoring_timeout_ms (service.update(deployment_config=...)); " + hint
        )
    return WebserviceError(
        text,
        status_code=response.status_code,
        content=response.content,
        request_id=request_id,
        headers=dict(response.headers),
        hint=hint,
    )


def _busy_hint(name: str, retry: str | None, message: str, state: str) -> str:
    """What to do after a 503: wait, or, when a Healthy service was busy, add capacity."""
    wait = f"retry after {retry} s" if retry else "retry in a moment"
    if state == HEALTHY and "run() slots stayed taken" in message:
        return (
            f"{wait}; the service is busy, not broken: every run() slot stayed taken for "
            f"max_request_wait_time. dockyard.diagnose(ws, {name!r}) counts the 503s and gives "
            "the replicas, concurrency and wait time that would absorb them"
        )
    return f"{wait}; if it stays so: service.wait_for_deployment() says why"


def server_message(content: bytes) -> tuple[str, str]:
    """``(message, extra)`` of an error body: azmlinfsrv's ``{"message": ...}`` (plus ``error``
    and ``traceback`` with debug responses on), or the body's text."""
    text = content.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        extra = "\n".join(str(data[k]).rstrip() for k in ("error", "traceback") if data.get(k))
        return data["message"], extra
    text = text.strip() or "(empty body)"
    return (text[:2000] + " ...") if len(text) > 2000 else text, ""


def raise_if_down(service: Webservice, status: TargetStatus) -> None:
    """A service that cannot answer (CrashLoopBackOff, Failed, Stopped) fails run() at once."""
    if status.state not in (CRASH_LOOP, FAILED, STOPPED):
        return
    what = {
        CRASH_LOOP: "its score.py fails to import or its init() raises, and it is restarted "
        f"with back-off (restarts: {status.restart_count})",
        FAILED: "it failed and is not running",
        STOPPED: "it was stopped",
    }[status.state]
    error = tail_lines(status.error or "", ERROR_TAIL_LINES)
    if status.state == STOPPED and service._record.state != FAILED:
        error = ""
    raise WebserviceError(
        f"Service {service.name!r} cannot answer run(): it is {status.state}: {what}."
        + (f"\n{error}" if error else ""),
        hint=service._next_step(status),
        state=status.state,
        logs=status.error,
    )
